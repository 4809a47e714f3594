"""Booking in a real browser: book after an intake, manage, reschedule, cancel, while the
receptionist watches the day view; a phone booking and an arrival; booking with JavaScript off.

Every check waits for what a person would wait for (Playwright's `expect` retries until the
element or text appears), never for a fixed time: `is_visible()` and `inner_text()` read the
page as it is at that instant, which on a busy machine may still be the previous page, so no
test here uses them."""

import re
from datetime import time

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.appointments.availability import clinic_day
from booking.extensions import db
from booking.models import Booking
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake, earlier_today
from tests.browser.conftest import assert_accessible, save_step_screenshot, sign_in
from tests.browser.intake_pages import complete_intake
from tests.factories import create_staff_user
from tests.intake_factories import answers_with

EVERY_DAY = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}


def setup_clinic(app):
    """A clinician open every day, a patient's submitted intake, a receptionist, and a booking now."""
    with app.app_context():
        clinician = add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
        _intake, token = add_intake(db.session, app.config, contact={"name": "Pat Browser",
                                                                     "email": "pat@example.org", "phone": ""})
        reception = create_staff_user(db.session, "receptionist")
        add_booking(db.session, clinician, earlier_today(10), name="Walk In Today", source="phone")
    return clinician, token, reception


def booking_day(app):
    """The clinic date of the (only) online booking."""
    with app.app_context():
        booking = db.session.scalars(sa.select(Booking).where(Booking.source == "online")).unique().one()
        return clinic_day(booking.starts_at, ZONE).isoformat(), booking


def test_book_manage_reschedule_cancel_and_reception_follows(page, playwright_browser, live_server):
    app = live_server.app
    clinician, _token, reception = setup_clinic(app)  # this patient starts from a fresh intake
    desk = playwright_browser.new_context(base_url=live_server.url).new_page()
    sign_in(desk, reception)

    # The patient fills in the health questionnaire, then follows its "Book a consultation" button.
    complete_intake(page, answers_with(about={"legal_name": "Pat Browser", "email": "pat@example.org"}))
    expect(page.locator("h1")).to_contain_text("your questionnaire was sent")
    page.get_by_role("link", name="Book a consultation").click()
    expect(page.get_by_role("heading", name="Choose a consultation time")).to_be_visible()
    if page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") != ZONE:
        expect(page.locator(".slot-own-time").first).to_be_visible()  # own time shown when zones differ
    assert_accessible(page)
    save_step_screenshot(page, "booking-1-week")
    expect(page.locator("a.slot").first).to_contain_text("Dr Alice Adams")  # "first available" says with whom
    page.locator("a.slot").first.click()
    expect(page.get_by_label("Full name")).to_have_value("Pat Browser")  # pre-filled from the intake
    assert_accessible(page)
    page.get_by_label("Full name").fill("")
    page.get_by_role("button", name="Confirm booking").click()
    # Focus goes to what went wrong (autofocus runs at the browser's next rendering step, so wait for it;
    # expect polls without evaluating a string, which the page's CSP would refuse).
    expect(page.locator("#error-summary")).to_be_focused()
    assert_accessible(page)
    page.get_by_label("Full name").fill("Pat Browser")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="Your booking is confirmed")).to_be_visible()
    expect(page.get_by_text("Dr Alice Adams").first).to_be_visible()
    expect(page.get_by_text("photo ID")).to_be_visible()
    assert_accessible(page)
    save_step_screenshot(page, "booking-2-confirmed")
    manage_url = page.locator(".private-link a").get_attribute("href")
    day, booking = booking_day(app)

    desk.goto(f"/staff/schedule?date={day}")
    expect(desk.get_by_role("link", name="Pat Browser").first).to_be_visible()
    assert_accessible(desk)
    save_step_screenshot(desk, "booking-3-day-view")

    page.goto(manage_url.replace("http://127.0.0.1:5000", live_server.url))
    page.get_by_role("link", name="Choose another time").click()
    expect(page.get_by_label("Clinician", exact=True)).to_have_value(str(clinician))  # the current one, chosen
    assert_accessible(page)
    save_step_screenshot(page, "booking-2b-reschedule")
    # The page opens on a week with a time to move to (the booking's own time is never offered),
    # even when the booking took its week's last free time.
    page.locator("a.slot").first.click()
    page.get_by_role("button", name="Move my booking").click()
    expect(page.get_by_text("Your booking has been moved")).to_be_visible()
    day, moved = booking_day(app)
    assert moved.starts_at != booking.starts_at and moved.sequence == 1
    desk.goto(f"/staff/schedule?date={day}")
    desk.get_by_role("link", name="Pat Browser").first.click()
    expect(desk.get_by_text("moved", exact=True)).to_be_visible()

    page.get_by_role("link", name="Cancel this booking").click()
    expect(page.get_by_role("heading", name="Cancel your booking?")).to_be_visible()  # asked once more
    assert_accessible(page)
    save_step_screenshot(page, "booking-2c-cancel-question")
    page.get_by_label("Reason (optional)").fill("Cannot make it")
    page.get_by_role("button", name="Yes, cancel my booking").click()
    expect(page.get_by_role("heading", name="This booking is cancelled")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Update my calendar"))).to_be_visible()
    assert_accessible(page)
    desk.goto(f"/staff/schedule?date={day}")
    row = desk.get_by_role("table", name=re.compile("^Bookings on")).locator("tr", has_text="Pat Browser")
    expect(row.locator(".badge")).to_have_text("Cancelled")

    # The receptionist books a new phone patient into a free cell of the grid, and marks an arrival.
    desk.locator("td.cell--free a").first.click()
    assert_accessible(desk)
    desk.get_by_role("link", name="New patient").click()
    desk.get_by_label("Full name").fill("Phone Caller")
    desk.get_by_label("Phone").fill("555 0123")
    desk.get_by_role("button", name="Create record").click()
    desk.get_by_role("link", name="Book a consultation by phone").click()
    desk.get_by_role("button", name="Book", exact=True).click()
    expect(desk.get_by_role("heading", name="Booking: Phone Caller")).to_be_visible()
    desk.goto("/staff/schedule")
    day_list = desk.get_by_role("table", name=re.compile("^Bookings on"))
    day_list.locator("tr", has_text="Walk In Today").get_by_role("button", name=re.compile("^Mark arrived")).click()
    expect(day_list.locator("tr", has_text="Walk In Today").locator(".badge")).to_have_text("Arrived")
    save_step_screenshot(desk, "booking-4-arrived")
    with app.app_context():
        statuses = dict(db.session.execute(sa.select(Booking.source, Booking.status)
                                           .where(Booking.status != "arrived")).all())
    assert statuses == {"online": "cancelled", "phone": "booked"}
    desk.context.close()


def test_booking_works_with_javascript_off(no_js_page, live_server):
    app = live_server.app
    _clinician, token, _reception = setup_clinic(app)
    page = no_js_page
    page.goto(f"/book/start/{token}")
    expect(page.locator("a.slot").first).to_be_visible()
    expect(page.locator(".slot-own-time")).to_have_count(0)  # no JavaScript: clinic time only
    page.locator("a.slot").first.click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("heading", name="Your booking is confirmed")).to_be_visible()
    page.get_by_role("link", name="Cancel this booking").click()
    page.get_by_role("button", name="Yes, cancel my booking").click()  # asking again needs no script
    expect(page.get_by_role("heading", name="This booking is cancelled")).to_be_visible()
    # (No axe run here: axe is itself JavaScript; the same pages are checked with JavaScript on.)
    with app.app_context():
        assert db.session.scalars(sa.select(Booking.status).where(Booking.source == "online")).all() == ["cancelled"]
