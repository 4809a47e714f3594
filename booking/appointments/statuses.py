"""Status rules: which status staff may give a booking now (arrived, completed, no-show), and undo. Free of Flask.

`status_changes` is the one place the rule lives: set_status and the day list's and booking
page's buttons all ask it. Like the other booking rules, set_status adds to the session it is
given and flushes; the caller commits. A cancellation can be undone the same day too: the
database's booking guards decide whether its time (and the patient's one upcoming
consultation) is still free.
"""

from datetime import timedelta
from functools import partial

from booking.appointments.availability import clinic_day
from booking.appointments.bookings import SENDER, STATUS_LABELS, NotAllowed, flush_and_note, note_event, write_or_refuse
from booking.appointments.lookups import upcoming_for_patient
from booking.models import Booking
from booking.models.appointments import CANCELLED
from booking.signals import booking_restored

# Which status a booking may move to from which (staff actions on the day): a patient who
# arrived was not a no-show, so only "booked" leads there.
STATUS_CHANGES = {"arrived": ("booked",), "completed": ("booked", "arrived"), "no_show": ("booked",)}
# How long before its start a booking may be marked arrived (patients come early); the other
# statuses wait for the start itself.
STATUS_FROM = {"arrived": timedelta(minutes=-30), "completed": timedelta(0), "no_show": timedelta(0)}
UNDO = "undo"  # the status form's value for "undo the last status change"
# What an undo can take back: the statuses above, and a cancellation (back to booked).
UNDOABLE = tuple(STATUS_CHANGES) + (CANCELLED,)


def status_changes(booking, ctx):
    """The status actions staff may take on `booking` now, in the order the buttons show them.

    The statuses it may be given (arrived from 30 minutes before the start, completed and
    no-show from the start), then UNDO while the last status change can still be undone.
    The one place the rule lives: set_status and the day list's buttons both ask it.
    """
    allowed = tuple(status for status, sources in STATUS_CHANGES.items()
                    if booking.status in sources and ctx.now >= booking.starts_at + STATUS_FROM[status])
    return allowed + ((UNDO,) if undo_target(booking, ctx) is not None else ())


def _status_stack(booking):
    """The status events still in force, oldest first: each "undone" event cancels the latest one."""
    stack = []
    for event in sorted(booking.events, key=lambda e: (e.at, e.id or 0)):
        if event.kind in UNDOABLE:
            stack.append(event)
        elif event.kind == "undone" and stack:
            stack.pop()
    return stack


def undo_target(booking, ctx):
    """The status an undo would restore to `booking`, or None if there is nothing to undo today.

    Only a status given on the clinic's current day can be undone (a correction made while the
    day is fresh, not a rewrite of old records); a cancellation made today goes back to booked.
    """
    if booking.status not in UNDOABLE:
        return None
    if booking.status == CANCELLED and (booking.cancelled_at is None or
                                        clinic_day(booking.cancelled_at, ctx.zone) != clinic_day(ctx.now, ctx.zone)):
        return None  # decided without reading the history: the day list shows old cancellations too
    stack = _status_stack(booking)
    if not stack or stack[-1].kind != booking.status:
        return None
    if clinic_day(stack[-1].at, ctx.zone) != clinic_day(ctx.now, ctx.zone):
        return None
    return stack[-2].kind if len(stack) > 1 else "booked"


def _status_refusal(booking, status, ctx):
    """Why `booking` cannot be given `status` now, in words for the front desk."""
    if status == UNDO:
        if booking.status not in UNDOABLE:
            return f"A booking marked {STATUS_LABELS[booking.status].lower()} has no status change to undo."
        if booking.status == CANCELLED:
            return "A cancellation can only be undone on the day it was made."
        return "A status can only be undone on the day it was given."
    if booking.status not in STATUS_CHANGES[status]:
        if status == "no_show" and booking.status == "arrived":
            return "The patient has arrived, so the booking cannot be marked no-show."
        return (f"A booking marked {STATUS_LABELS[booking.status].lower()} cannot be marked "
                f"{STATUS_LABELS[status].lower()}.")
    if status == "arrived":
        return "A booking can be marked arrived from 30 minutes before its start."
    return f"A booking can be marked {STATUS_LABELS[status].lower()} once its start time has come."


def set_status(session, ctx, booking, status, *, actor):
    """Mark a booking arrived, completed or no-show, or UNDO its last status change or cancellation (staff).

    The change is written to the booking's history. Raises NotAllowed with the reason (for an
    undone cancellation whose time or patient is taken meanwhile, after rolling the session back).
    """
    if status != UNDO and status not in STATUS_CHANGES:
        raise NotAllowed("That is not a status a booking can be given.")
    if status not in status_changes(booking, ctx):
        raise NotAllowed(_status_refusal(booking, status, ctx))
    if status == UNDO and booking.status == CANCELLED:
        return _undo_cancellation(session, ctx, booking, actor)
    if status == UNDO:
        previous, status = booking.status, undo_target(booking, ctx)
        kind, detail = "undone", f"{STATUS_LABELS[previous].lower()} undone; back to {STATUS_LABELS[status].lower()}"
    else:
        kind, detail = status, None
    booking.status = status
    booking.updated_at = ctx.now
    session.flush()
    note_event(session, booking.id, at=ctx.now, kind=kind, actor=actor, detail=detail)
    session.expire(booking, ["events"])  # the next status_changes reads the new history
    return booking


def _undo_cancellation(session, ctx, booking, actor):
    """Book a cancelled booking again, if the database still has room for it; sends booking_restored."""
    booking_id, patient_id = booking.id, booking.patient_id
    booking.status, booking.cancelled_at, booking.cancel_reason = "booked", None, None
    booking.sequence = Booking.sequence + 1  # the patient's calendar takes the invite back as an update
    booking.updated_at = ctx.now
    if write_or_refuse(session, partial(flush_and_note, session, booking_id, at=ctx.now, kind="undone", actor=actor,
                                        detail="cancelled undone; back to booked")) is not None:
        # rolled back: the cancellation stands
        if upcoming_for_patient(session, patient_id) is not None:
            raise NotAllowed("The patient has booked another consultation since this one was cancelled, so the "
                             "cancellation stays. Move that booking instead if this time suits.")
        raise NotAllowed("That time has been taken since the cancellation, so the cancellation stays. "
                         "Book the patient again at another time.")
    session.expire(booking, ["events"])
    booking_restored.send(SENDER, session=session, now=ctx.now, booking=booking, actor=actor)
    return booking
