"""Staff pages name the clinic's zone, and a patient's own, as people say them (issue 12):
"Eastern Time (New York)", never the raw IANA name "America/New_York"."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import clinic_day
from booking.models import Booking
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake

CLINIC = "Eastern Time (New York)"
RAW = ("America/New_York", "America/New York")

# page -> the element whose text names the zone (every staff page that names it).
PAGES = {
    "/staff/schedule?date={day}": r'<p class="muted">Times are in ([^.<]*)\.',
    "/staff/schedule/booking/{booking_id}": r'<p class="muted">Times in ([^.<]*)\.</p>',
    "/staff/schedule/hours": r'<h2 id="weekly">Weekly hours \(([^)]*\))\)</h2>',
    "/staff/schedule/book?patient={patient_id}": r'Clinic time \(([^)]*\))\), for example 14:30',
    "/staff/intakes": r"<caption>Intakes \(times in ([^)]*\))\)</caption>",
    "/staff/admin/audit": r"<caption>Events, newest first \(times in ([^)]*\))\)</caption>",
    "/staff/outbox": r"<caption>Messages not yet sent \(times in ([^;]*);",
    "/staff/calendar": r"Dates in the clinic's time zone \(([^)]*\))\)",
}


@pytest.fixture
def admin_client(app, make_staff, login):
    client = app.test_client()
    login(make_staff("admin"), test_client=client)
    return client


@pytest.fixture
def booking_from_london(app, db):
    """A booking made from London, tomorrow (a patient's zone that differs from the clinic's)."""
    clinician = add_clinician(db.session, name="Dr Alice Adams")
    intake_id, _token = add_intake(db.session, app.config)
    starts_at = (utcnow() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    booking_id, _manage = add_booking(db.session, clinician, starts_at, intake_id=intake_id)
    db.session.execute(sa.update(Booking).where(Booking.id == booking_id).values(patient_timezone="Europe/London"))
    db.session.commit()
    return booking_id, clinic_day(starts_at, ZONE), db.session.get(Booking, booking_id).patient_id


@pytest.mark.parametrize("path", PAGES)
def test_every_staff_page_names_the_clinic_zone_as_people_say_it(admin_client, booking_from_london, path):
    booking_id, day, patient_id = booking_from_london
    response = admin_client.get(path.format(booking_id=booking_id, day=day.isoformat(), patient_id=patient_id))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    named = re.search(PAGES[path], page)
    assert named is not None, page
    assert named.group(1) == CLINIC
    for raw in RAW:
        assert raw not in page


def test_the_booking_page_names_the_patients_own_zone(admin_client, booking_from_london):
    booking_id, _day, _patient = booking_from_london
    page = admin_client.get(f"/staff/schedule/booking/{booking_id}").get_data(as_text=True)
    theirs = re.search(r"Patient's time: ([^<]*)<", page).group(1)
    assert theirs.endswith("UK Time (London)")
    assert "Europe/London" not in page and "Europe/London".replace("_", " ") not in page
