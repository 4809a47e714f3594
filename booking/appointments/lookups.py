"""Reading bookings without changing them: by manage link token, a questionnaire's active booking,
a patient's upcoming one, and what the week page needs to know of the patient. Free of Flask."""

from typing import NamedTuple

import sqlalchemy as sa

from booking.appointments.schedule_version import VERSION_COLUMN
from booking.extensions import DriverRead, execute_on_connection
from booking.models import Booking, Intake
from booking.models.appointments import UPCOMING
from booking.models.intake import booking_allowed
from booking.tokens import plausible_token, token_hash


def find_by_token(session, token, lock=False):
    """The booking whose manage token is `token`, or None (implausible tokens are not looked up)."""
    if not plausible_token(token):
        return None
    query = sa.select(Booking).where(Booking.manage_token_hash == token_hash(token))
    if lock:
        query = query.with_for_update(of=Booking)
    return session.scalar(query)


def intake_versions(session, intake_id):
    """The ids of every version of one questionnaire: `intake_id`, what it corrects and its corrections."""
    ids, frontier = {intake_id}, {intake_id}
    while frontier:  # a handful of versions at most: one short query per generation
        linked = session.execute(sa.select(Intake.id, Intake.previous_id).where(
            sa.or_(Intake.id.in_(frontier), Intake.previous_id.in_(frontier)))).all()
        found = {value for row in linked for value in row if value is not None}
        frontier = found - ids
        ids |= found
    return ids


def active_booking_for_intake(session, intake_id):
    """The active booking of the intake, or of another version of the same questionnaire, or None."""
    return session.scalar(sa.select(Booking).where(Booking.intake_id.in_(intake_versions(session, intake_id)),
                                                   Booking.active).limit(1))


def blocking_booking(patient_id):
    """The id of the booking that stops patient `patient_id` (a bound parameter or a column of an
    enclosing query) booking again with questionnaire :intake_id, as a column expression (NULL
    when there is none): an active booking of any version of the questionnaire (first), else
    the patient's upcoming one."""
    upcoming = sa.and_(Booking.patient_id == patient_id, UPCOMING)
    # Every version of the questionnaire (what it corrects, its corrections, theirs...) as a
    # recursive CTE of (id, previous_id): intake_versions' walk in the same statement. UNION,
    # not UNION ALL, is what ends the walk: each intake's row is found again from its neighbours.
    versions = (sa.select(Intake.id, Intake.previous_id).where(Intake.id == sa.bindparam("intake_id"))
                .cte("versions", recursive=True))
    versions = versions.union(sa.select(Intake.id, Intake.previous_id).join(
        versions, sa.or_(Intake.previous_id == versions.c.id, Intake.id == versions.c.previous_id)))
    of_questionnaire = sa.and_(Booking.intake_id.in_(sa.select(versions.c.id)), Booking.active)

    # Two lookups, the questionnaire's first: as one WHERE joined by OR, neither engine could
    # answer from the indexes, and PostgreSQL read every booking (29 ms at 96,000).
    def first_of(condition):
        """The id of a booking meeting `condition`, as a scalar subquery (NULL when there is none)."""
        return sa.select(Booking.id).where(condition).limit(1).scalar_subquery()

    return sa.func.coalesce(first_of(of_questionnaire), first_of(upcoming))


# The two statements of blocking_booking_id, built once with bound ids (building and caching
# the CTE's statement for every booking cost more than SQLite takes to run it).
_UPCOMING_ID = sa.select(Booking.id).where(Booking.patient_id == sa.bindparam("patient_id"), UPCOMING).limit(1)
_BLOCKING_ID = sa.select(blocking_booking(sa.bindparam("patient_id")))


def blocking_booking_id(session, intake_id, patient_id):
    """The id of the booking that stops this patient booking again, or None, in one statement:
    an active booking of any version of questionnaire `intake_id` (first), else the patient's
    upcoming one. (As three statements, with the bookings loaded as entities with their
    clinicians only to find none, this was a seventh of a booking POST.)"""
    if intake_id is None:
        return execute_on_connection(session, _UPCOMING_ID, {"patient_id": patient_id}).scalar()
    return execute_on_connection(session, _BLOCKING_ID, {"patient_id": patient_id, "intake_id": intake_id}).scalar()


def upcoming_for_patient(session, patient_id):
    """The patient's upcoming consultation (the one the database allows), or None."""
    return session.scalar(sa.select(Booking).where(Booking.patient_id == patient_id, UPCOMING))


class PatientState(NamedTuple):
    """What the week view needs to know of the patient's intake, read with the schedule version."""

    status: str
    decision: str | None
    flag_level: str | None
    cleared_at: object  # as the database driver returns it (only whether it is set matters)
    booking_id: int | None  # the intake's active booking
    schedule_version: int | None

    def booking_allowed(self, clearance_blocks_booking=True):
        """Intake.booking_allowed, on the columns read."""
        return booking_allowed(self.status, self.decision, self.flag_level, self.cleared_at, clearance_blocks_booking)


# The week view runs this on every request, so it is built once and run as plain columns (no
# entities, no ORM statement compilation, no result processing: DriverRead), with the schedule
# version read in the same query: a week already computed costs this one round trip. (Loading
# whole entities, an intake with its encrypted answers, was once the page's largest cost.)
_intake, _booking = Intake.__table__, Booking.__table__
_PATIENT_STATE = (sa.select(_intake.c.status, _intake.c.decision, _intake.c.flag_level, _intake.c.cleared_at,
                            _booking.c.id, VERSION_COLUMN)
                  .select_from(_intake.outerjoin(_booking, sa.and_(_booking.c.intake_id == _intake.c.id, Booking.active)))
                  .where(_intake.c.id == sa.bindparam("intake_id")))
_PATIENT_STATE_READ = DriverRead(_PATIENT_STATE, read_pool=True)


def patient_state(engine, intake_id):
    """The PatientState of intake `intake_id`, or None if there is no such intake (one query; on
    PostgreSQL, on a connection of the read pool, in autocommit). `cleared_at` is the driver's
    value: only whether it is set is read."""
    row = _PATIENT_STATE_READ.first(engine, intake_id=intake_id)
    return None if row is None else PatientState(*row)
