"""The schedule version: a number that changes whenever anything affecting availability changes.

Server processes cache computed weeks (booking.appointments.week_cache) and read this number
once per request (one primary-key read) to know whether their cache is still current; so a
booking, a cancellation or a new closed day made through any instance shows everywhere on
the very next request.

How it changes: SQLAlchemy session events note, at every flush, whether the session touched
a booking, opening hours, an exception, a clinician profile, the clinic settings or a staff
account's name, email or activation (also through bulk ORM UPDATE/DELETE statements). Just before
such a transaction commits, one statement adds 1 to the version in it (an upsert, which also
creates a missing row). Doing it last keeps the row lock (PostgreSQL) to the moment of commit,
and a transaction holding it waits for nothing else, so it cannot take part in a deadlock; on
PostgreSQL the statement is held and sent with the COMMIT itself (booking.held_writes), so the
lock lasts one round trip. Changes made
outside the ORM (raw SQL, another program) are not seen: the cache's short lifetime heals them.

A second row, the plan version (id 2), changes with everything but bookings: the hours, blocks,
exceptions, profiles, settings and bookable clinicians that a booking is checked against. A
booking POST reads it with the patient's questionnaire and takes those from a per-process cache,
reading only the clinician's bookings for the day (a stream of bookings bumps the schedule
version with every one, so a cache keyed by it would never hold).
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from booking.extensions import DriverWrite
from booking.models import (Booking, ClinicianProfile, ClinicSettings, OpeningHours, RecurringBlock, ScheduleException,
                            ScheduleVersion, StaffUser)

VERSION_ID = 1
PLAN_VERSION_ID = 2
CHANGED = "schedule_changed"  # keys in Session.info
PLAN_CHANGED = "plan_changed"
# Rows of these classes decide availability whatever column changes.
WATCHED = (Booking, OpeningHours, ScheduleException, RecurringBlock, ClinicianProfile, ClinicSettings)
WATCHED_TABLES = frozenset(cls.__table__.name for cls in WATCHED + (StaffUser,))
# A staff account matters only through these (a login time or password change does not): the
# plan's clinicians carry their name, and the address a new booking's note goes to.
STAFF_FIELDS = ("active", "name", "email")


_READ = sa.select(ScheduleVersion.version).where(ScheduleVersion.id == VERSION_ID)  # built once: read per request
# The same number as a column, for a query that reads it with something else in one round trip.
VERSION_COLUMN = _READ.scalar_subquery()


_READ_PLAN = sa.select(ScheduleVersion.version).where(ScheduleVersion.id == PLAN_VERSION_ID)
PLAN_VERSION_COLUMN = _READ_PLAN.scalar_subquery()


def read_version(session):
    """The current schedule version (one query); 0 if the row is missing."""
    return session.scalar(_READ) or 0


def read_plan_version(session):
    """The current plan version (one query); 0 if the row is missing."""
    return session.scalar(_READ_PLAN) or 0


# The table's statement, built once: the ORM's bulk update searched the session for versions to
# change in memory too, on every commit that changes availability (each booking's, for one). An
# upsert, so that it needs no answer (a missing row, in a database built without it, is created
# by the same statement): on PostgreSQL it is held and sent with the COMMIT (DriverWrite.hold).
_version = ScheduleVersion.__table__


def _bump(insert):
    """The bump for one database's INSERT construct: a new row at 1, or the row's version plus one."""
    return insert(_version).values(id=sa.bindparam("version_id"), version=1).on_conflict_do_update(
        index_elements=[_version.c.id], set_={"version": _version.c.version + 1})


_BUMPS = {"postgresql": DriverWrite(_bump(postgresql.insert)), "sqlite": DriverWrite(_bump(sqlite.insert))}


def bump_version(session, version_id=VERSION_ID):
    """Add one to the schedule version (or the plan version) in the session's transaction (the caller commits)."""
    # On the session's connection's driver cursor (DriverWrite): the ORM's execute (its events, an
    # autoflush) has nothing to do here.
    connection = session.connection()
    _BUMPS[connection.dialect.name].hold(connection, {"version_id": version_id})


def raise_version(connection, at_least):
    """Set both versions to `at_least` unless higher already, creating a missing row (after a
    restore: see booking.backups)."""
    connection.execute(sa.update(ScheduleVersion).where(ScheduleVersion.version < at_least).values(version=at_least))
    present = set(connection.scalars(sa.select(ScheduleVersion.id)))
    for version_id in {VERSION_ID, PLAN_VERSION_ID} - present:
        connection.execute(sa.insert(ScheduleVersion).values(id=version_id, version=at_least))


def affects_availability(session, instance, deleted=False):
    """True if adding, changing or deleting `instance` can change which times are free."""
    if isinstance(instance, WATCHED):
        return deleted or instance not in session.dirty or session.is_modified(instance)
    if isinstance(instance, StaffUser):
        if deleted or instance in session.new:
            return True
        state = sa.inspect(instance)
        return any(state.attrs[name].history.has_changes() for name in STAFF_FIELDS)
    return False


def _note(session, obj):
    """Note that `obj` changes availability, and the plan too unless it is a booking."""
    session.info[CHANGED] = True
    if not isinstance(obj, Booking):
        session.info[PLAN_CHANGED] = True


def note_booking_change(session):
    """Note that the session's transaction changed a booking without the unit of work (a plain INSERT)."""
    session.info[CHANGED] = True


def _note_flush(session, _flush_context, _instances):
    """before_flush: remember whether this transaction changes availability, and the plan."""
    if session.info.get(PLAN_CHANGED):  # both noted already
        return
    for objects, deleted in ((session.new, False), (session.dirty, False), (session.deleted, True)):
        for obj in objects:
            if (not isinstance(obj, Booking) or not session.info.get(CHANGED)) \
                    and affects_availability(session, obj, deleted=deleted):
                _note(session, obj)


def _note_bulk(state):
    """do_orm_execute: a bulk UPDATE or DELETE of a watched table changes availability too."""
    if (state.is_update or state.is_delete) and getattr(state.statement, "table", None) is not None:
        name = state.statement.table.name
        if name in WATCHED_TABLES:
            state.session.info[CHANGED] = True
            if name != Booking.__tablename__:
                state.session.info[PLAN_CHANGED] = True


def _bump_before_commit(session):
    """before_commit: flush what is pending, then bump the versions whose inputs changed."""
    if session.in_nested_transaction():
        return
    session.flush()
    if session.info.pop(CHANGED, False):
        bump_version(session)
    if session.info.pop(PLAN_CHANGED, False):
        bump_version(session, PLAN_VERSION_ID)


def _forget(session, transaction):
    """after_transaction_end: once the outermost transaction ends, the next starts with nothing noted.

    Only the outermost: a savepoint's release or rollback (begin_nested, as the outbox's reminder
    dedupe uses) also ends a transaction and fires after_commit/after_rollback, and forgetting
    then would cancel the bump of everything the enclosing transaction had already changed.
    """
    if transaction.parent is None:
        session.info.pop(CHANGED, None)
        session.info.pop(PLAN_CHANGED, None)


HANDLERS = (("before_flush", _note_flush), ("do_orm_execute", _note_bulk),
            ("before_commit", _bump_before_commit), ("after_transaction_end", _forget))


def init_app(session_factory):
    """Register the session events on the app's own sessions (Flask-SQLAlchemy's `db.session`).

    Listening on a scoped session reaches only the sessions its factory makes, never every
    Session in the process (another library's, or a script's).
    """
    for name, handler in HANDLERS:
        if not sa.event.contains(session_factory, name, handler):
            sa.event.listen(session_factory, name, handler)
