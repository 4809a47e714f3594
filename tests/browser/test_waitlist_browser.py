"""A waitlist fill in the browser: join from the week page, a cancellation, the emailed offer booked
in one step, and the second patient told the time has gone (axe on every page, keyboard only)."""

import re
from datetime import time, timedelta

import sqlalchemy as sa

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
    assert page.locator("h1").inner_text() == "Join the waitlist"
    assert_accessible(page)
    for day in ("Saturday", "Sunday"):
        page.get_by_label(day).check()
    press(page, "Join the waitlist")
    assert "You are on the waitlist" in page.locator("#waitlist-status").inner_text()
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
        assert "Dr Priya Patel" in page.locator(".summary").inner_text()
        assert_accessible(page)
        press(page, "Book this time")
        assert page.locator("h1").inner_text() == "Your booking is confirmed"

        # Ben's link now says the time has gone, and he stays on the list.
        other.page.goto(ben_link)
        press(other.page, "Book this time")
        assert "another patient on the waitlist booked it first" in other.page.locator("#offer-gone").inner_text()
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
    assert rows.count() == 1 and "Ben Second" in rows.inner_text()
    assert_accessible(page)
    rows.get_by_role("link", name="Book Ben Second").click()
    assert "Ben Second" in page.content() and "/staff/schedule/book" in page.url
