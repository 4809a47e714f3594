"""Waitlist rules: join, match a freed time, offer it, take an offer. Free of Flask.

Each function works on the session it is given and the caller commits. Who gets a time
offered to several patients is decided by the booking guards in the database: the offer is
taken through create_booking, and the loser's SlotTaken becomes "that time has gone".
"""

from typing import NamedTuple

import sqlalchemy as sa

from booking.appointments.availability import clinic_day, free_slots
from booking.appointments.bookings import (AlreadyBooked, BookingError, NotBookable, SlotTaken, check_time,
                                           create_booking)
from booking.extensions import DriverWrite, flushed_connection
from booking.models import Booking, WaitlistEntry, WaitlistOffer
from booking.models.appointments import UPCOMING
from booking.models.waitlist import IS_WAITING, WAITING
from booking.timeutil import to_zone
from booking.tokens import new_token, plausible_token, token_hash

# Parts of the day as bits, with the clinic-time hours each covers: [from, to).
PARTS = {"morning": (1, 0, 12), "afternoon": (2, 12, 17), "evening": (4, 17, 24)}
PART_LABELS = {"morning": "Morning (before noon)", "afternoon": "Afternoon (noon to 5 PM)",
               "evening": "Evening (after 5 PM)"}
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
GONE = ("Sorry, that time has gone: another patient on the waitlist booked it first. You stay on the "
        "waitlist, and we will email you when another time frees up.")


class WaitlistError(BookingError):
    """A waitlist change that cannot be made; `message` is safe to show."""


class FreedTime(NamedTuple):
    """A time offered to a waiting patient, with the link token to send them (shown once)."""

    offer: WaitlistOffer
    token: str


def bits(names, table):
    """The bitmask of `names` (weekday numbers or part names) in `table`'s order."""
    if table is PARTS:
        return sum(PARTS[name][0] for name in set(names) if name in PARTS)
    return sum(1 << int(day) for day in set(names) if str(day).isdigit() and 0 <= int(day) <= 6)


def describe(entry):
    """(days text, parts text) of an entry, for the desk list and the patient's page."""
    days = [DAY_NAMES[day] for day in range(7) if entry.days & (1 << day)]
    parts = [name for name, (bit, _start, _end) in PARTS.items() if entry.parts & bit]
    return ("Any day" if len(days) == 7 else ", ".join(days)), ("Any time" if len(parts) == 3 else ", ".join(parts))


def suits(entry, clinician_id, starts_at, zone):
    """True if `entry` wants a time with `clinician_id` at `starts_at` (weekday and part of day, clinic time)."""
    if entry.clinician_id is not None and entry.clinician_id != clinician_id:
        return False
    local = to_zone(starts_at, zone)
    part = next(bit for bit, start, end in PARTS.values() if start <= local.hour < end)
    return bool(entry.days & (1 << local.weekday())) and bool(entry.parts & part)


def waiting_entry(session, patient_id, now):
    """The patient's current (waiting, unexpired) entry, or None."""
    return session.scalar(sa.select(WaitlistEntry).where(WaitlistEntry.patient_id == patient_id,
                                                         IS_WAITING,
                                                         WaitlistEntry.expires_at > now))


def join(session, ctx, *, patient_id, intake_id, clinician_id, days, parts):
    """Put the patient on the waitlist (or update their preferences); returns the entry.

    The entry expires at the booking horizon. Raises WaitlistError if no day or part of the
    day was chosen, AlreadyBooked if the patient has an upcoming consultation.
    """
    if not days or not parts:
        raise WaitlistError("Choose at least one day and one part of the day.")
    upcoming = session.scalar(sa.select(Booking).where(Booking.patient_id == patient_id, UPCOMING))
    if upcoming is not None:
        raise AlreadyBooked(upcoming)
    entry = session.scalar(sa.select(WaitlistEntry).where(WaitlistEntry.patient_id == patient_id,
                                                          IS_WAITING))
    if entry is None:
        entry = WaitlistEntry(patient_id=patient_id, status=WAITING, created_at=ctx.now)
        session.add(entry)
    entry.intake_id, entry.clinician_id, entry.days, entry.parts = intake_id, clinician_id, days, parts
    entry.expires_at = ctx.now + ctx.rules.horizon
    session.flush()
    return entry


def leave(session, entry):
    """Take `entry` off the list (the patient or staff asked)."""
    entry.status = "left"
    session.flush()


def desk_list(session, now):
    """Every waiting, unexpired entry, first come first."""
    return session.scalars(sa.select(WaitlistEntry).where(IS_WAITING,
                                                          WaitlistEntry.expires_at > now)
                           .order_by(WaitlistEntry.created_at, WaitlistEntry.id)).all()


def offer_freed_time(session, ctx, *, clinician_id, starts_at, limit, exclude_patient_id=None, entries=None):
    """Offer a time that just freed up to the first `limit` waiting patients it suits.

    Only a time a patient could book online now is offered (free, within notice and horizon).
    `entries` (the waiting entries, oldest first) spares a query per time when many are offered.
    Returns [FreedTime]; the caller emails each its link.
    """
    try:
        check_time(session, ctx, clinician_id, starts_at)
    except BookingError:
        return []
    found = []
    for entry in desk_list(session, ctx.now) if entries is None else entries:
        if len(found) >= limit:
            break
        if entry.patient_id == exclude_patient_id or not suits(entry, clinician_id, starts_at, ctx.zone):
            continue
        already = session.scalar(sa.select(WaitlistOffer.id).where(
            WaitlistOffer.entry_id == entry.id, WaitlistOffer.clinician_id == clinician_id,
            WaitlistOffer.starts_at == starts_at))
        if already is not None:
            continue
        token = new_token()
        offer = WaitlistOffer(entry=entry, clinician_id=clinician_id, starts_at=starts_at,
                              token_hash=token_hash(token), created_at=ctx.now)
        session.add(offer)
        found.append(FreedTime(offer, token))
    session.flush()
    return found


def offer_open_times(session, ctx, *, limit):
    """Offer free times (new hours, extra hours) to waiting patients who hold no open offer yet.

    Each waiting patient gets at most one new offer per run: the earliest free time that suits
    them, in list order, at most `limit` patients per time. Returns [FreedTime].
    """
    waiting = [entry for entry in desk_list(session, ctx.now) if not session.scalar(
        sa.select(WaitlistOffer.id).where(WaitlistOffer.entry_id == entry.id, WaitlistOffer.taken_at.is_(None),
                                          WaitlistOffer.starts_at > ctx.now).limit(1))]
    if not waiting:  # the hours page asks after every change: with nobody waiting, no slots are computed
        return []
    first_day = clinic_day(ctx.now + ctx.rules.min_notice, ctx.zone)
    last_day = clinic_day(ctx.now + ctx.rules.horizon, ctx.zone)
    found = []
    for slot in free_slots(session, first_day, last_day, ctx.zone, now=ctx.now, rules=ctx.rules):
        if not waiting:
            break
        suited = [entry for entry in waiting if suits(entry, slot.clinician_id, slot.starts_at, ctx.zone)]
        if not suited:
            continue
        offered = offer_freed_time(session, ctx, clinician_id=slot.clinician_id, starts_at=slot.starts_at,
                                   limit=limit, entries=suited)
        given = {freed.offer.entry.id for freed in offered}
        waiting = [entry for entry in waiting if entry.id not in given]
        found.extend(offered)
    return found


def find_offer(session, token):
    """The offer whose link token is `token`, or None (implausible tokens are not looked up)."""
    if not plausible_token(token):
        return None
    return session.scalar(sa.select(WaitlistOffer).where(WaitlistOffer.token_hash == token_hash(token)))


def offer_open(offer, now):
    """True while the offer can still be taken as far as the offer itself knows (not taken, not past, listed)."""
    return offer.taken_at is None and offer.starts_at > now and offer.entry.status == WAITING


def take_offer(session, ctx, offer, *, link_for):
    """Book the offered time for the entry's patient in one step; returns (booking, manage token).

    Raises WaitlistError(GONE) when the time has gone (another patient, or anyone, booked it;
    the patient stays on the list), AlreadyBooked, or Busy.
    """
    if not offer_open(offer, ctx.now):
        raise WaitlistError(GONE if offer.taken_at is None else "This offer has already been used.")
    entry = offer.entry
    try:
        booking, token = create_booking(session, ctx, clinician_id=offer.clinician_id, starts_at=offer.starts_at,
                                        patient_id=entry.patient_id, intake_id=entry.intake_id, link_for=link_for)
    except (SlotTaken, NotBookable) as error:
        raise WaitlistError(GONE) from error
    offer = session.get(WaitlistOffer, offer.id)
    offer.taken_at = ctx.now
    session.flush()
    return booking, token


_entry = WaitlistEntry.__table__
_MARK_BOOKED = DriverWrite(sa.update(_entry).where(_entry.c.patient_id == sa.bindparam("booked_patient_id"),
                                                   IS_WAITING).values(status="booked"))


def mark_booked(session, patient_id):
    """The patient got a consultation: their waiting entry (if any) leaves the list as booked."""
    # The table's statement, not the ORM's bulk update: that one searched the session for entries
    # to change in memory as well, which nothing reads before the commit expires them anyway. On
    # the session's connection, after the same autoflush, on its driver cursor (DriverWrite).
    _MARK_BOOKED.hold(flushed_connection(session), {"booked_patient_id": patient_id})
