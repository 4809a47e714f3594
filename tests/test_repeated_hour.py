"""The repeated hour (issue 11, point 10): on the day clocks go back, 1:00-1:59 AM happens twice.

America/New_York, 2027-11-07: 1:30 AM EDT is 05:30 UTC, 1:30 AM EST is 06:30 UTC. On 2027-03-14
the clocks skip from 2:00 AM EST to 3:00 AM EDT, so 2:30 AM does not exist.
"""

import html
import re
from datetime import date, datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from booking.appointments.web import slot_value
from booking.models import Booking
from booking.schedule.grid import DayPlan, build_grid, row_times
from booking.timeutil import (ClockTimeError, clock_label, clock_text, resolve_clock_time, wall_clock_instant,
                              wall_clock_instants)
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake
from tests.patient_factories import make_patient

FALL_BACK, SPRING_FORWARD, ORDINARY = date(2027, 11, 7), date(2027, 3, 14), date(2027, 11, 8)
FIRST_130 = datetime(2027, 11, 7, 5, 30, tzinfo=timezone.utc)  # 1:30 AM EDT
SECOND_130 = datetime(2027, 11, 7, 6, 30, tzinfo=timezone.utc)  # 1:30 AM EST
NIGHTS = {day: [(time(0), time(4))] for day in range(7)}  # a clinician who works through the change


def text(response):
    """The response body with entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def grid_rows(page):
    """{row label: the row's cells as text} of the schedule grid (the first table with row headers)."""
    table = re.search(r'<table class="grid">(.*?)</table>', page, re.S).group(1)
    rows = {}
    for label, cells in re.findall(r'<tr>\s*<th scope="row">(.*?)</th>(.*?)</tr>', table, re.S):
        assert label not in rows, f"two rows read {label}"
        rows[label] = " ".join(re.sub(r"<[^>]+>", " ", cells).split())
    return rows


# --- the rule, without an app ---------------------------------------------------------------------------

def test_a_repeated_time_names_both_instants_and_an_ordinary_one_names_one():
    assert wall_clock_instants(FALL_BACK, time(1, 30), ZONE) == [FIRST_130, SECOND_130]
    assert wall_clock_instants(ORDINARY, time(1, 30), ZONE) == [datetime(2027, 11, 8, 6, 30, tzinfo=timezone.utc)]
    assert wall_clock_instant(ORDINARY, time(1, 30), ZONE, fold=1) is None  # no second 1:30 that day
    assert wall_clock_instants(SPRING_FORWARD, time(2, 30), ZONE) == []


def test_resolving_a_typed_time():
    assert resolve_clock_time(FALL_BACK, time(1, 30), ZONE, "0") == FIRST_130
    assert resolve_clock_time(FALL_BACK, time(1, 30), ZONE, "1") == SECOND_130
    assert resolve_clock_time(FALL_BACK, time(3, 0), ZONE) == datetime(2027, 11, 7, 8, 0, tzinfo=timezone.utc)
    with pytest.raises(ClockTimeError) as asked:
        resolve_clock_time(FALL_BACK, time(1, 30), ZONE)
    assert asked.value.choices == [("0", "1:30 AM EDT (first)"), ("1", "1:30 AM EST (second)")]
    assert "the clocks go back from 2:00 AM EDT to 1:00 AM EST" in asked.value.message
    with pytest.raises(ClockTimeError) as skipped:
        resolve_clock_time(SPRING_FORWARD, time(2, 30), ZONE, "0")
    assert skipped.value.message == ("There is no 2:30 AM on Sunday 14 March 2027: the clocks go forward from "
                                     "2:00 AM EST to 3:00 AM EDT. Choose a time outside the skipped hour.")


def test_labels_carry_the_abbreviation_only_on_a_day_the_clocks_change():
    assert clock_label(FIRST_130, ZONE) == "1:30 AM EDT" and clock_label(SECOND_130, ZONE) == "1:30 AM EST"
    assert clock_text(SECOND_130, ZONE) == "01:30 EST"
    ordinary = datetime(2027, 11, 8, 15, 0, tzinfo=timezone.utc)
    assert clock_label(ordinary, ZONE) == "10:00 AM" and clock_text(ordinary, ZONE) == "10:00"


class _Booking:
    """Just what the grid reads of a booking."""

    def __init__(self, starts_at, booking_id):
        self.starts_at, self.ends_at, self.busy_until, self.id = starts_at, starts_at + timedelta(minutes=30), \
            starts_at + timedelta(minutes=30), booking_id


def test_the_week_grid_gives_the_second_run_its_own_rows_and_marks_times_a_day_lacks():
    days = [FALL_BACK - timedelta(days=6) + timedelta(days=n) for n in range(7)]
    plans = [DayPlan(open=[(wall_clock_instant(day, time(1), ZONE), wall_clock_instant(day, time(3), ZONE))],
                     exceptions=[], bookings=[_Booking(SECOND_130, 7)] if day == FALL_BACK else [], slot_starts={})
             for day in days]
    columns = [(str(day), day, plan, 1) for day, plan in zip(days, plans)]
    rows = build_grid(columns, row_times(plans, days, ZONE), datetime(2026, 1, 1, tzinfo=timezone.utc), ZONE)
    labels = [label for label, _cells in rows]
    assert labels[:9] == ["1:00 AM EDT", "1:15 AM EDT", "1:30 AM EDT", "1:45 AM EDT", "1:00 AM EST", "1:15 AM EST",
                          "1:30 AM EST", "1:45 AM EST", "2:00 AM"]  # unrepeated rows span both offsets: no name
    second = dict(rows)["1:30 AM EST"]
    assert [cell.state for cell in second] == ["none"] * 6 + ["booked"]  # only Sunday has a second 1:30
    assert second[-1].booking.id == 7 and dict(rows)["1:30 AM EDT"][-1].state == "free"


# --- the pages ------------------------------------------------------------------------------------------

@pytest.fixture
def app(make_app):
    """The test app with a horizon that reaches the autumn of 2027."""
    return make_app(BOOKING_HORIZON_DAYS=730)


@pytest.fixture
def night(app, db, make_staff, login):
    """A clinician working 00:00-04:00 every day, a signed-in receptionist and two patients."""
    doctor = add_clinician(db.session, name="Dr Nadia Night", hours=NIGHTS)
    login(make_staff("receptionist"))
    first = make_patient(db.session, name="First Caller", phone="555 0101", email="first@example.org").id
    second = make_patient(db.session, name="Second Caller", phone="555 0102", email="second@example.org").id
    db.session.commit()
    return {"doctor": doctor, "first": first, "second": second}


def book(client, night, day=FALL_BACK, at="01:30", patient="second", **extra):
    """POST the phone booking form."""
    return client.post("/staff/schedule/book", data={"clinician": str(night["doctor"]), "date": day.isoformat(),
                                                     "time": at, "patient": str(night[patient]), **extra})


def test_typing_a_repeated_time_asks_which_one_and_keeps_the_form(client, db, night):
    response = book(client, night)
    page = text(response)
    assert response.status_code == 400 and db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
    assert "1:30 AM on Sunday 7 November 2027 happens twice: the clocks go back from 2:00 AM EDT to 1:00 AM EST." \
        in page
    assert re.search(r'<legend>Which 1:30 AM\?</legend>', page)
    assert re.search(r'<input[^>]*name="fold"[^>]*value="0"[^>]*> <label[^>]*>1:30 AM EDT \(first\)</label>', page)
    assert re.search(r'<input[^>]*name="fold"[^>]*value="1"[^>]*> <label[^>]*>1:30 AM EST \(second\)</label>', page)
    assert re.search(r'name="date"[^>]*value="2027-11-07"', page) and re.search(r'name="time"[^>]*value="01:30"', page)


def test_choosing_est_books_the_second_130_although_the_first_is_taken(client, db, night):
    add_booking(db.session, night["doctor"], FIRST_130, patient_id=night["first"], source="phone")
    response = book(client, night, fold="1")
    assert response.status_code == 302, text(response)[:800]
    booked = db.session.scalars(sa.select(Booking).where(Booking.patient_id == night["second"])).one()
    assert booked.starts_at == SECOND_130
    assert "1:30 AM EST" in text(client.get(response.headers["Location"]))  # its page says which one
    # The first 1:30 is the one the other patient has: choosing it says so.
    refused = text(book(client, night, patient="first", fold="0"))
    assert "already" in refused and "1:30" in refused


def test_the_grid_shows_both_bookings_in_rows_labelled_edt_and_est(client, db, night):
    add_booking(db.session, night["doctor"], FIRST_130, patient_id=night["first"])
    add_booking(db.session, night["doctor"], SECOND_130, patient_id=night["second"])
    page = text(client.get(f"/staff/schedule?date={FALL_BACK.isoformat()}&view=day"))
    rows = grid_rows(page)
    assert "First Caller" in rows["1:30 AM EDT"] and "Second Caller" not in rows["1:30 AM EDT"]
    assert "Second Caller" in rows["1:30 AM EST"] and "First Caller" not in rows["1:30 AM EST"]
    assert "continued" in rows["1:45 AM EST"] and "Free" in rows["1:00 AM EST"]
    assert all(label.endswith((" EDT", " EST")) for label in rows)  # every row of that day names its offset
    day_list = page.split('id="day-list"', 1)[1]
    # The first ends as the clocks go back: at 1:00 AM EST, not 2:00 AM EDT.
    assert "1:30 AM EDT–1:00 AM EST" in day_list and "1:30 AM EST–2:00 AM EST" in day_list
    export = text(client.get(f"/staff/schedule/export?from={FALL_BACK.isoformat()}&to={FALL_BACK.isoformat()}"))
    assert ",2027-11-07,01:30 EDT,01:00 EST," in export and ",2027-11-07,01:30 EST,02:00 EST," in export
    week = text(client.get(f"/staff/schedule?date={FALL_BACK.isoformat()}&view=week&clinician={night['doctor']}"))
    week_rows = grid_rows(week)
    assert "Second Caller" in week_rows["1:30 AM EST"] and "First Caller" in week_rows["1:30 AM EDT"]


def test_an_ordinary_days_labels_have_no_abbreviation(client, db, night):
    add_booking(db.session, night["doctor"], datetime(2027, 11, 8, 6, 30, tzinfo=timezone.utc),
                patient_id=night["first"])
    page = text(client.get(f"/staff/schedule?date={ORDINARY.isoformat()}&view=day"))
    rows = grid_rows(page)
    assert "First Caller" in rows["1:30 AM"] and "12:00 AM" in rows and "3:45 AM" in rows
    assert not any(re.search(r"E[SD]T", label) for label in rows)
    assert "1:30 AM–2:00 AM" in page.split('id="day-list"', 1)[1]


def test_the_spring_gap_is_refused_in_words(client, db, night):
    response = book(client, night, day=SPRING_FORWARD, at="02:30")
    page = text(response)
    assert response.status_code == 400 and db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0
    assert ("There is no 2:30 AM on Sunday 14 March 2027: the clocks go forward from 2:00 AM EST to 3:00 AM EDT."
            in page)
    assert 'name="fold"' not in page


def test_a_tampered_choice_gets_a_clear_message_not_a_500(client, db, night):
    for tampered in ("7", "EST", "-1", "0" * 50):
        response = book(client, night, fold=tampered)
        assert response.status_code == 400
        assert "Choose one of the two times listed: 1:30 AM EDT (first) or 1:30 AM EST (second)." in text(response)
    assert db.session.scalar(sa.select(sa.func.count(Booking.id))) == 0


def test_a_grid_link_to_the_second_130_keeps_it_the_second(client, db, night):
    page = text(client.get(f"/staff/schedule/book?patient={night['second']}&clinician={night['doctor']}"
                           f"&start={slot_value(SECOND_130)}"))
    assert re.search(r'<input[^>]*checked[^>]*name="fold"[^>]*value="1"|<input[^>]*name="fold"[^>]*value="1"[^>]*'
                     r'checked', page)


def test_moving_a_booking_to_the_second_130(client, db, night):
    add_booking(db.session, night["doctor"], FIRST_130, patient_id=night["first"])
    moving, _ = add_booking(db.session, night["doctor"], datetime(2027, 11, 7, 8, 0, tzinfo=timezone.utc),
                            patient_id=night["second"])
    form = {"clinician": str(night["doctor"]), "date": FALL_BACK.isoformat(), "time": "01:30"}
    asked = client.post(f"/staff/schedule/booking/{moving}/move", data=form)
    assert asked.status_code == 400 and "happens twice" in text(asked)
    moved = client.post(f"/staff/schedule/booking/{moving}/move", data={**form, "fold": "1"})
    assert moved.status_code == 302, text(moved)[:800]
    assert db.session.get(Booking, moving).starts_at == SECOND_130


def test_the_patient_week_lists_both_130s_apart(app, client, db):
    add_clinician(db.session, name="Dr Nadia Night", hours=NIGHTS)
    _intake, token = add_intake(db.session, app.config)
    assert client.get(f"/book/start/{token}").status_code == 302
    page = text(client.get(f"/book/?week={(FALL_BACK - timedelta(days=6)).isoformat()}"))
    sunday = page.split("Sunday 7 November", 1)[1]
    assert "1:30 AM EDT" in sunday and "1:30 AM EST" in sunday
    assert slot_value(FIRST_130) in sunday and slot_value(SECOND_130) in sunday
    assert "1:30 AM EDT" not in page.split("Sunday 7 November", 1)[0]  # Saturday's 1:30 is an ordinary one


def test_the_spring_day_grid_skips_the_missing_hour():
    day = SPRING_FORWARD
    plan = DayPlan(open=[(wall_clock_instant(day, time(1), ZONE), wall_clock_instant(day, time(4), ZONE))],
                   exceptions=[], bookings=[], slot_starts={})
    rows = build_grid([("A", day, plan, 1)], row_times([plan], [day], ZONE), datetime(2026, 1, 1, tzinfo=timezone.utc),
                      ZONE)
    labels = [label for label, _cells in rows]
    assert labels[3:5] == ["1:45 AM EST", "3:00 AM EDT"] and len(labels) == 8


def add_block(client, night, first_time, last_time, day=FALL_BACK):
    """POST a blocked period for the night clinician on `day`."""
    return client.post("/staff/schedule/hours/exceptions", data={
        "clinician": str(night["doctor"]), "applies_to": "clinician", "kind": "blocked",
        "first_day": day.isoformat(), "first_time": first_time, "last_day": day.isoformat(),
        "last_time": last_time, "note": "Night off"})


def test_a_block_typed_across_the_repeated_hour_covers_both_runs_of_it(client, db, night):
    from booking.models import ScheduleException

    add_booking(db.session, night["doctor"], SECOND_130, patient_id=night["second"])
    response = add_block(client, night, "01:00", "01:59")
    assert response.status_code == 302
    block = db.session.scalars(sa.select(ScheduleException)).one()
    # From the first 1:00 AM (EDT) to the second 1:59 AM (EST): two real hours less a minute.
    assert block.starts_at == FIRST_130 - timedelta(minutes=30)
    assert block.ends_at == SECOND_130 + timedelta(minutes=29)
    assert "Second Caller" in text(client.get(response.location))  # the booking in the second run is named


def test_a_block_typed_in_the_spring_gap_is_refused_in_words(client, db, night):
    from booking.models import ScheduleException

    response = add_block(client, night, "02:30", "03:30", day=SPRING_FORWARD)
    assert response.status_code == 400
    page = text(response)
    assert "There is no 2:30 AM on Sunday 14 March 2027" in page
    assert re.search(r'name="first_time"[^>]*value="02:30"', page)  # what was typed stays
    assert db.session.scalar(sa.select(sa.func.count(ScheduleException.id))) == 0
