"""Availability's edges: overlapping and touching hours, holes in open time, extra hours at the day's
edges, touching bookings, the clinic's own midnight and date, the staff date filter's years, and
free_slots' choices (clinicians, the booking being moved, notice, order). Each boundary is checked on
both sides, so that mutation testing (`make mutation`) finds a test for every changed comparison."""

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from booking.appointments.availability import (ClinicianPlan, Rules, Slot, clinic_day, compute_slots,
                                               days_between, free_slots, local_midnight, overlaps_busy,
                                               parse_day, week_start)
from tests.booking_factories import add_booking, add_clinician, utc

NY = "America/New_York"
OPEN_RULES = Rules(min_notice=timedelta(0), horizon=timedelta(days=3650))
LONG_AGO = utc(2030, 1, 1)  # with OPEN_RULES, every time after it is offered
MONDAY = date(2030, 6, 3)  # New York is UTC-4 in June


def at(day, hour, minute=0):
    """The UTC instant of a New York wall-clock time."""
    from booking.appointments.availability import local_instant

    return local_instant(day, time(hour, minute), NY)


def starts(plan, first_day=MONDAY, last_day=MONDAY):
    """The free start times of `plan`, as New York 'Mon HH:MM'."""
    return [s.starts_at.astimezone(ZoneInfo(NY)).strftime("%a %H:%M")
            for s in compute_slots(plan, NY, first_day, last_day, now=LONG_AGO, rules=OPEN_RULES)]


def plan(hours, length=30, exceptions=(), busy=()):
    """A Monday-only clinician plan with `hours` [(start hour, end hour)]."""
    weekly = {0: [(time(start), time(end)) for start, end in hours]}
    return ClinicianPlan(clinician_id=1, name="Dr Edge", length=timedelta(minutes=length), weekly=weekly,
                         exceptions=list(exceptions), busy=list(busy))


def test_overlapping_hours_are_one_stretch_with_each_time_once():
    assert starts(plan([(9, 11), (10, 12)], length=60)) == ["Mon 09:00", "Mon 10:00", "Mon 11:00"]
    assert starts(plan([(9, 12), (10, 11)], length=60)) == ["Mon 09:00", "Mon 10:00", "Mon 11:00"]


def test_touching_hours_are_one_stretch_so_a_consultation_may_cross_the_join():
    # 45 minutes: 9:00, 9:45 (to 10:30, across the join at 10:00); two separate hours would give 9:00 and 10:00.
    assert starts(plan([(9, 10), (10, 11)], length=45)) == ["Mon 09:00", "Mon 09:45"]


def test_two_blocked_periods_leave_the_time_between_and_after_them_open():
    blocked = [("blocked", at(MONDAY, 10), at(MONDAY, 11), None), ("blocked", at(MONDAY, 12), at(MONDAY, 13), None)]
    assert starts(plan([(9, 14)], length=60, exceptions=blocked)) == ["Mon 09:00", "Mon 11:00", "Mon 13:00"]


def test_a_blocked_period_ending_as_the_hours_begin_takes_nothing():
    blocked = [("blocked", at(MONDAY, 8), at(MONDAY, 9), None)]
    assert starts(plan([(9, 11)], length=60, exceptions=blocked)) == ["Mon 09:00", "Mon 10:00"]


def test_extra_hours_count_only_inside_the_days_asked_for():
    extras = [("extra", at(MONDAY - timedelta(days=1), 21), at(MONDAY - timedelta(days=1), 23), None),  # Sunday night
              ("extra", at(MONDAY, 22), at(MONDAY + timedelta(days=1), 2), None),  # across midnight
              ("extra", at(MONDAY + timedelta(days=2), 9), at(MONDAY + timedelta(days=2), 10), None)]  # Wednesday
    assert starts(plan([], length=60, exceptions=extras)) == ["Mon 22:00", "Mon 23:00"]
    assert starts(plan([], length=60, exceptions=extras), MONDAY, MONDAY + timedelta(days=1)) == \
        ["Mon 22:00", "Mon 23:00", "Tue 00:00", "Tue 01:00"]


def test_a_booking_that_touches_a_slot_leaves_it_free_and_one_that_overlaps_takes_it():
    slot = Slot(1, at(MONDAY, 10), at(MONDAY, 10, 30), at(MONDAY, 10, 30))
    assert not overlaps_busy(slot, [(at(MONDAY, 9, 30), at(MONDAY, 10), 7)])  # ends as the slot starts
    assert not overlaps_busy(slot, [(at(MONDAY, 10, 30), at(MONDAY, 11), 7)])  # starts as the slot ends
    assert overlaps_busy(slot, [(at(MONDAY, 10, 29), at(MONDAY, 11), 7)])
    assert overlaps_busy(slot, [(at(MONDAY, 9, 30), at(MONDAY, 10, 1), 7)])
    assert not overlaps_busy(slot, [(at(MONDAY, 10), at(MONDAY, 10, 30), 7)], ignore_booking_id=7)  # being moved
    assert overlaps_busy(slot, [(at(MONDAY, 10), at(MONDAY, 10, 30), 7)], ignore_booking_id=8)


def test_bookings_long_before_a_day_do_not_block_it():
    busy = [(at(MONDAY, 9), at(MONDAY, 10), 1), (at(MONDAY, 10), at(MONDAY, 11), 2)]
    weekly = {day: [(time(9), time(11))] for day in (0, 1)}
    two_days = ClinicianPlan(clinician_id=1, length=timedelta(hours=1), weekly=weekly, busy=busy)
    assert starts(two_days, MONDAY, MONDAY + timedelta(days=1)) == ["Tue 09:00", "Tue 10:00"]


def test_the_clinics_midnight_and_date_are_its_own_not_the_servers():
    assert local_midnight(MONDAY, NY) == utc(2030, 6, 3, 4, 0)
    assert local_midnight(date(2030, 12, 2), NY) == utc(2030, 12, 2, 5, 0)
    assert clinic_day(utc(2030, 6, 4, 2, 0), NY) == MONDAY  # 22:00 on Monday in New York
    assert clinic_day(utc(2030, 6, 3, 4, 0), NY) == MONDAY


def test_weeks_start_on_monday_and_day_ranges_include_both_ends():
    assert week_start(date(2030, 6, 5)) == MONDAY
    assert week_start(date(2030, 6, 9)) == MONDAY
    assert days_between(MONDAY, MONDAY + timedelta(days=2)) == [MONDAY, date(2030, 6, 4), date(2030, 6, 5)]
    assert days_between(MONDAY, MONDAY) == [MONDAY]


@pytest.mark.parametrize("text, expected", [
    ("2000-01-01", date(2000, 1, 1)), ("2199-12-31", date(2199, 12, 31)), ("06/03/2030", MONDAY),
    ("1999-12-31", "default"), ("2200-01-01", "default"), ("2030-02-30", "default"), ("", "default"),
])
def test_a_staff_date_filter_reads_real_dates_from_2000_to_2199(text, expected):
    assert parse_day(text, default="default") == expected


# free_slots reads the clinicians from the database.
MONDAY_MORNING = {0: [(time(9), time(11))]}
NOON_SUNDAY = utc(2030, 6, 2, 16, 0)


def test_free_slots_of_the_chosen_clinicians_by_time_then_name(db):
    baker = add_clinician(db.session, name="Dr Baker", hours=MONDAY_MORNING, length=60)
    adams = add_clinician(db.session, name="Dr Adams", hours=MONDAY_MORNING, length=60)
    found = free_slots(db.session, MONDAY, MONDAY, NY, now=LONG_AGO, rules=OPEN_RULES)
    assert [(s.starts_at, s.clinician_id) for s in found] == [
        (at(MONDAY, 9), adams), (at(MONDAY, 9), baker), (at(MONDAY, 10), adams), (at(MONDAY, 10), baker)]
    assert {s.clinician_id for s in free_slots(db.session, MONDAY, MONDAY, NY, now=LONG_AGO, rules=OPEN_RULES,
                                               clinician_ids=[baker])} == {baker}


def test_free_slots_free_the_time_of_the_booking_being_moved(db):
    doctor = add_clinician(db.session, name="Dr Mover", hours=MONDAY_MORNING, length=60)
    booking_id, _token = add_booking(db.session, doctor, at(MONDAY, 9), minutes=60)
    taken = free_slots(db.session, MONDAY, MONDAY, NY, now=LONG_AGO, rules=OPEN_RULES)
    assert [s.starts_at for s in taken] == [at(MONDAY, 10)]
    moving = free_slots(db.session, MONDAY, MONDAY, NY, now=LONG_AGO, rules=OPEN_RULES, ignore_booking_id=booking_id)
    assert [s.starts_at for s in moving] == [at(MONDAY, 9), at(MONDAY, 10)]


def test_free_slots_keep_the_notice_for_patients_and_not_for_staff(db):
    add_clinician(db.session, name="Dr Notice", hours=MONDAY_MORNING, length=60)
    rules = Rules(min_notice=timedelta(hours=22), horizon=timedelta(days=60))  # Sunday noon + 22 h: Monday 10:00
    patients = free_slots(db.session, MONDAY, MONDAY, NY, now=NOON_SUNDAY, rules=rules)
    assert [s.starts_at for s in patients] == [at(MONDAY, 10)]
    staff = free_slots(db.session, MONDAY, MONDAY, NY, now=NOON_SUNDAY, rules=rules, apply_notice=False)
    assert [s.starts_at for s in staff] == [at(MONDAY, 9), at(MONDAY, 10)]


def test_nearest_free_lists_the_five_nearest_times_once_each_in_time_order(db):
    from booking.appointments.availability import nearest_free

    baker = add_clinician(db.session, name="Dr Baker", hours={d: [(time(10), time(12))] for d in range(7)}, length=60)
    adams = add_clinician(db.session, name="Dr Adams", hours={d: [(time(8), time(11))] for d in range(7)}, length=60)
    wednesday = MONDAY + timedelta(days=2)
    found = nearest_free(db.session, at(wednesday, 10), NY, now=LONG_AGO, rules=OPEN_RULES)
    thursday = wednesday + timedelta(days=1)
    assert [(s.starts_at, s.clinician_id) for s in found] == [
        (at(wednesday, 8), adams), (at(wednesday, 9), adams), (at(wednesday, 10), adams), (at(wednesday, 11), baker),
        (at(thursday, 8), adams)]


def test_nearest_free_looks_a_week_either_side_keeps_the_notice_and_frees_the_moved_booking(db):
    from booking.appointments.availability import nearest_free

    doctor = add_clinician(db.session, name="Dr Thursday", hours={3: [(time(10), time(11))]}, length=60)
    wednesday = MONDAY + timedelta(days=2)
    found = nearest_free(db.session, at(wednesday, 10), NY, now=LONG_AGO, rules=OPEN_RULES)
    assert [s.starts_at for s in found] == [at(date(2030, 5, 30), 10), at(date(2030, 6, 6), 10)]  # not 13 June
    booking_id, _token = add_booking(db.session, doctor, at(date(2030, 6, 6), 10), minutes=60)
    assert [s.starts_at for s in nearest_free(db.session, at(wednesday, 10), NY, now=LONG_AGO, rules=OPEN_RULES)] == [
        at(date(2030, 5, 30), 10)]
    assert len(nearest_free(db.session, at(wednesday, 10), NY, now=LONG_AGO, rules=OPEN_RULES,
                            ignore_booking_id=booking_id)) == 2
    soon = Rules(min_notice=timedelta(days=10), horizon=timedelta(days=60))  # from 30 May: only 13 June is far enough
    assert nearest_free(db.session, at(wednesday, 10), NY, now=at(date(2030, 5, 30), 9), rules=soon) == []
    assert len(nearest_free(db.session, at(wednesday, 10), NY, now=at(date(2030, 5, 30), 9), rules=soon,
                            apply_notice=False)) == 1  # staff: 30 May 10:00 (6 June is taken)


def test_the_staff_grid_sees_a_clinician_who_takes_no_bookings_as_such(db):
    from booking.appointments.availability import load_plans

    away = add_clinician(db.session, name="Dr Away", hours=MONDAY_MORNING, accepts=False)
    assert load_plans(db.session, MONDAY, MONDAY, NY) == []
    [plan] = load_plans(db.session, MONDAY, MONDAY, NY, only_bookable=False)
    assert (plan.clinician_id, plan.accepts_bookings) == (away, False)
    assert compute_slots(plan, NY, MONDAY, MONDAY, now=LONG_AGO, rules=OPEN_RULES) == []


def test_a_cancelled_booking_leaves_its_time_free(db):
    doctor = add_clinician(db.session, name="Dr Cancelled", hours=MONDAY_MORNING, length=60)
    add_booking(db.session, doctor, at(MONDAY, 9), minutes=60, status="cancelled")
    add_booking(db.session, doctor, at(MONDAY, 10), minutes=60)
    assert [s.starts_at for s in free_slots(db.session, MONDAY, MONDAY, NY, now=LONG_AGO, rules=OPEN_RULES)] == [
        at(MONDAY, 9)]


def test_one_clinicians_blocked_time_leaves_the_others_free_in_the_whole_clinics_list(db):
    from booking.models import ScheduleException

    blocked = add_clinician(db.session, name="Dr Blocked", hours=MONDAY_MORNING, length=60)
    free = add_clinician(db.session, name="Dr Free", hours=MONDAY_MORNING, length=60)
    db.session.add(ScheduleException(clinician_id=blocked, kind="blocked", starts_at=at(MONDAY, 9),
                                     ends_at=at(MONDAY, 10), note=""))
    db.session.commit()
    found = free_slots(db.session, MONDAY, MONDAY, NY, now=LONG_AGO, rules=OPEN_RULES)
    assert [(s.starts_at, s.clinician_id) for s in found] == [
        (at(MONDAY, 9), free), (at(MONDAY, 10), blocked), (at(MONDAY, 10), free)]


def test_a_weekly_block_starts_on_its_weekday_after_its_first_day_even_when_that_day_is_later_in_the_week():
    from booking.appointments.availability import weekly_blocks

    tuesday = MONDAY + timedelta(days=1)
    blocks = [(0, time(9), time(10), tuesday, MONDAY + timedelta(days=27), "Team meeting")]
    found = weekly_blocks(blocks, NY, MONDAY, MONDAY + timedelta(days=13))
    # Not the Monday before the block's first day, and not a Tuesday: the next Monday, 9 to 10.
    next_monday = MONDAY + timedelta(days=7)
    assert found == [("blocked", at(next_monday, 9), at(next_monday, 10), "Team meeting")]


def test_a_weekly_block_whose_last_day_is_the_first_day_asked_for_still_blocks_it(db):
    from booking.models import RecurringBlock

    doctor = add_clinician(db.session, name="Dr Ending", hours=MONDAY_MORNING, length=60)
    db.session.add(RecurringBlock(clinician_id=doctor, weekday=0, start_time=time(9), end_time=time(10),
                                  first_day=MONDAY - timedelta(days=21), last_day=MONDAY))
    db.session.commit()
    assert [s.starts_at for s in free_slots(db.session, MONDAY, MONDAY, NY, now=LONG_AGO, rules=OPEN_RULES)] == [
        at(MONDAY, 10)]
