"""Two-factor sign-in in Chromium: enrol from the QR page's key, sign in with a code, all pages pass axe."""

import re

import pyotp

from booking.extensions import db
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import create_staff_user


def test_a_clinician_enrols_then_signs_in_with_a_code(page, live_server):
    with live_server.app.app_context():
        doctor = create_staff_user(db.session, "clinician", enrol=False)
    page.goto("/staff/login")
    assert_accessible(page)
    page.get_by_label("Email").fill(doctor.email)
    page.get_by_label("Password").fill(doctor.password)
    page.get_by_role("button", name="Sign in").click()

    assert page.get_by_role("heading", name="Set up two-factor sign-in").is_visible()
    assert page.locator("figure.qr svg").is_visible()
    assert_accessible(page)
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Confirm and continue").click()
    assert "That code is not right" in page.get_by_role("alert").inner_text()
    assert_accessible(page)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and continue").click()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){3}", code) for code in codes)
    assert_accessible(page)
    page.get_by_role("link", name="I have kept them: continue").click()
    assert page.get_by_role("heading", name=f"Welcome, {doctor.name}").is_visible()

    page.get_by_role("button", name=f"Sign out {doctor.name}").click()
    page.get_by_label("Email").fill(doctor.email)
    page.get_by_label("Password").fill(doctor.password)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", name="Enter your sign-in code").is_visible()
    assert_accessible(page)
    page.get_by_label("Code from your authenticator app").fill(codes[0])  # a recovery code works too
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("heading", name=f"Welcome, {doctor.name}").is_visible()


def test_the_account_pages_pass_axe(page, live_server):
    with live_server.app.app_context():
        admin = create_staff_user(db.session, "admin")
        other = create_staff_user(db.session, "receptionist")
    sign_in(page, admin)
    for url in ("/staff/account/password", "/staff/account/sessions", f"/staff/admin/staff/{other.id}"):
        page.goto(url)
        assert_accessible(page)
    page.goto("/staff/account/sessions")
    assert page.get_by_role("cell", name="This browser").is_visible()
