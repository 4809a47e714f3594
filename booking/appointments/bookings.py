"""Booking rules: create, move and cancel bookings. Free of Flask.

Which status a booking may be given on the day, and undoing one, live in
booking.appointments.statuses; reading bookings (by token, a patient's upcoming one) in
booking.appointments.lookups.

Each function writes in the session it is given at once (a new booking as plain INSERTs,
changes by flushing), so the database constraints (no overlapping active bookings per
clinician, one active booking per intake, one upcoming per patient) are checked right there;
it sends the matching signal before returning, and the caller commits. On a refusal by the
database the function rolls the session back itself and raises SlotTaken (with the nearest
free times) or AlreadyBooked, so nothing half-done can be committed.
"""

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError

from booking.appointments.availability import (Slot, candidate_slots, clinic_day, fill_busy, free_slots, load_plans,
                                               nearest_free, overlaps_busy)
from booking.appointments.lookups import blocking_booking_id, find_by_token, intake_versions
from booking.appointments.schedule_version import note_booking_change
from booking.extensions import DriverWrite
from booking.models import Booking, BookingEvent, Intake, StaffUser
from booking.signals import booking_cancelled, booking_created, booking_creating, booking_moved
from booking.timeutil import clock_text, local_text
from booking.tokens import new_token, token_hash

SENDER = "appointments"
STATUS_LABELS = {"booked": "Booked", "arrived": "Arrived", "completed": "Completed",
                 "no_show": "No-show", "cancelled": "Cancelled"}


class BookingError(Exception):
    """A booking change that cannot be made; `message` is safe to show to the person asking.

    `alternatives` lists nearby free times where they help (only SlotTaken has any).
    """

    alternatives = ()

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotBookable(BookingError):
    """The time is not one the clinician offers (past, notice, horizon, hours, holiday...)."""


class BeyondHorizon(NotBookable):
    """Staff asked for a time past the booking horizon without confirming they mean it."""

    def __init__(self, days):
        super().__init__(f"That time is beyond the booking horizon ({days} days ahead), where patients cannot "
                         "book and the schedule is usually not final. To book it anyway, tick "
                         "\"Yes, book beyond the horizon\" and send again.")


class OffGrid(NotBookable):
    """The time is not one of the clinician's start times (staff may book it with a reason)."""


class SlotTaken(BookingError):
    """Someone else holds that time; `alternatives` are the nearest free Slots.

    `message` says what holds it for staff (see taken_message); patients, who chose among
    the free times, are told it was just taken (as when the database refuses a booking made
    at the same moment).
    """

    def __init__(self, alternatives=(), message=None):
        super().__init__(message or "That time was just taken. Please choose another time.")
        self.alternatives = list(alternatives)


def taken_message(slot, busy, zone, ignore_booking_id=None):
    """What holds `slot`: "already booked by another patient" at the same start, else the overlapped one."""
    held = sorted(start for start, until, booking_id in busy
                  if booking_id != ignore_booking_id and start < slot.busy_until and slot.starts_at < until)
    if held and held[0] == slot.starts_at:
        return "That time is already booked by another patient. Please choose another time."
    return (f"That time overlaps the {clock_text(held[0], zone)} consultation. Please choose another time."
            if held else None)


class AlreadyBooked(BookingError):
    """The intake already has an active booking, or the patient an upcoming one (`booking`)."""

    def __init__(self, booking=None):
        super().__init__("You already have a booking. Use the link in your confirmation email to change it, "
                         "or call the clinic.")
        self.booking = booking


class NotAllowed(BookingError):
    """The booking's state or the cut-off forbids this change."""


class Busy(BookingError):
    """The database stayed locked; nothing changed and trying again will work."""

    def __init__(self):
        super().__init__("The booking system is busy right now. Nothing was changed; please try again.")


@dataclass(frozen=True)
class Context:
    """What every rule needs: the time now, the clinic's zone and its rules; and where a booking's
    check finds the clinician's plan for the day without bookings (`plans`, a week_cache.plan_source,
    or None to read it), and the rows (id, name, email, active) of the clinicians who take
    bookings as of that plan (`clinicians`, a week_cache.Snapshot's, or None), for a new booking's
    emails."""

    now: object
    zone: str
    rules: object
    plans: object = None
    clinicians: tuple | None = None


class ManageLinkExpired(BookingError):
    """The manage link has outlived its booking (see manage_link_expires_at)."""

    def __init__(self):
        super().__init__("This link has expired: a booking's private link stops working some time after the "
                         "consultation or the cancellation. To book again, or for anything about a past "
                         "appointment, call the clinic.")


def manage_link_expires_at(booking, days):
    """When `booking`'s manage link stops working: `days` after the consultation ends, or after it was cancelled."""
    if booking.status == "cancelled" and booking.cancelled_at is not None:
        return booking.cancelled_at + timedelta(days=days)
    return booking.ends_at + timedelta(days=days)


def find_by_manage_link(session, token, *, now, days, lock=False):
    """The booking a manage link opens, or None for a made-up one. Raises ManageLinkExpired once it has expired."""
    booking = find_by_token(session, token, lock=lock)
    if booking is not None and now >= manage_link_expires_at(booking, days):
        raise ManageLinkExpired()
    return booking


UNREAD = object()  # create_booking's `blocking_id` when the caller has not read it


def _existing(session, intake_id, patient_id, found=UNREAD):
    """The booking that stops this patient (or intake) booking again, or None; `found` is its id
    if the caller read it already (lookups.blocking_booking)."""
    if found is UNREAD:
        found = blocking_booking_id(session, intake_id, patient_id)
    return None if found is None else session.get(Booking, found)


def check_window(ctx, starts_at, *, staff=False, beyond_horizon=False, walk_in=False):
    """Raise NotBookable if `starts_at` is past, inside the minimum notice or beyond the horizon.

    Staff may book beyond the horizon only with `beyond_horizon` (they confirmed); otherwise BeyondHorizon.
    A staff `walk_in` may take a time that has already started (booking.appointments.walk_ins says which).
    """
    now, rules = ctx.now, ctx.rules
    if starts_at <= now and not (staff and walk_in):
        raise NotBookable("That time has already passed. Please choose a later time.")
    if not staff and starts_at < now + rules.min_notice:
        hours = int(rules.min_notice.total_seconds() // 3600)
        raise NotBookable(f"Online bookings need at least {hours} hours' notice. Choose a later time, "
                          "or call the clinic for anything sooner.")
    if starts_at > now + rules.horizon:
        if not staff:
            raise NotBookable(f"You can book up to {rules.horizon.days} days ahead. Please choose an earlier time.")
        if not beyond_horizon:
            raise BeyondHorizon(rules.horizon.days)


def check_clinician_time(session, ctx, clinician_id, starts_at, *, staff=False, ignore_booking_id=None,
                         off_grid=False, free=True):
    """The Slot of `clinician_id` at `starts_at` if offered and free; raises NotBookable or SlotTaken.

    With `off_grid` (staff gave a reason) a time that is not one of the clinician's start times
    is a slot of their usual length there, as long as it is free. With `free` False, whether
    another booking holds the time is not asked here: the caller leaves it to the database's
    overlap guard and handles its refusal.
    """
    day = clinic_day(starts_at, ctx.zone)
    if ctx.plans is None:
        plans = load_plans(session, day, day, ctx.zone, [clinician_id])
    else:
        plans = ctx.plans(session, day, ctx.zone, clinician_id)
        if free:
            plans = fill_busy(session, plans, day, day, ctx.zone)
    if not plans:
        raise NotBookable("That clinician does not take bookings. Please choose another clinician.")
    plan = plans[0]
    slot = next((s for s in candidate_slots(plan, ctx.zone, day, day) if s.starts_at == starts_at), None)
    if slot is None and staff and off_grid:
        slot = Slot(clinician_id, starts_at, starts_at + plan.length, starts_at + plan.length + plan.buffer)
    if slot is None:
        for kind, start, end, note in plan.exceptions:
            if kind == "closed" and start <= starts_at < end:
                raise NotBookable("The clinic is closed that day" + (f" ({note})" if note else "") + ".")
            if kind == "blocked" and start <= starts_at < end:
                raise NotBookable("That time is blocked in the clinician's schedule.")
        if not staff:  # patients only ever pick listed times: one outside them was tampered with
            raise NotBookable(f"That is not one of {plan.name}'s consultation times. Please choose a listed time.")
        nearest = _alternatives(session, ctx, starts_at, [clinician_id], staff, ignore_booking_id)
        refusal = OffGrid(f"{clock_text(starts_at, ctx.zone)} is not one of {plan.name}'s start times; " + (
            "the nearest are " + ", ".join(clock_text(s.starts_at, ctx.zone) for s in nearest) + "."
            if nearest else "there is no free time near it.") + " Or give a reason to book it anyway.")
        refusal.alternatives = nearest
        raise refusal
    if free and overlaps_busy(slot, plan.busy, ignore_booking_id):
        raise SlotTaken(_alternatives(session, ctx, starts_at, [clinician_id], staff, ignore_booking_id),
                        taken_message(slot, plan.busy, ctx.zone, ignore_booking_id) if staff else None)
    return slot


def check_time(session, ctx, clinician_id, starts_at, *, staff=False, ignore_booking_id=None, beyond_horizon=False,
               walk_in=False, off_grid=False, free=True):
    """Return the Slot at `starts_at` if `clinician_id` may be booked then, else raise.

    Raises NotBookable with the reason (past, notice, horizon, no bookings, closed, blocked,
    not a consultation time) or SlotTaken when another booking holds it (unless `free` is
    False: see check_clinician_time).
    """
    check_window(ctx, starts_at, staff=staff, beyond_horizon=beyond_horizon, walk_in=walk_in)
    return check_clinician_time(session, ctx, clinician_id, starts_at, staff=staff,
                                ignore_booking_id=ignore_booking_id, off_grid=off_grid, free=free)


def _alternatives(session, ctx, starts_at, clinician_ids, staff, ignore_booking_id=None):
    """The nearest free times around `starts_at` for the same choice of clinician."""
    return nearest_free(session, starts_at, ctx.zone, now=ctx.now, rules=ctx.rules, clinician_ids=clinician_ids,
                        ignore_booking_id=ignore_booking_id, apply_notice=not staff)


def lock_timed_out(error):
    """True when an OperationalError means the database stayed locked (SQLite), not that it is gone."""
    reason = str(error.orig).lower()
    return "locked" in reason or "busy" in reason


def write_or_refuse(session, write):
    """Call `write()`; a constraint refusal or a lock timeout rolls back and returns the reason."""
    try:
        write()
    except IntegrityError:
        session.rollback()
        return "integrity"
    except OperationalError as error:
        session.rollback()
        if lock_timed_out(error):
            raise Busy() from error
        raise
    return None


# Plain INSERTs, built once: the unit of work's bookkeeping for a new Booking and its history
# line was a sixth of a booking POST's instructions; run on the driver's cursor (DriverWrite).
_BOOKING_INSERT = DriverWrite(Booking.__table__.insert(), returning=Booking.__table__.c.id)
_EVENT_INSERT = DriverWrite(BookingEvent.__table__.insert())


def note_event(session, booking_id, *, at, kind, actor=None, detail=None):
    """Add a line to the booking's history, held (nothing reads its id): on PostgreSQL it goes to
    the server with the next statement or the COMMIT, on SQLite at once; a rollback drops it with
    the change it notes."""
    _EVENT_INSERT.hold(session.connection(), {"booking_id": booking_id, "at": at, "kind": kind,
                                              "actor_id": getattr(actor, "id", None), "detail": detail})


def flush_and_note(session, booking_id, **line):
    """Flush what is pending (the change the line is about), then note_event."""
    session.flush()
    note_event(session, booking_id, **line)


def _may_lose_a_race(connection):
    """True if another transaction may book between this one's reads and its INSERT while this
    one holds writes a refusal would undo: PostgreSQL. SQLite lets one transaction write at a
    time, so one that has written holds the lock until its end (nobody can take the time
    meanwhile) and one that has not has nothing to lose; a SAVEPOINT there would also open a
    transaction when none is open, which its RELEASE would commit before the emails are written."""
    return connection.dialect.name != "sqlite"


def insert_booking(session, values, *, actor_id, detail, keep_earlier_writes=False, draft=None):
    """Flush what is pending (the patient's contact, say), then INSERT the booking (every column
    in `values`) and its "created" history line. Returns the Booking, persistent in `session`
    with every column loaded (`draft`, the transient Booking of `values` if the caller built it
    already, given its id); None when the database refuses it; Busy when the database stays
    locked. A refusal rolls the whole transaction back, or with `keep_earlier_writes` only the
    two INSERTs (a SAVEPOINT, for a caller that goes on to try another clinician)."""
    inserted, refused = [], []

    def insert(connection):
        inserted.append(_BOOKING_INSERT.execute(connection, values))
        _EVENT_INSERT.hold(connection, {"booking_id": inserted[0], "at": values["created_at"], "kind": "created",
                                           "actor_id": actor_id, "detail": detail})

    def write():
        session.flush()
        connection = session.connection()
        if not (keep_earlier_writes and _may_lose_a_race(connection)):
            insert(connection)
            return
        try:
            with session.begin_nested():
                insert(session.connection())  # the SAVEPOINT is sent when the connection is asked for
        except IntegrityError:  # back to the savepoint: what the transaction wrote before stays
            refused.append(True)

    if write_or_refuse(session, write) is not None or refused:
        return None
    booking = Booking(**values) if draft is None else draft
    booking.id = inserted[0]
    sa.orm.make_transient_to_detached(booking)  # a row the database has: adding it writes nothing more
    session.add(booking)
    note_booking_change(session)  # the unit of work, which would have noted it, never saw it
    return booking


def _known_clinician(ctx, clinician_id):
    """The row of `clinician_id` among ctx.clinicians (the plan's), or None (not given, or not there)."""
    return next((row for row in ctx.clinicians or () if row.id == clinician_id), None)


def create_booking(session, ctx, *, clinician_id, starts_at, patient_id, link_for, source="online",
                   intake_id=None, actor=None, timezone=None, questionnaire_link=None, beyond_horizon=False,
                   walk_in=False, off_grid_reason=None, blocking_id=UNREAD):
    """Book `starts_at` for patient `patient_id` with `clinician_id` (None: the first clinician free then).

    Returns (booking, token). Sends booking_creating, then booking_created, with the absolute manage link
    (`link_for(token)`) and `questionnaire_link` (a questionnaire tied to this patient, for a
    patient who has none). Raises NotBookable, SlotTaken (session rolled back, with
    alternatives), AlreadyBooked (an upcoming consultation exists) or Busy. Staff need
    `beyond_horizon` (confirmed) for a time past the horizon (BeyondHorizon otherwise); a
    `walk_in` may start already; `off_grid_reason` lets staff book a time off the clinician's grid.
    `blocking_id` is what lookups.blocking_booking says for this patient and `intake_id`, if the
    caller read it already in this request (the confirm page reads it with the questionnaire):
    a booking made meanwhile is still refused, by the database's unique indexes at the INSERT.
    """
    staff = actor is not None
    off_grid_reason = (off_grid_reason or "").strip()[:120] or None
    if (existing := _existing(session, intake_id, patient_id, blocking_id)) is not None:
        raise AlreadyBooked(existing)
    if clinician_id is None:
        day = clinic_day(starts_at, ctx.zone)
        candidates = [s.clinician_id for s in free_slots(session, day, day, ctx.zone, now=ctx.now, rules=ctx.rules,
                                                         apply_notice=not staff) if s.starts_at == starts_at]
        if not candidates:
            check_window(ctx, starts_at, staff=staff, beyond_horizon=beyond_horizon)
            offered = any(s.starts_at == starts_at for plan in load_plans(session, day, day, ctx.zone)
                          for s in candidate_slots(plan, ctx.zone, day, day))
            if not offered:
                raise NotBookable("That is not one of the clinic's consultation times. Please choose a listed time.")
    else:
        candidates = [clinician_id]
    kept_for_the_next = False
    for candidate in candidates:
        try:
            # A patient who named the clinician is told only that the time was just taken,
            # which the database's refusal of the INSERT below says as well as a read of the
            # day's bookings first did (4% of a booking POST's instructions). Staff hear what
            # holds it, so they still read them. So does first available, which moves on to the
            # next clinician: a refusal there costs a savepoint's rollback on PostgreSQL (see
            # insert_booking); on SQLite the whole transaction, which can be refused only before
            # it has written anything (see _may_lose_a_race).
            slot = check_time(session, ctx, candidate, starts_at, staff=staff, beyond_horizon=beyond_horizon,
                              walk_in=walk_in, off_grid=off_grid_reason is not None,
                              free=staff or clinician_id is None)
        except SlotTaken:
            if clinician_id is None:  # first available: the next clinician, or everyone's nearest times below
                continue
            raise
        token = new_token()
        detail = f"{source} booking" + (" (walk-in)" if walk_in else "")
        if off_grid_reason:
            detail += f"; off the grid: {off_grid_reason}"
        values = {
            "clinician_id": candidate, "intake_id": intake_id, "patient_id": patient_id, "starts_at": slot.starts_at,
            "ends_at": slot.ends_at, "busy_until": slot.busy_until, "status": "booked", "patient_timezone": timezone,
            "manage_token_hash": token_hash(token), "sequence": 0, "source": source, "created_at": ctx.now,
            "updated_at": ctx.now, "cancelled_at": None, "cancel_reason": None,
            "created_by_id": getattr(actor, "id", None)}
        news = {"now": ctx.now, "actor": actor, "link": link_for(token), "questionnaire_link": questionnaire_link}
        # The emails are composed here, before the INSERT: outside SQLite's write turn, unless the
        # transaction has written already (new contact details typed with the booking).
        draft = Booking(**values)  # the booking as it will be written, but for its id
        prepared = dict(booking_creating.send(SENDER, session=session, booking=draft,
                                              clinician=_known_clinician(ctx, candidate), **news))
        booking = insert_booking(session, values, actor_id=getattr(actor, "id", None), detail=detail[:255],
                                 keep_earlier_writes=candidate != candidates[-1],  # first available tries the next
                                 draft=draft)
        if booking is not None:
            booking_created.send(SENDER, session=session, booking=booking, prepared=prepared, **news)
            return booking, token
        # The database refused: the same patient booked at once (a double click), or the time went.
        kept_for_the_next = candidate != candidates[-1]
        if (existing := _existing(session, intake_id, patient_id)) is not None:
            raise AlreadyBooked(existing)
    if kept_for_the_next:  # what a refusal kept for the next clinician is not to be committed without a booking
        session.rollback()
    raise SlotTaken(_alternatives(session, ctx, starts_at, None if clinician_id is None else [clinician_id], staff))


def before_cutoff(booking, ctx):
    """True while the patient may still move or cancel `booking` online (the manage page asks this too)."""
    return booking.starts_at - ctx.now >= ctx.rules.cancel_cutoff


def cutoff_hours(ctx):
    """The patient's cut-off in whole hours, as the patient is told it."""
    return int(ctx.rules.cancel_cutoff.total_seconds() // 3600)


def _patient_may_change(booking, ctx):
    """Raise NotAllowed if the patient's cut-off has passed for `booking`."""
    if not before_cutoff(booking, ctx):
        raise NotAllowed(f"Bookings can be changed online up to {cutoff_hours(ctx)} hours before the appointment. "
                         "Please call the clinic.")


def patient_may_reschedule(session, booking):
    """False once a clinician has found the patient not suitable: only the clinic moves such a booking."""
    if booking.intake_id is None:
        return True
    decisions = session.scalars(sa.select(Intake.decision).where(
        Intake.id.in_(intake_versions(session, booking.intake_id)))).all()
    return "not_suitable" not in decisions


class PatientActions(NamedTuple):
    """What the patient may do from the manage link now; `cutoff_hours` for the explanation."""

    cancel: bool
    reschedule: bool
    past_cutoff: bool
    cutoff_hours: int


def patient_actions(session, booking, ctx):
    """The PatientActions of `booking` at ctx.now: the same rules cancel_booking and move_booking apply."""
    open_ = may_change(booking) and before_cutoff(booking, ctx)
    return PatientActions(cancel=open_, reschedule=open_ and patient_may_reschedule(session, booking),
                          past_cutoff=may_change(booking) and not before_cutoff(booking, ctx),
                          cutoff_hours=cutoff_hours(ctx))


def may_change(booking):
    """True if `booking` can still be moved or cancelled at all (it is simply booked)."""
    return booking.status == "booked"


def _must_be_booked(booking, action):
    """Raise NotAllowed unless the booking is still simply booked."""
    if not booking.active:
        raise NotAllowed("This booking has been cancelled, so it cannot be changed. You are welcome to book again.")
    if not may_change(booking):
        raise NotAllowed(f"This booking is marked {STATUS_LABELS[booking.status].lower()}, "
                         f"so it cannot be {action}.")


def move_booking(session, ctx, booking, *, starts_at, clinician_id=None, actor=None, beyond_horizon=False):
    """Move `booking` to a free time in one step (old time released, new one taken, or nothing changes).

    `clinician_id` moves it to another clinician too. Staff (`actor` given) may ignore notice,
    cut-off, and the horizon once they confirm (`beyond_horizon`).
    Sends booking_moved. Raises NotAllowed, NotBookable, SlotTaken (session rolled back) or Busy.
    """
    staff = actor is not None
    _must_be_booked(booking, "moved")
    if not staff:
        _patient_may_change(booking, ctx)
        if not patient_may_reschedule(session, booking):
            raise NotAllowed("Please call the clinic to change this booking.")
    clinician_id = clinician_id or booking.clinician_id
    if clinician_id == booking.clinician_id and starts_at == booking.starts_at:
        raise NotAllowed("The booking is already at that time.")
    slot = check_time(session, ctx, clinician_id, starts_at, staff=staff, ignore_booking_id=booking.id,
                      beyond_horizon=beyond_horizon)
    previous, previous_clinician_id = booking.starts_at, booking.clinician_id
    booking.clinician_id = clinician_id
    booking.starts_at, booking.ends_at, booking.busy_until = slot.starts_at, slot.ends_at, slot.busy_until
    booking.sequence = Booking.sequence + 1  # in SQL, so two moves at once cannot lose one
    booking.updated_at = ctx.now
    detail = move_detail(session, ctx.zone, previous, slot.starts_at, previous_clinician_id, clinician_id)
    if write_or_refuse(session, partial(flush_and_note, session, booking.id, at=ctx.now, kind="moved", actor=actor,
                                        detail=detail)) is not None:
        raise SlotTaken(_alternatives(session, ctx, starts_at, [clinician_id], staff))
    # The relationship still holds the clinician loaded before the change: read the new one by id.
    booking.clinician = session.get(StaffUser, clinician_id)
    booking_moved.send(SENDER, session=session, now=ctx.now, booking=booking, previous_starts_at=previous,
                       previous_clinician_id=previous_clinician_id, actor=actor, link=None)
    return booking


def move_detail(session, zone, previous, starts_at, previous_clinician_id, clinician_id):
    """The history line of a move: times in the clinic's zone, and the clinicians if they changed."""
    detail = f"from {local_text(previous, zone)} to {local_text(starts_at, zone)}"
    if previous_clinician_id != clinician_id:
        before, after = (session.get(StaffUser, id_) for id_ in (previous_clinician_id, clinician_id))
        detail += f"; clinician changed from {before.name} to {after.name}"
    return detail[:255]


def cancel_booking(session, ctx, booking, *, reason=None, actor=None):
    """Cancel `booking`, freeing its time. Sends booking_cancelled. Raises NotAllowed."""
    staff = actor is not None
    _must_be_booked(booking, "cancelled")
    if not staff:
        _patient_may_change(booking, ctx)
    reason = (reason or "").strip()[:300] or None
    booking.status = "cancelled"
    booking.cancelled_at = ctx.now
    booking.cancel_reason = reason
    booking.sequence = Booking.sequence + 1
    booking.updated_at = ctx.now
    session.flush()
    # The reason is the patient's own words and may be personal: it stays on the booking only.
    note_event(session, booking.id, at=ctx.now, kind="cancelled", actor=actor,
               detail="by staff" if staff else "by the patient")
    booking_cancelled.send(SENDER, session=session, now=ctx.now, booking=booking, actor=actor, reason=reason)
    return booking
