"""Bookable times, computed from opening hours, exceptions and bookings. Free of Flask.

`compute_slots` is pure: it takes plain data (a ClinicianPlan) and returns Slots. `load_plans`
reads everything it needs for any number of clinicians in a fixed number of queries (four;
weekly hours and weekly blocks come in one),
so the cost of a page does not grow with the number of bookings in the database.

Wall-clock hours are in the clinic's IANA zone; every instant that leaves this module is
aware UTC. Stepping through a day happens in UTC, so a consultation always lasts its real
length, including on the days daylight saving time starts and ends.
"""

import functools
from dataclasses import dataclass, field
from typing import NamedTuple
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from booking.extensions import execute_on_connection
from booking.models import Booking, ClinicianProfile, OpeningHours, RecurringBlock, ScheduleException, StaffUser
from booking.timeutil import parse_date

# Who can be booked at all: an active account that is (still) a clinician. A clinician demoted to
# another role keeps their profile and hours, but is no longer offered.
BOOKABLE = sa.and_(StaffUser.active.is_(True), StaffUser.role == "clinician")
# No booking is busy for longer than this (consultation plus buffer are capped at 8 + 4 hours).
MAX_BUSY = timedelta(hours=12)


@dataclass(frozen=True)
class Rules:
    """The clinic's booking rules."""

    min_notice: timedelta = timedelta(hours=24)
    horizon: timedelta = timedelta(days=60)
    cancel_cutoff: timedelta = timedelta(hours=24)


class Slot(NamedTuple):
    """One bookable time of one clinician (UTC instants). A tuple: hundreds are built per page."""

    clinician_id: int
    starts_at: datetime
    ends_at: datetime
    busy_until: datetime


@dataclass
class ClinicianPlan:
    """Everything availability needs to know about one clinician, as plain data."""

    clinician_id: int
    name: str = ""
    length: timedelta = timedelta(minutes=30)
    buffer: timedelta = timedelta(0)
    accepts_bookings: bool = True
    # weekday (0 = Monday) -> [(start time, end time)] in the clinic's zone
    weekly: dict = field(default_factory=dict)
    # [(kind, starts_at, ends_at, note)] in UTC; kind in closed / blocked / extra
    exceptions: list = field(default_factory=list)
    # [(starts_at, busy_until, booking id)] of active bookings, UTC
    busy: list = field(default_factory=list)


def _zone(zone):
    """A ZoneInfo from a zone or its IANA name."""
    return ZoneInfo(zone) if isinstance(zone, str) else zone


def local_midnight(day, zone):
    """The instant (UTC) at which `day` begins in `zone` (a ZoneInfo or an IANA name)."""
    return datetime.combine(day, time(0), _zone(zone)).astimezone(timezone.utc)


def local_instant(day, wall_time, zone):
    """The UTC instant of wall-clock `wall_time` on `day` in `zone`.

    A time skipped by a spring-forward change is read with the offset before the change
    (02:30 becomes 03:30 daylight time); a repeated time in autumn means its first occurrence.
    Right for weekly hours; a time staff type goes through timeutil.resolve_clock_time, which asks.
    """
    return datetime.combine(day, wall_time, _zone(zone)).astimezone(timezone.utc)


def _merge(intervals):
    """Sort and merge overlapping or touching (start, end) intervals."""
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(intervals, holes):
    """Remove every hole from a merged list of intervals."""
    result = []
    holes = _merge(holes)
    for start, end in intervals:
        pieces = [(start, end)]
        for hole_start, hole_end in holes:
            next_pieces = []
            for piece_start, piece_end in pieces:
                if hole_end <= piece_start or piece_end <= hole_start:
                    next_pieces.append((piece_start, piece_end))
                    continue
                if piece_start < hole_start:
                    next_pieces.append((piece_start, hole_start))
                if hole_end < piece_end:
                    next_pieces.append((hole_end, piece_end))
            pieces = next_pieces
        result.extend(pieces)
    return result


def open_intervals(plan, zone_name, first_day, last_day):
    """The clinician's open time (UTC intervals) from `first_day` to `last_day` inclusive."""
    zone = ZoneInfo(zone_name)
    window = (local_midnight(first_day, zone), local_midnight(last_day + timedelta(days=1), zone))
    intervals = []
    day = first_day
    while day <= last_day:
        for start, end in plan.weekly.get(day.weekday(), ()):
            intervals.append((local_instant(day, start, zone), local_instant(day, end, zone)))
        day += timedelta(days=1)
    for kind, starts_at, ends_at, _note in plan.exceptions:
        if kind == "extra" and starts_at < window[1] and window[0] < ends_at:
            intervals.append((max(starts_at, window[0]), min(ends_at, window[1])))
    closed = [(s, e) for kind, s, e, _note in plan.exceptions if kind in ("closed", "blocked")]
    return _subtract(_merge(i for i in intervals if i[0] < i[1]), closed)


def weekly_blocks(blocks, zone_name, first_day, last_day):
    """Expand weekly blocks into blocked periods on the days from `first_day` to `last_day` inclusive.

    `blocks` holds (weekday, start time, end time, block's first day, block's last day, note);
    returns [("blocked", starts_at, ends_at, note)] in UTC, the shape of ClinicianPlan.exceptions.
    """
    zone = ZoneInfo(zone_name)
    periods = []
    for weekday, start, end, first, last, note in blocks:
        day = max(first, first_day)
        day += timedelta(days=(weekday - day.weekday()) % 7)
        while day <= min(last, last_day):
            periods.append(("blocked", local_instant(day, start, zone), local_instant(day, end, zone), note))
            day += timedelta(days=7)
    return periods


def candidate_slots(plan, zone_name, first_day, last_day):
    """Every consultation start inside open time, ignoring bookings, notice and horizon."""
    step = plan.length + plan.buffer
    slots = []
    for start, end in open_intervals(plan, zone_name, first_day, last_day):
        moment = start
        while moment + plan.length <= end:
            slots.append(Slot(plan.clinician_id, moment, moment + plan.length, moment + step))
            moment += step
    return slots


def overlaps_busy(slot, busy, ignore_booking_id=None):
    """True if `slot`'s busy range overlaps an active booking's (other than the ignored one)."""
    return any(start < slot.busy_until and slot.starts_at < until
               for start, until, booking_id in busy if booking_id != ignore_booking_id)


def compute_slots(plan, zone_name, first_day, last_day, *, now, rules, ignore_booking_id=None,
                  apply_notice=True):
    """Free, bookable slots of one clinician from `first_day` to `last_day` (clinic dates).

    Open time minus exceptions and active bookings; no slot starts before `now` plus the
    minimum notice (only before `now` when `apply_notice` is False, for staff) or after
    `now` plus the horizon (no horizon for staff either).
    """
    if not plan.accepts_bookings:
        return []
    earliest = now + rules.min_notice if apply_notice else now
    latest = now + rules.horizon if apply_notice else None
    busy = sorted((start, until) for start, until, booking_id in plan.busy if booking_id != ignore_booking_id)
    free, index = [], 0
    # Slots and busy ranges are both in time order: one sweep instead of comparing every pair.
    for slot in candidate_slots(plan, zone_name, first_day, last_day):
        if slot.starts_at < earliest or (latest is not None and slot.starts_at > latest):
            continue
        while index < len(busy) and busy[index][0] < slot.starts_at - MAX_BUSY:
            index += 1  # ranges that started long before this slot cannot reach it
        if not any(start < slot.busy_until and slot.starts_at < until
                   for start, until in busy[index:index + _scan_limit(busy, index, slot.busy_until)]):
            free.append(slot)
    return free


def _scan_limit(busy, index, until):
    """How many busy ranges from `index` start before `until` (those are the only candidates)."""
    count = 0
    while index + count < len(busy) and busy[index + count][0] < until:
        count += 1
    return count


def clinic_day(moment, zone_name):
    """The clinic-zone calendar date of an instant."""
    return moment.astimezone(ZoneInfo(zone_name)).date()


def week_start(day):
    """The Monday of `day`'s week."""
    return day - timedelta(days=day.weekday())


# The longest a booking can hold its clinician: the profile's 480-minute consultation plus its
# 240-minute buffer (the clinician_profile check constraints). A lower bound on starts_at lets
# the (clinician, start) index skip a year of past bookings instead of reading them all.
LONGEST_BUSY = timedelta(minutes=480 + 240)


def load_plans(session, first_day, last_day, zone_name, clinician_ids=None, only_bookable=True):
    """Build ClinicianPlans for the clinicians (all with a profile by default) in four queries."""
    return fill_plans(session, clinician_plans(session, clinician_ids, only_bookable), first_day, last_day,
                      zone_name)


def clinician_plans(session, clinician_ids=None, only_bookable=True):
    """Empty ClinicianPlans (settings only, by name) of the clinicians, all with a profile by default;
    one query. fill_plans adds their hours, exceptions and bookings."""
    # Plain column queries, not ORM entities: this runs on every week view.
    query = (sa.select(ClinicianProfile.clinician_id, StaffUser.name, ClinicianProfile.accepts_bookings,
                       ClinicianProfile.consultation_minutes, ClinicianProfile.buffer_minutes)
             .join(StaffUser, StaffUser.id == ClinicianProfile.clinician_id)
             .where(BOOKABLE).order_by(StaffUser.name, StaffUser.id))
    if only_bookable:
        query = query.where(ClinicianProfile.accepts_bookings.is_(True))
    if clinician_ids is not None:
        query = query.where(ClinicianProfile.clinician_id.in_(list(clinician_ids)))
    return [ClinicianPlan(clinician_id=clinician_id, name=name, accepts_bookings=accepts,
                          length=timedelta(minutes=minutes), buffer=timedelta(minutes=buffer))
            for clinician_id, name, accepts, minutes, buffer in session.execute(query)]


@functools.cache
def plan_statements():
    """fill_plans' three SELECTs, built on first use and kept: building them costs more than SQLite
    takes to run them (a page of ten clinicians reads about 200 small rows). Built at first use,
    not at import, so that tests (and mutation testing) can start each test from a fresh build."""
    ids = sa.bindparam("ids", expanding=True)
    # Weekly hours and weekly blocks in one statement (a block row has its dates; hours have none).
    blocks = sa.select(RecurringBlock.clinician_id, RecurringBlock.weekday, RecurringBlock.start_time,
                       RecurringBlock.end_time, RecurringBlock.first_day, RecurringBlock.last_day,
                       RecurringBlock.note).where(RecurringBlock.clinician_id.in_(ids),
                                                  RecurringBlock.first_day <= sa.bindparam("last_day"),
                                                  RecurringBlock.last_day >= sa.bindparam("first_day"))
    hours = sa.select(OpeningHours.clinician_id, OpeningHours.weekday, OpeningHours.start_time,
                      OpeningHours.end_time, sa.cast(sa.null(), sa.Date()), sa.cast(sa.null(), sa.Date()),
                      sa.cast(sa.null(), sa.String(120))).where(OpeningHours.clinician_id.in_(ids))
    weekly = sa.union_all(blocks, hours).subquery()  # blocks first: their column types name the union's
    exceptions = sa.select(ScheduleException.clinician_id, ScheduleException.kind, ScheduleException.starts_at,
                           ScheduleException.ends_at, ScheduleException.note).where(
        sa.or_(ScheduleException.clinician_id.in_(ids), ScheduleException.clinician_id.is_(None)),
        ScheduleException.starts_at < sa.bindparam("window_end"),
        ScheduleException.ends_at > sa.bindparam("window_start"))
    busy = sa.select(Booking.clinician_id, Booking.starts_at, Booking.busy_until, Booking.id).where(
        Booking.clinician_id.in_(ids), Booking.active, Booking.starts_at >= sa.bindparam("busy_from"),
        Booking.starts_at < sa.bindparam("window_end"), Booking.busy_until > sa.bindparam("window_start"))
    return sa.select(weekly).order_by(weekly.c.weekday, weekly.c.start_time), exceptions, busy


def fill_plans(session, plans, first_day, last_day, zone_name):
    """Add to `plans` (from clinician_plans) their weekly hours and blocks, exceptions and active
    bookings around `first_day` to `last_day` (clinic dates); three queries. Returns `plans`."""
    return fill_busy(session, fill_hours(session, plans, first_day, last_day, zone_name), first_day, last_day,
                     zone_name)


def _window(first_day, last_day, zone_name):
    """The instants around `first_day` to `last_day` whose exceptions and bookings count: a day
    either side, for those that cross midnight."""
    zone = ZoneInfo(zone_name)
    return local_midnight(first_day - timedelta(days=1), zone), local_midnight(last_day + timedelta(days=2), zone)


def fill_hours(session, plans, first_day, last_day, zone_name):
    """Add to `plans` their weekly hours and blocks and their exceptions around `first_day` to
    `last_day` (two queries): all that decides their times but the bookings. Returns `plans`."""
    if not plans:
        return []
    window_start, window_end = _window(first_day, last_day, zone_name)
    ordered, plans = plans, {plan.clinician_id: plan for plan in plans}
    ids = list(plans)
    weekly_rows, exception_rows, _busy_rows = plan_statements()
    found_blocks = {}
    for clinician_id, weekday, start, end, first, last, note in session.execute(weekly_rows, {
            "ids": ids, "first_day": first_day - timedelta(days=1), "last_day": last_day + timedelta(days=1)}):
        if first is None:
            plans[clinician_id].weekly.setdefault(weekday, []).append((start, end))
        else:
            found_blocks.setdefault(clinician_id, []).append((weekday, start, end, first, last, note))
    for clinician_id, rows in found_blocks.items():
        plans[clinician_id].exceptions.extend(weekly_blocks(rows, zone_name, first_day - timedelta(days=1),
                                                            last_day + timedelta(days=1)))
    window = {"ids": ids, "window_start": window_start, "window_end": window_end}
    for clinician_id, kind, starts_at, ends_at, note in session.execute(exception_rows, window):
        for target in (ids if clinician_id is None else [clinician_id]):
            plans[target].exceptions.append((kind, starts_at, ends_at, note))
    return ordered


def fill_busy(session, plans, first_day, last_day, zone_name):
    """Add to `plans` their active bookings around `first_day` to `last_day` (one query). Returns `plans`."""
    if not plans:
        return []
    window_start, window_end = _window(first_day, last_day, zone_name)
    by_id = {plan.clinician_id: plan for plan in plans}
    for clinician_id, starts_at, busy_until, booking_id in execute_on_connection(session, plan_statements()[2], {
            "ids": list(by_id), "window_start": window_start, "window_end": window_end,
            "busy_from": window_start - LONGEST_BUSY}):
        by_id[clinician_id].busy.append((starts_at, busy_until, booking_id))
    return plans


def free_slots(session, first_day, last_day, zone_name, *, now, rules, clinician_ids=None,
               ignore_booking_id=None, apply_notice=True):
    """Free slots of the chosen (or all bookable) clinicians, sorted by time then clinician name."""
    plans = load_plans(session, first_day, last_day, zone_name, clinician_ids)
    order = {plan.clinician_id: index for index, plan in enumerate(plans)}
    slots = []
    for plan in plans:
        slots.extend(s for s in compute_slots(plan, zone_name, first_day, last_day, now=now, rules=rules,
                                              ignore_booking_id=ignore_booking_id, apply_notice=apply_notice)
                     if first_day <= clinic_day(s.starts_at, zone_name) <= last_day)
    return sorted(slots, key=lambda s: (s.starts_at, order[s.clinician_id]))


def nearest_free(session, wanted, zone_name, *, now, rules, clinician_ids=None, ignore_booking_id=None,
                 apply_notice=True, count=5, days=7):
    """Up to `count` free slots nearest to the instant `wanted` (within `days` either side), in time order."""
    day = clinic_day(wanted, zone_name)
    slots = free_slots(session, day - timedelta(days=days), day + timedelta(days=days), zone_name, now=now,
                       rules=rules, clinician_ids=clinician_ids, ignore_booking_id=ignore_booking_id,
                       apply_notice=apply_notice)
    seen, unique = set(), []
    for slot in sorted(slots, key=lambda s: abs((s.starts_at - wanted).total_seconds())):
        if slot.starts_at not in seen:  # "first available" lists each time once
            seen.add(slot.starts_at)
            unique.append(slot)
        if len(unique) == count:
            break
    return sorted(unique, key=lambda s: s.starts_at)


def days_between(first_day, last_day):
    """Every date from `first_day` to `last_day` inclusive."""
    return [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]


DATE_FILTER_ERROR = "Use a real date from 2000 to 2199, written as YYYY-MM-DD."


def parse_day(text, default=None):
    """A date for a staff filter or a week to show: timeutil.parse_date(text) from 2000 to 2199, else `default`.

    The narrower years keep date arithmetic (a day before, a week after) and the database's
    timestamps far from their limits.
    """
    day = parse_date(text)
    return day if day is not None and 2000 <= day.year < 2200 else default
