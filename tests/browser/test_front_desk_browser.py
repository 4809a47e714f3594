"""A receptionist's day in the browser: a walk-in booked now, arrived, completed, and the print view
of a normal day on one page (Chromium's PDF page count), with axe on the pages.
Checks wait with Playwright's `expect`, never for a time."""

import re
from datetime import time, timedelta

from playwright.sync_api import expect

from booking.appointments.availability import clinic_day, local_instant, local_midnight
from booking.extensions import db as _db
from booking.models import ScheduleException
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import create_staff_user
from tests.patient_factories import make_patient

WORKING_DAY = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}


def pdf_pages(pdf):
    """The number of pages in a PDF Chromium printed."""
    return len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))


def test_a_walk_in_arrives_and_completes(page, live_server):
    app = live_server.app
    with app.app_context():
        # Open from this midnight to the next (weekly hours cannot reach midnight; from 23:30 to
        # 24:00 clinic time, hours to 23:30 left no time running now, and the test failed then).
        walker = add_clinician(_db.session, name="Dr Wanda Walker", hours={})
        today = clinic_day(utcnow(), ZONE)
        _db.session.add(ScheduleException(clinician_id=walker, kind="extra", starts_at=local_midnight(today, ZONE),
                                          ends_at=local_midnight(today + timedelta(days=1), ZONE)))
        patient = make_patient(_db.session, name="Walt Walkin", phone="555 0111", email="walt@example.org")
        receptionist = create_staff_user(_db.session, "receptionist")
        _db.session.commit()
        patient_id = patient.id
    sign_in(page, receptionist)
    page.goto(f"/staff/schedule/book?patient={patient_id}")
    assert_accessible(page)
    page.get_by_role("button", name="Book now").click()
    expect(page).to_have_url(re.compile(r"/staff/schedule/booking/\d+"))
    expect(page.get_by_role("status")).to_contain_text("Booked Walt Walkin now")
    page.goto("/staff/schedule")
    assert_accessible(page)
    day_list = page.locator(".day-list-section")
    with page.expect_navigation():
        day_list.locator("button", has_text="Arrived").click()
    expect(day_list.locator(".badge")).to_contain_text("Arrived")
    with page.expect_navigation():
        day_list.locator("button", has_text="Completed").click()
    expect(day_list.locator(".badge")).to_have_text("Completed")
    page.goto("/staff/schedule?view=week")
    expect(page.locator("table.grid--compact")).to_have_count(1)
    assert_accessible(page)


def test_the_print_view_of_a_normal_day_is_one_page(page, live_server):
    app = live_server.app
    with app.app_context():
        clinicians = [add_clinician(_db.session, name=f"Dr Print {n}", hours=WORKING_DAY) for n in (1, 2)]
        # Yesterday, whose consultations have all started, so each row offers "Arrived" whatever the
        # hour (today's, from 9:00, offered none before 8:30 and the test failed from midnight on).
        day = clinic_day(utcnow(), ZONE) - timedelta(days=1)
        for index, hour in enumerate((9, 10, 11, 13, 14, 15, 16)):
            for clinician in clinicians:
                patient = make_patient(_db.session, name=f"Printed Patient {clinician}-{index}",
                                       phone=f"555 01{index}{clinician}", email="p@example.org")
                _db.session.commit()
                add_booking(_db.session, clinician, local_instant(day, time(hour), ZONE), patient_id=patient.id)
        receptionist = create_staff_user(_db.session, "receptionist")
        _db.session.commit()
    sign_in(page, receptionist)
    page.goto(f"/staff/schedule?date={day.isoformat()}")
    arrived = page.locator(".day-list-section button", has_text="Arrived").first
    expect(arrived).to_be_visible()  # on screen, so hiding it below is the print style's doing
    page.emulate_media(media="print")
    expect(arrived).to_be_hidden()
    printed = page.locator(".day-list-section")
    for text in ("Printed Patient", "555 01", "Booked"):
        expect(printed).to_contain_text(text)
    assert pdf_pages(page.pdf(format="Letter")) == 1
