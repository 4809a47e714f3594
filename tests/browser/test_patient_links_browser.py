"""A sent questionnaire's link in the browser: status only, a correction by emailed one-time link
(keyboard, axe on each page), the booking's link emailed again, and the "this link has expired"
page of an old manage link. Checks wait with Playwright's `expect`, never for a time."""

import re
from datetime import timedelta

from playwright.sync_api import expect

from booking.extensions import db as _db
from booking.intake import service
from booking.timeutil import utcnow
from tests.booking_factories import add_booking, add_clinician
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.intake_factories import create_intake
from tests.outbox_helpers import emailed_path

MANAGE = r"/book/manage/[A-Za-z0-9_-]+"


def test_correcting_a_sent_questionnaire_by_the_emailed_one_time_link(page, live_server):
    app = live_server.app
    with app.app_context():
        intake = create_intake(_db.session, app.config)
        token = service.issue_resume_token(intake)
        _db.session.commit()
    page.goto(f"/intake/resume/{token}")
    expect(page.locator("h1")).to_contain_text("your questionnaire was sent")
    assert "Jordan Example" not in page.content()  # read once the page is there
    assert_accessible(page)
    page.get_by_role("button", name="Email me a link to correct my answers").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("emailed you a link")  # the flashed message
    assert_accessible(page)

    page.goto(emailed_path(app, "intake_correction", r"/intake/correct/[A-Za-z0-9_-]+"))
    expect(page.locator("h1")).to_have_text("Correct your answers")
    assert_accessible(page)
    page.get_by_role("button", name="Open my answers to correct them").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/intake/step/10$"))
    expect(page.locator("main")).to_contain_text("Jordan Example")


def test_the_last_page_emails_the_booking_link_again(page, live_server):
    app = live_server.app
    with app.app_context():
        intake = create_intake(_db.session, app.config)
        token = service.issue_resume_token(intake)
        _booking, old = add_booking(_db.session, add_clinician(_db.session, name="Dr Alice Adams"),
                                    utcnow() + timedelta(days=3), intake_id=intake.id)
    page.goto(f"/intake/resume/{token}")
    expect(page.locator("#existing-booking")).to_contain_text("Dr Alice Adams")
    assert_accessible(page)
    page.get_by_role("button", name="Email me my booking link again").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".flashes")).to_contain_text("We have emailed a new link to the address you gave (j***@")
    assert_accessible(page)
    page.goto(emailed_path(app, "booking_link", MANAGE))
    expect(page.locator("main")).to_contain_text("Dr Alice Adams")
    assert page.goto(f"/book/manage/{old}").status == 404


def test_an_old_manage_link_says_it_has_expired(page, live_server):
    app = live_server.app
    with app.app_context():
        clinician = add_clinician(_db.session)
        _booking, token = add_booking(_db.session, clinician, utcnow() - timedelta(days=60), status="completed")
    response = page.goto(f"/book/manage/{token}")
    assert response.status == 410
    expect(page.locator("h1")).to_have_text("This link has expired")
    assert_accessible(page)
