"""The schedule at a glance: rows only for worked hours, today's numbers, phones in the day list, print rules."""

import html
import re
from datetime import time, timedelta
from pathlib import Path

import pytest

from booking.appointments.availability import clinic_day, local_instant
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician
from tests.patient_factories import make_patient
from tests.test_booking_staff import grid_cells, grid_heads

MORNINGS = {day: [(time(9), time(12))] for day in range(5)}  # weekdays only
CSS = Path(__file__).resolve().parent.parent / "booking" / "static" / "css" / "booking.css"


@pytest.fixture
def desk(db, make_staff, login):
    clinician = add_clinician(db.session, name="Dr Mona Morning", hours=MORNINGS)
    login(make_staff("receptionist"))
    today = clinic_day(utcnow(), ZONE)
    weekday = today + timedelta(days=(7 - today.weekday()) % 7 + 1)  # a Tuesday ahead
    return {"clinician": clinician, "weekday": weekday, "sunday": weekday + timedelta(days=5)}


def page_of(client, day):
    return html.unescape(client.get(f"/staff/schedule?date={day.isoformat()}").get_data(as_text=True))


def test_rows_cover_only_the_hours_someone_works(client, desk):
    cells = grid_cells(page_of(client, desk["weekday"]))
    rows = sorted({wall for wall, _column in cells}, key=lambda wall: time.fromisoformat(
        f"{int(wall.split(':')[0]) % 12 + (12 if 'PM' in wall else 0):02d}:{wall.split(':')[1][:2]}"))
    assert rows[0] == "9:00 AM" and rows[-1] == "11:45 AM" and len(rows) == 12


def test_a_day_nobody_works_has_no_grid_rows(client, desk):
    page = page_of(client, desk["sunday"])
    assert '<table class="grid">' not in page
    assert "nobody works and nothing is booked" in page


def test_the_line_of_the_days_numbers(client, db, desk):
    day, clinician = desk["weekday"], desk["clinician"]
    at = lambda hour, minute=0: local_instant(day, time(hour, minute), ZONE)  # noqa: E731
    add_booking(db.session, clinician, at(9), status="booked")
    add_booking(db.session, clinician, at(9, 30), status="arrived")
    add_booking(db.session, clinician, at(10), status="completed")
    add_booking(db.session, clinician, at(10, 30), status="no_show")
    add_booking(db.session, clinician, at(11), status="cancelled")  # frees its time: counted as free
    page = page_of(client, day)
    line = re.search(r'<p class="day-numbers" id="day-numbers">(.*?)</p>', page, re.S).group(1)
    # 9:00-12:00 is six starts; four are held, 11:00 and 11:30 are free.
    assert line.endswith("Booked 1 · Arrived 1 · Completed 1 · No-show 1 · Free 2")


def test_the_day_list_shows_phone_numbers(client, db, desk):
    patient = make_patient(db.session, name="Pia Phone", phone="555 0177", email="pia@example.org")
    db.session.commit()
    add_booking(db.session, desk["clinician"], local_instant(desk["weekday"], time(9), ZONE), patient_id=patient.id)
    page = page_of(client, desk["weekday"])
    assert '<td class="patient-phone">555 0177</td>' in page


def test_not_working_has_its_own_pattern_and_print_hides_controls():
    css = CSS.read_text()
    off = re.search(r"\.cell--off \{([^}]*)\}", css).group(1)
    free = re.search(r"\.cell--free \{([^}]*)\}", css).group(1)
    assert "gradient" in off and off != free  # a pattern, not white like Free
    printing = css[css.index("@media print"):]
    assert ".no-print" in printing and "form" in printing and ".schedule-grids" in printing


def test_the_all_clinician_week_is_one_compact_table(client, db, desk):
    add_clinician(db.session, name="Dr Otto Other", hours=MORNINGS)
    booking_id, _ = add_booking(db.session, desk["clinician"], local_instant(desk["weekday"], time(9, 30), ZONE),
                                name="Wes Week")
    page = html.unescape(client.get(f"/staff/schedule?date={desk['weekday'].isoformat()}&view=week")
                         .get_data(as_text=True))
    assert '<table class="grid">' not in page  # not a tall grid per clinician
    compact = page[page.index('<table class="grid grid--compact">'):]
    compact = compact[:compact.index("</table>")]
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', compact, re.S))
    assert set(rows) == {"Dr Mona Morning", "Dr Otto Other"}
    days = re.findall(r'<td class="compact-day">(.*?)</td>', rows["Dr Mona Morning"], re.S)
    tuesday = days[desk["weekday"].weekday()]
    assert f'<a href="/staff/schedule/booking/{booking_id}">9:30 AM Wes Week</a>' in tuesday
    assert "Booked" in tuesday and "5 free" in tuesday
    assert "0 free" in days[6]  # Sunday: not working


def test_the_all_clinician_day_shows_a_page_of_clinicians_at_a_time(app, client, db, desk):
    app.config["SCHEDULE_DAY_COLUMNS"] = 2
    day = desk["weekday"]
    nadia = add_clinician(db.session, name="Dr Nadia North", hours=MORNINGS)
    add_clinician(db.session, name="Dr Lee Late", hours=MORNINGS)
    add_booking(db.session, desk["clinician"], local_instant(day, time(9), ZONE), name="Mona's Patient")
    add_booking(db.session, nadia, local_instant(day, time(10), ZONE), name="Nadia's Patient")
    first = page_of(client, day)
    assert grid_heads(first) == ["Dr Lee Late", "Dr Mona Morning"]  # by name, two at a time
    assert "Clinicians 1–2 of 3" in first and "Mona's Patient" in first and "Nadia's Patient" not in first
    second = html.unescape(client.get(f"/staff/schedule?date={day.isoformat()}&page=2").get_data(as_text=True))
    assert grid_heads(second) == ["Dr Nadia North"]
    day_list = second[second.index('id="day-list"'):]
    assert "Nadia's Patient" in day_list and "Mona's Patient" not in day_list
    assert re.search(r'href="[^"]*page=2[^"]*" aria-current="page">3–3<', second)
    for nonsense in ("0", "99", "abc", "-1", "9" * 30):  # any other page: the first, never an error
        response = client.get(f"/staff/schedule?date={day.isoformat()}&page={nonsense}")
        assert response.status_code == 200 and grid_heads(html.unescape(response.get_data(as_text=True))) == \
            ["Dr Lee Late", "Dr Mona Morning"]


def test_one_clinician_and_small_clinics_are_not_paged(app, client, db, desk):
    add_clinician(db.session, name="Dr Nadia North", hours=MORNINGS)
    page = page_of(client, desk["weekday"])
    assert grid_heads(page) == ["Dr Mona Morning", "Dr Nadia North"] and "Clinicians 1–" not in page


class _Held:
    """A booking as plan_day reads it."""

    def __init__(self, starts_at, minutes=30, booking_id=1):
        self.starts_at, self.id = starts_at, booking_id
        self.ends_at = self.busy_until = starts_at + timedelta(minutes=minutes)


def test_a_days_last_free_time_is_not_offered_when_its_buffer_runs_into_a_booking_after_midnight():
    """plan_day keeps only the bookings a day's cells need, and those include the next morning's
    first minutes, which the buffer of the day's last consultation still covers."""
    from booking.appointments.availability import ClinicianPlan
    from booking.schedule.grid import plan_day

    day = clinic_day(utcnow(), ZONE) + timedelta(days=10)
    plan = ClinicianPlan(clinician_id=1, length=timedelta(minutes=30), buffer=timedelta(minutes=45),
                         weekly={day.weekday(): [(time(22), time(23, 59))]})
    last = local_instant(day, time(23, 15), ZONE)  # 23:15-23:45, its buffer until 00:30
    assert last in plan_day(plan, [], day, ZONE).slot_starts
    after_midnight = _Held(local_instant(day + timedelta(days=1), time(0, 15), ZONE))
    unrelated = _Held(local_instant(day + timedelta(days=3), time(9), ZONE), booking_id=2)
    planned = plan_day(plan, [after_midnight, unrelated], day, ZONE)
    assert last not in planned.slot_starts and local_instant(day, time(22), ZONE) in planned.slot_starts
    assert planned.bookings == [after_midnight]  # a week's other bookings are not walked by every cell
