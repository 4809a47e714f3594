"""Availability as pure functions: weekly hours, exceptions, buffers, notice, horizon, DST."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from booking.appointments.availability import ClinicianPlan, Rules, compute_slots
from tests.booking_factories import WEEKDAY_HOURS, utc

NY = "America/New_York"
SYDNEY = "Australia/Sydney"
EVERY_DAY_MORNING = {day: [(time(9), time(12))] for day in range(7)}
OPEN_RULES = Rules(min_notice=timedelta(0), horizon=timedelta(days=3650))
LONG_AGO = utc(2020, 1, 1)


def wall_times(slots, zone):
    """The slots as the patient sees them: 'HH:MM TZ' in the clinic's zone."""
    return [s.starts_at.astimezone(ZoneInfo(zone)).strftime("%H:%M %Z") for s in slots]


def slots_on(plan, day, zone=NY, now=LONG_AGO, rules=OPEN_RULES):
    """The free slots of `plan` on one clinic date."""
    return compute_slots(plan, zone, day, day, now=now, rules=rules)


def test_weekly_hours_give_slots_in_each_interval_and_none_at_the_weekend():
    plan = ClinicianPlan(1, weekly=WEEKDAY_HOURS)
    monday = slots_on(plan, date(2026, 6, 1))
    assert wall_times(monday, NY)[:3] == ["09:00 EDT", "09:30 EDT", "10:00 EDT"]
    assert "12:00 EDT" not in wall_times(monday, NY)  # lunch
    assert wall_times(monday, NY)[6] == "13:00 EDT"
    assert wall_times(monday, NY)[-1] == "16:30 EDT"
    assert len(monday) == 6 + 8
    assert slots_on(plan, date(2026, 6, 6)) == []  # Saturday
    assert all(s.starts_at.tzinfo == timezone.utc for s in monday)


def test_several_intervals_a_day_and_length_that_does_not_divide_the_interval():
    plan = ClinicianPlan(1, length=timedelta(minutes=45), weekly={0: [(time(9), time(10, 40)), (time(14), time(15))]})
    assert wall_times(slots_on(plan, date(2026, 6, 1)), NY) == ["09:00 EDT", "09:45 EDT", "14:00 EDT"]


def test_buffer_spaces_slots_and_bookings_block_their_buffer():
    plan = ClinicianPlan(1, buffer=timedelta(minutes=15), weekly={0: [(time(9), time(11))]})
    assert wall_times(slots_on(plan, date(2026, 6, 1)), NY) == ["09:00 EDT", "09:45 EDT", "10:30 EDT"]
    # A phone booking at 9:20 that ends 9:50, busy until 10:05: 9:00 and 9:45 both overlap it.
    plan.busy = [(utc(2026, 6, 1, 13, 20), utc(2026, 6, 1, 14, 5), 7)]
    assert wall_times(slots_on(plan, date(2026, 6, 1)), NY) == ["10:30 EDT"]
    # The booking being moved does not block itself.
    assert len(compute_slots(plan, NY, date(2026, 6, 1), date(2026, 6, 1), now=LONG_AGO, rules=OPEN_RULES,
                             ignore_booking_id=7)) == 3


def test_closed_day_blocked_period_and_extra_hours():
    plan = ClinicianPlan(1, weekly=WEEKDAY_HOURS, exceptions=[
        ("closed", utc(2026, 6, 1, 4), utc(2026, 6, 2, 4), "Holiday"),  # all of Monday, local midnight to midnight
        ("blocked", utc(2026, 6, 2, 13), utc(2026, 6, 2, 15), "Training"),  # Tuesday 9:00-11:00
        ("extra", utc(2026, 6, 6, 14), utc(2026, 6, 6, 15), "Saturday clinic"),  # Saturday 10:00-11:00
    ])
    assert slots_on(plan, date(2026, 6, 1)) == []
    assert wall_times(slots_on(plan, date(2026, 6, 2)), NY)[:2] == ["11:00 EDT", "11:30 EDT"]
    assert wall_times(slots_on(plan, date(2026, 6, 6)), NY) == ["10:00 EDT", "10:30 EDT"]


def test_minimum_notice_and_horizon():
    plan = ClinicianPlan(1, weekly=WEEKDAY_HOURS)
    now = utc(2026, 6, 1, 14, 10)  # Monday 10:10 New York
    rules = Rules(min_notice=timedelta(hours=24), horizon=timedelta(days=2))
    tuesday = wall_times(compute_slots(plan, NY, date(2026, 6, 2), date(2026, 6, 2), now=now, rules=rules), NY)
    assert tuesday[0] == "10:30 EDT"  # 10:00 is 23h50m away
    wednesday = compute_slots(plan, NY, date(2026, 6, 3), date(2026, 6, 3), now=now, rules=rules)
    assert wall_times(wednesday, NY)[-1] == "10:00 EDT"  # horizon ends Wednesday 10:10
    assert compute_slots(plan, NY, date(2026, 6, 4), date(2026, 6, 4), now=now, rules=rules) == []
    assert compute_slots(plan, NY, date(2026, 5, 29), date(2026, 5, 29), now=now, rules=OPEN_RULES) == []  # past


def test_clinician_who_takes_no_bookings_has_no_slots():
    assert slots_on(ClinicianPlan(1, weekly=WEEKDAY_HOURS, accepts_bookings=False), date(2026, 6, 1)) == []


@pytest.mark.parametrize("zone, days, offsets", [
    # New York, spring forward on Sunday 8 March 2026: 9:00 is 14:00Z before and 13:00Z from that day.
    (NY, [date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)], [14, 13, 13]),
    # New York, fall back on Sunday 1 November 2026.
    (NY, [date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 2)], [13, 14, 14]),
    # Sydney, daylight time ends on Sunday 5 April 2026 (UTC+11 -> +10): 9:00 is 22:00Z then 23:00Z the day before.
    (SYDNEY, [date(2026, 4, 4), date(2026, 4, 5), date(2026, 4, 6)], [22, 23, 23]),
    # Sydney, daylight time starts on Sunday 4 October 2026 (UTC+10 -> +11).
    (SYDNEY, [date(2026, 10, 3), date(2026, 10, 4), date(2026, 10, 5)], [23, 22, 22]),
])
def test_daylight_saving_changes_keep_wall_clock_times(zone, days, offsets):
    plan = ClinicianPlan(1, weekly=EVERY_DAY_MORNING)
    for day, utc_hour in zip(days, offsets):
        slots = slots_on(plan, day, zone)
        local = [s.starts_at.astimezone(ZoneInfo(zone)) for s in slots]
        assert [t.strftime("%H:%M") for t in local] == ["09:00", "09:30", "10:00", "10:30", "11:00", "11:30"]
        assert all(t.date() == day for t in local)
        first = slots[0].starts_at
        expected_day = day - timedelta(days=1) if utc_hour >= 20 else day  # Sydney's 9:00 is the previous UTC day
        assert (first.date(), first.hour) == (expected_day, utc_hour)
        assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)


def test_hours_across_the_spring_gap_last_their_real_length():
    plan = ClinicianPlan(1, weekly={6: [(time(1), time(4))]})  # Sunday 1:00-4:00 wall clock
    slots = slots_on(plan, date(2026, 3, 8))
    # 2:00-3:00 does not exist that night: 1:00 EST to 4:00 EDT is two real hours.
    assert wall_times(slots, NY) == ["01:00 EST", "01:30 EST", "03:00 EDT", "03:30 EDT"]


def test_hours_across_the_autumn_repeat_offer_both_occurrences():
    plan = ClinicianPlan(1, weekly={6: [(time(1), time(3))]})
    slots = slots_on(plan, date(2026, 11, 1))
    assert wall_times(slots, NY) == ["01:00 EDT", "01:30 EDT", "01:00 EST", "01:30 EST", "02:00 EST", "02:30 EST"]
    assert len({s.starts_at for s in slots}) == 6


def test_slot_instants_are_exact_utc():
    plan = ClinicianPlan(1, weekly=EVERY_DAY_MORNING)
    first = slots_on(plan, date(2026, 3, 9))[0]
    assert first.starts_at == datetime(2026, 3, 9, 13, 0, tzinfo=timezone.utc)


def test_back_to_back_bookings_each_block_their_own_slot():
    # Three bookings in time order; the sweep must look past the first to see the second.
    day = date(2026, 6, 2)
    at = lambda hour, minute=0: datetime(2026, 6, 2, hour + 4, minute, tzinfo=timezone.utc)  # noqa: E731 (EDT)
    plan = ClinicianPlan(1, weekly=EVERY_DAY_MORNING,
                         busy=[(at(9), at(9, 30), 1), (at(9, 30), at(10), 2), (at(11), at(11, 30), 3)])
    assert wall_times(slots_on(plan, day), NY) == ["10:00 EDT", "10:30 EDT", "11:30 EDT"]


def test_staff_see_times_inside_the_notice_and_beyond_the_horizon():
    plan = ClinicianPlan(1, weekly=EVERY_DAY_MORNING)
    now = datetime(2026, 6, 1, 13, 10, tzinfo=timezone.utc)  # Monday 9:10 in New York
    rules = Rules(min_notice=timedelta(hours=24), horizon=timedelta(days=2))
    soon, late = date(2026, 6, 1), date(2026, 6, 5)
    assert compute_slots(plan, NY, soon, soon, now=now, rules=rules) == []
    assert len(compute_slots(plan, NY, soon, soon, now=now, rules=rules, apply_notice=False)) == 5  # 9:30..11:30
    assert compute_slots(plan, NY, late, late, now=now, rules=rules) == []
    assert len(compute_slots(plan, NY, late, late, now=now, rules=rules, apply_notice=False)) == 6


def test_a_slot_exactly_at_the_notice_or_the_horizon_is_offered():
    plan = ClinicianPlan(1, weekly=EVERY_DAY_MORNING)
    now = datetime(2026, 6, 1, 13, 0, tzinfo=timezone.utc)  # Monday 9:00 in New York
    rules = Rules(min_notice=timedelta(minutes=30), horizon=timedelta(hours=2, minutes=30))
    assert wall_times(slots_on(plan, date(2026, 6, 1), now=now, rules=rules), NY) == [
        "09:30 EDT", "10:00 EDT", "10:30 EDT", "11:00 EDT", "11:30 EDT"]


def test_a_booking_on_an_earlier_day_does_not_block_the_next():
    plan = ClinicianPlan(1, weekly=EVERY_DAY_MORNING,
                         busy=[(datetime(2026, 6, 1, 13, tzinfo=timezone.utc),
                                datetime(2026, 6, 1, 13, 30, tzinfo=timezone.utc), 1)])
    slots = compute_slots(plan, NY, date(2026, 6, 1), date(2026, 6, 2), now=LONG_AGO, rules=OPEN_RULES)
    assert len(slots) == 5 + 6 and wall_times(slots, NY)[0] == "09:30 EDT"


def test_after_skipping_an_earlier_days_booking_the_next_one_still_blocks():
    utc_at = lambda day, hour: datetime(2026, 6, day, hour, tzinfo=timezone.utc)  # noqa: E731
    plan = ClinicianPlan(1, weekly=EVERY_DAY_MORNING,
                         busy=[(utc_at(1, 13), utc_at(1, 14), 1), (utc_at(2, 13), utc_at(2, 14), 2)])
    tuesday = wall_times(slots_on(plan, date(2026, 6, 2)), NY)
    assert tuesday == ["10:00 EDT", "10:30 EDT", "11:00 EDT", "11:30 EDT"]
