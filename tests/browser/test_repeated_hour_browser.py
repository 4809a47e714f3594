"""The repeated hour in the browser: a receptionist types 1:30 AM on the day clocks go back, is asked
which one, chooses the second, and finds both 1:30 bookings on the day's grid (axe on each page)."""

import re
from datetime import datetime, time, timezone

import pytest
from playwright.sync_api import expect

from booking.extensions import db as _db
from tests.booking_factories import add_booking, add_clinician
from tests.browser.conftest import LiveServer, assert_accessible, sign_in
from tests.factories import create_staff_user
from tests.patient_factories import make_patient

NIGHTS = {day: [(time(0), time(4))] for day in range(7)}
FIRST_130 = datetime(2027, 11, 7, 5, 30, tzinfo=timezone.utc)  # 1:30 AM EDT


@pytest.fixture
def live_server(make_app):
    """The live server, with a horizon that reaches 7 November 2027."""
    server = LiveServer(make_app(BOOKING_HORIZON_DAYS=730)).start()
    yield server
    server.stop()


def test_a_receptionist_books_the_second_130(page, live_server):
    with live_server.app.app_context():
        doctor = add_clinician(_db.session, name="Dr Nadia Night", hours=NIGHTS)
        first = make_patient(_db.session, name="First Caller", phone="555 0101", email="first@example.org")
        second = make_patient(_db.session, name="Second Caller", phone="555 0102", email="second@example.org")
        receptionist = create_staff_user(_db.session, "receptionist")
        _db.session.commit()
        add_booking(_db.session, doctor, FIRST_130, patient_id=first.id)
        second_id = second.id
    sign_in(page, receptionist)
    page.goto(f"/staff/schedule/book?patient={second_id}")
    page.get_by_label("Clinician", exact=True).select_option(label="Dr Nadia Night")
    page.get_by_label("Date (YYYY-MM-DD)").fill("2027-11-07")
    page.get_by_label(re.compile(r"^Time \(HH:MM")).fill("01:30")
    page.get_by_role("button", name="Book", exact=True).click()
    question = page.get_by_role("group", name="Which 1:30 AM?")
    expect(question).to_be_visible()
    expect(page.locator("#error-summary")).to_contain_text("happens twice")
    expect(page.get_by_label("Date (YYYY-MM-DD)")).to_have_value("2027-11-07")  # what was typed stays
    assert_accessible(page)
    question.get_by_label("1:30 AM EST (second)").check()
    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("body")).to_contain_text("Booked Second Caller with Dr Nadia Night")
    expect(page.locator("body")).to_contain_text("1:30 AM EST")
    page.goto("/staff/schedule?date=2027-11-07")
    grid = page.locator("table.grid")
    expect(grid.locator("tr", has=page.locator("th", has_text="1:30 AM EDT"))).to_contain_text("First Caller")
    expect(grid.locator("tr", has=page.locator("th", has_text="1:30 AM EST"))).to_contain_text("Second Caller")
    assert_accessible(page)
