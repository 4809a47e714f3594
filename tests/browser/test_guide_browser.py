"""The guide and sign-in in a real browser: accessible, keyboard-usable, nothing from elsewhere.
Checks wait with Playwright's `expect` (elements, navigations), never for a time."""

import pyotp
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible
from tests.test_guide import SLUGS


def test_every_guide_page_is_accessible_and_leads_to_the_intake(browser_session):
    page = browser_session.page
    for path in ["/guide/"] + [f"/guide/{slug}" for slug in SLUGS]:
        response = page.goto(path)
        assert response.status == 200
        assert_accessible(page)
        link = page.get_by_role("link", name="See if this treatment may be right for you")
        expect(link).to_have_attribute("href", "/intake/start")
    assert browser_session.foreign_requests() == []


def test_no_page_loads_anything_from_another_origin(browser_session):
    page = browser_session.page
    for path in ["/guide/risks", "/staff/login", "/intake/start", "/missing"]:
        # "load" fires once every stylesheet, script and image the page names has arrived: all its requests.
        page.goto(path, wait_until="load")
    assert browser_session.foreign_requests() == []
    css = [url for url in browser_session.requests if url.endswith(".css")]
    assert css, "the stylesheet should load from this site"


def test_the_content_security_policy_is_honoured_without_violations(browser_session):
    page = browser_session.page
    messages = []
    page.on("console", lambda message: messages.append(message.text))
    page.goto("/guide/what-it-is", wait_until="load")  # a refused script or style is reported while loading
    assert not [text for text in messages if "Content Security Policy" in text]


def test_staff_sign_in_by_keyboard_only(browser_session, live_server):
    from booking.extensions import db
    from tests.factories import create_staff_user

    with live_server.app.app_context():
        user = create_staff_user(db.session, "admin")
    page = browser_session.page
    page.goto("/staff/login")
    assert_accessible(page)
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.get_by_label("Email").focus()
    page.keyboard.type(user.email)
    page.keyboard.press("Tab")
    page.keyboard.type(user.password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/login/code")
    page.get_by_label("Code from your authenticator app").focus()
    page.keyboard.type(pyotp.TOTP(user.totp).now())
    page.keyboard.press("Enter")
    page.wait_for_url("**/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {user.name}")
    assert_accessible(page)
    page.goto("/staff/admin/staff")
    assert_accessible(page)
    page.goto("/staff/admin/audit")
    assert_accessible(page)


def test_the_guide_reads_well_on_a_phone(playwright_browser, live_server):
    context = playwright_browser.new_context(base_url=live_server.url, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/guide/risks")
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the page scrolls sideways on a phone"
    context.close()
