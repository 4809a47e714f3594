"""The receptionist's schedule grid as plain data. Free of Flask.

Rows are wall-clock times in the clinic's zone (every `step`; the hour repeated when clocks go
back has rows for both of its runs), columns are clinicians (day view) or days (week view).
Each cell says what that time is: free, booked, blocked, closed, off (not working), past or
none (a time that day does not have), with a word for each so nothing relies on colour.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.appointments.availability import candidate_slots, local_midnight, open_intervals, overlaps_busy
from booking.timeutil import changes_clocks, twelve_hour, wall_clock_instant

STEP = timedelta(minutes=15)
STATE_LABELS = {"free": "Free", "booked": "Booked", "blocked": "Blocked", "closed": "Closed",
                "off": "Not working", "past": "Past", "none": "No such time"}


@dataclass
class Cell:
    """One grid cell: its state, and the booking or bookable slot in it, if any."""

    state: str
    label: str
    booking: object = None  # a Booking starting or running in this cell
    first: bool = False  # the booking starts in this cell (the others say "continued")
    bookable_at: object = None  # a free slot start in this cell, for a phone booking link
    past: bool = False


@dataclass
class DayPlan:
    """One clinician's day, precomputed once for all of that day's cells."""

    open: list
    exceptions: list
    bookings: list  # the bookings that hold the clinician during the day (the cells walk these)
    slot_starts: dict  # instant -> Slot, free candidate slots
    spans: list = field(init=False)  # [(starts_at, ends_at, booking)]: each ORM attribute read once, not per cell

    def __post_init__(self):
        self.spans = [(booking.starts_at, booking.ends_at, booking) for booking in self.bookings]


def plan_day(plan, bookings, day, zone):
    """Precompute a clinician's open time, exceptions, bookings and free slot starts for `day`.

    `bookings` may cover more than the day (a week's); only those holding the clinician during
    the day, or during the busy time of its last slot (which may run past midnight), are kept,
    since every cell of the day looks through them.
    """
    day_start = local_midnight(day, zone)
    reach = local_midnight(day + timedelta(days=1), zone) + plan.length + plan.buffer
    bookings = [b for b in bookings if b.starts_at < reach and day_start < b.busy_until]
    busy = [(b.starts_at, b.busy_until, b.id) for b in bookings]
    starts = {s.starts_at: s for s in candidate_slots(plan, zone, day, day) if not overlaps_busy(s, busy)}
    return DayPlan(open=open_intervals(plan, zone, day, day), exceptions=plan.exceptions, bookings=bookings,
                   slot_starts=starts)


def cell_at(day_plan, start, end, now):
    """The Cell for the time from `start` to `end` (UTC) in one clinician's day."""
    past = end <= now
    for starts_at, ends_at, booking in day_plan.spans:
        if starts_at < end and start < ends_at:
            first = start <= starts_at < end
            label = "booked" if first else "continued"  # the page shows the patient's (decrypted) name
            return Cell("booked", label, booking=booking, first=first, past=past)
    for kind, ex_start, ex_end, note in day_plan.exceptions:
        if kind in ("closed", "blocked") and ex_start < end and start < ex_end:
            return Cell(kind, STATE_LABELS[kind] + (f": {note}" if note else ""), past=past)
    if any(o_start < end and start < o_end for o_start, o_end in day_plan.open):
        if past:
            return Cell("past", STATE_LABELS["past"], past=True)
        bookable = next((s for s in day_plan.slot_starts if start <= s < end and s > now), None)
        return Cell("free", STATE_LABELS["free"], bookable_at=bookable)
    return Cell("off", STATE_LABELS["off"], past=past)


def row_times(day_plans, days, zone, step=STEP):
    """Rows, as (wall-clock time, fold), covering every open interval and booking of the shown days, and no more.

    Each day is stepped through in UTC, so the hour repeated when clocks go back has two sets of
    rows (fold 0, then fold 1, placed before the first time after the repeat) and an hour they skip
    adds none for that day. A day nobody works and nobody is booked has no rows at all.
    """
    tz = ZoneInfo(zone)
    first, last = time.max, time.min
    for day_plan in day_plans:
        for start, end in day_plan.open + [(starts_at, ends_at) for starts_at, ends_at, _b in day_plan.spans]:
            local_start, local_end = start.astimezone(tz), end.astimezone(tz)
            if local_start.date() in days:
                first = min(first, local_start.time().replace(minute=local_start.minute // 15 * 15, second=0,
                                                               microsecond=0, fold=0))
            if local_end.date() in days:
                last = max(last, local_end.time().replace(fold=0))
    if first >= last:
        return []
    order = {}  # (wall, fold) -> sort key
    for day in days:
        if not changes_clocks(day, zone):
            # A day of 24 ordinary hours has each wall time once: no need to step through it in UTC.
            wall = datetime.combine(day, time())
            while wall.date() == day:
                if first <= wall.time() < last:
                    order[(wall.time(), 0)] = (wall.time(), 1, wall.time())
                wall += step
            continue
        moment, end, repeated = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz), []
        while moment < end:
            local = moment.astimezone(tz)
            wall = local.time().replace(fold=0)
            if local.fold:
                repeated.append(wall)  # placed once the first time after the repeat is known
            else:
                order.update({(again, 1): (wall, 0, again) for again in repeated if first <= again < last})
                repeated = []
                if first <= wall < last:
                    order[(wall, 0)] = (wall, 1, wall)
            moment += step
        order.update({(again, 1): (time.max, 0, again) for again in repeated if first <= again < last})
    return sorted(order, key=order.get)


def row_label(wall, fold, starts, zone, named):
    """A row's time: "9:30 AM", or with the zone's abbreviation ("1:30 AM EST") when `named`.

    Rows are named on a day the clocks change, and in a week for the repeated hour's rows; if the
    row's instants differ in abbreviation (a week across the change) it says first or second instead.
    """
    text = twelve_hour(wall)
    if not named:
        return text
    names = {start.astimezone(ZoneInfo(zone)).tzname() for start in starts}
    return f"{text} {names.pop()}" if len(names) == 1 else f"{text} ({'second' if fold else 'first'})"


def day_numbers(bookings, grids, day):
    """Today's line: {"booked", "arrived", "completed", "no_show", "free"} counts for `day`.

    `bookings` are the day's bookings (cancelled ones are not counted); free counts the bookable
    free times still ahead in the day's grid cells (each clinician's start once).
    """
    numbers = {status: 0 for status in ("booked", "arrived", "completed", "no_show")}
    for booking in bookings:
        if booking.status in numbers:
            numbers[booking.status] += 1
    free = {(column[3], cell.bookable_at) for grid in grids for _wall, cells in grid["rows"]
            for column, cell in zip(grid["columns"], cells)
            if column[1] == day and cell.state == "free" and cell.bookable_at is not None}
    numbers["free"] = len(free)
    return numbers


def compact_week(grids):
    """The all-clinician week in one table: [(clinician name, [(day, [booked Cells], free count)])].

    `grids` are the week's per-clinician grids; each day shows its bookings (by start) and how
    many free times are left, so the whole clinic's week fits on a screen.
    """
    rows = []
    for grid in grids:
        days = []
        for index, column in enumerate(grid["columns"]):
            cells = [cells[index] for _wall, cells in grid["rows"]]
            booked = [cell for cell in cells if cell.state == "booked" and cell.first]
            free = {cell.bookable_at for cell in cells if cell.state == "free" and cell.bookable_at is not None}
            days.append((column[1], booked, len(free)))
        rows.append((grid["title"], days))
    return rows


def build_grid(columns, rows, now, zone, step=STEP):
    """Rows of cells. `columns` are (label, day, DayPlan, clinician id) and `rows` (wall time, fold) from
    row_times; returns [(row label, [Cell])]. A time a column's day does not have is a "none" cell."""
    repeated = {wall for wall, fold in rows if fold}
    changing = all(changes_clocks(column[1], zone) for column in columns)
    built, instants = [], {}
    for wall, fold in rows:
        cells, starts = [], []
        for _label, day, day_plan, _clinician_id in columns:
            # The day view's columns share one day: each row's instant is worked out once, not per column.
            if (day, wall, fold) not in instants:
                instants[(day, wall, fold)] = wall_clock_instant(day, wall, zone, fold)
            start = instants[(day, wall, fold)]
            if start is None:
                cells.append(Cell("none", STATE_LABELS["none"]))
                continue
            starts.append(start)
            cells.append(cell_at(day_plan, start, start + step, now))
        built.append((row_label(wall, fold, starts, zone, changing or wall in repeated), cells))
    return built
