"""A waitlist fill in the browser: join from the week page, a cancellation, the emailed offer booked
in one step, and the second patient told the time has gone (axe on every page, keyboard only).
Checks wait with Playwright's `expect` for the element a person waits for, never for a time."""

import re
from datetime import time, timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from booking.appointments.availability import clinic_day, local_instant
from booking.extensions import db as _db
from booking.models import OutboxMessage, WaitlistEntry
from booking.models.waitlist import WAITING
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake
from tests.browser.conftest import BrowserSession, assert_accessible, sign_in
from tests.factories import create_staff_user
from tests.outbox_helpers import body_of, recipient_of
from tests.patient_factories import make_patient

EVERY_DAY = {day: [(time(8), time(19))] for day in range(7)}


def offer_link(app, recipient):
    """The offer link path in the waitlist email to `recipient`."""
    with app.app_context():
        row, = [row for row in _db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "waitlist_offer"))
                if recipient_of(row) == recipient]
        return re.search(r"/waitlist/offer/[A-Za-z0-9_-]+", body_of(row)).group(0)


def press(page, name):
    """Focus the button `name` and press Enter, waiting for the next page."""
    page.get_by_role("button", name=name).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_a_cancelled_time_fills_from_the_waitlist(page, live_server, playwright_browser):
    app = live_server.app
    with app.app_context():
        clinician = add_clinician(_db.session, name="Dr Priya Patel", hours=EVERY_DAY)
        starts_at = local_instant(clinic_day(utcnow(), ZONE) + timedelta(days=4), time(10), ZONE)
        _booking, cancel_token = add_booking(_db.session, clinician, starts_at)
        ben = make_patient(_db.session, name="Ben Second", email="ben@patient.example")
        _db.session.flush()
        _db.session.add(WaitlistEntry(patient_id=ben.id, status=WAITING, days=127, parts=7,
                                      expires_at=utcnow() + timedelta(days=60)))
        _db.session.commit()
        ben_id = ben.id
        _intake, ada_token = add_intake(_db.session, app.config, cleared=True,
                                        contact={"name": "Ada First", "email": "ada@patient.example",
                                                 "phone": "555-0101"})

    # Ada finds nothing that suits on the week page and joins the waitlist.
    page.goto(f"/book/start/{ada_token}")
    page.get_by_role("link", name="Join the waitlist").click()
    expect(page.locator("h1")).to_have_text("Join the waitlist")
    assert_accessible(page)
    for day in ("Saturday", "Sunday"):
        page.get_by_label(day).check()
    press(page, "Join the waitlist")
    expect(page.locator("#waitlist-status")).to_contain_text("You are on the waitlist")
    assert_accessible(page)

    # Another patient cancels: both waiting patients are emailed the time.
    other = BrowserSession(playwright_browser, live_server.url)
    try:
        other.page.goto(f"/book/manage/{cancel_token}/cancel")
        press(other.page, "Yes, cancel my booking")
        ben_link = offer_link(app, "ben@patient.example")
        ada_link = offer_link(app, "ada@patient.example")

        # Ada books it in one step.
        page.goto(ada_link)
        expect(page.locator(".summary")).to_contain_text("Dr Priya Patel")
        assert_accessible(page)
        press(page, "Book this time")
        expect(page.locator("h1")).to_have_text("Your booking is confirmed")

        # Ben's link now says the time has gone, and he stays on the list.
        other.page.goto(ben_link)
        press(other.page, "Book this time")
        expect(other.page.locator("#offer-gone")).to_contain_text("another patient on the waitlist booked it first")
        assert_accessible(other.page)
    finally:
        other.context.close()
    with app.app_context():
        assert _db.session.scalar(sa.select(WaitlistEntry.status).where(WaitlistEntry.patient_id == ben_id)) == WAITING
        receptionist = create_staff_user(_db.session, "receptionist")

    # The front desk sees Ben still waiting (Ada has her booking), with a link to book him.
    sign_in(page, receptionist)
    page.goto("/staff/waitlist")
    rows = page.locator("tr.waitlist-entry")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Ben Second")
    assert_accessible(page)
    rows.get_by_role("link", name="Book Ben Second").click()
    expect(page).to_have_url(re.compile(r"/staff/schedule/book"))
    expect(page.locator("main")).to_contain_text("Ben Second")
