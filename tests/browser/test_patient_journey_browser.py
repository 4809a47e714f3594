"""The patient record in a real browser: the receptionist searches from the staff header, opens
the patient and books by phone; the clinician goes from the day list to the questionnaire.
Every new page passes axe; checks wait with Playwright's `expect`, never for a time."""

import re
from datetime import time

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.extensions import db
from booking.models import Booking
from tests.booking_factories import add_clinician
from tests.browser.conftest import assert_accessible, save_step_screenshot, sign_in
from tests.factories import create_staff_user
from tests.intake_factories import create_intake

EVERY_DAY = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}


def test_reception_finds_and_books_a_patient_and_the_clinician_opens_the_questionnaire(
        page, playwright_browser, live_server):
    app = live_server.app
    with app.app_context():
        clinician = create_staff_user(db.session, "clinician", name="Dr Alice Adams")  # kept: it signs in below
        clinician_id = add_clinician(db.session, hours=EVERY_DAY, user=clinician)
        intake_id = create_intake(db.session, app.config).id  # Jordan Example, 555 010 0199
        reception = create_staff_user(db.session, "receptionist")
    sign_in(page, reception)

    # The search box in the staff header, used from the keyboard.
    page.get_by_role("searchbox", name="Find a patient").focus()
    page.keyboard.type("(555) 010-0199")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/staff/patients\?q="))
    expect(page.get_by_role("heading", name="1 patient found")).to_be_visible()
    assert_accessible(page)
    save_step_screenshot(page, "patients-1-search")
    page.get_by_role("link", name="Jordan Example").click()
    expect(page.locator(".questionnaire-state")).to_have_text("received")
    main = page.locator("main")
    expect(main).not_to_contain_text("PHQ")  # the record page is there (above), and holds no health data
    expect(main).not_to_contain_text("Urgent")
    assert_accessible(page)
    save_step_screenshot(page, "patients-2-record")

    page.get_by_role("link", name="Book a consultation by phone").click()
    expect(page.get_by_text("Patient: Jordan Example")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Clinician", exact=True).select_option(str(clinician_id))
    with app.app_context():
        from booking.appointments.availability import clinic_day
        from booking.timeutil import utcnow
        from datetime import timedelta
        day = clinic_day(utcnow(), "America/New_York") + timedelta(days=2)
    page.get_by_label("Date (YYYY-MM-DD)").fill(day.isoformat())
    page.get_by_label("Time (HH:MM, 24-hour, clinic time)").fill("10:00")
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.get_by_role("heading", name="Booking: Jordan Example")).to_be_visible()
    save_step_screenshot(page, "patients-3-booked")
    with app.app_context():
        assert db.session.scalars(sa.select(Booking.source)).all() == ["phone"]

    # The clinician's day list leads to the questionnaire (and that view is audited).
    doctor = playwright_browser.new_context(base_url=live_server.url).new_page()
    sign_in(doctor, clinician)
    doctor.goto(f"/staff/schedule?date={day.isoformat()}")
    day_list = doctor.get_by_role("table", name=re.compile("^Bookings on"))
    expect(day_list).to_be_visible()
    assert_accessible(doctor)
    save_step_screenshot(doctor, "patients-4-day-list")
    day_list.get_by_role("link", name=re.compile("^Open the questionnaire")).click()
    expect(doctor).to_have_url(re.compile(f"/staff/intakes/{intake_id}$"))
    with app.app_context():
        from booking.models import AuditEvent
        assert db.session.scalar(sa.select(AuditEvent.target_id).where(AuditEvent.action == "view_intake")) == \
            str(intake_id)
    doctor.context.close()


def test_new_patient_page_is_accessible(page, live_server):
    with live_server.app.app_context():
        reception = create_staff_user(db.session, "receptionist")
    sign_in(page, reception)
    page.goto("/staff/patients/new")
    page.get_by_role("button", name="Create record").click()  # errors shown, still accessible
    expect(page.get_by_text("Enter the patient's name.").first).to_be_visible()
    assert_accessible(page)
