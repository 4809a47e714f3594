"""Two-factor sign-in in Chromium: enrol from the QR page's key, sign in with a code, all pages pass axe.
Checks wait with Playwright's `expect` for the next page's elements, never for a time; values are read
(the key, the recovery codes) only after that wait."""

import re

import pyotp
from playwright.sync_api import expect

from booking.extensions import db
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import create_staff_user

RECOVERY_CODE = re.compile(r"^[a-z0-9]{4}(-[a-z0-9]{4}){3}$")


def test_a_clinician_enrols_then_signs_in_with_a_code(page, live_server):
    with live_server.app.app_context():
        doctor = create_staff_user(db.session, "clinician", enrol=False)
    page.goto("/staff/login")
    assert_accessible(page)
    page.get_by_label("Email").fill(doctor.email)
    page.get_by_label("Password").fill(doctor.password)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.locator("figure.qr svg")).to_be_visible()
    assert_accessible(page)
    expect(page.locator("#totp-secret")).to_have_text(re.compile(r"^[A-Z2-7]{16,}$"))  # a base32 key
    secret = page.locator("#totp-secret").inner_text()
    page.get_by_label("Code from your authenticator app").fill("000000")
    page.get_by_role("button", name="Confirm and continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    assert_accessible(page)
    page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and continue").click()
    codes = page.locator(".recovery-codes code")
    expect(codes).to_have_text([RECOVERY_CODE] * 10)  # ten of them, each in the documented form
    codes = codes.all_inner_texts()
    assert_accessible(page)
    page.get_by_role("link", name="I have kept them: continue").click()
    expect(page.get_by_role("heading", name=f"Welcome, {doctor.name}")).to_be_visible()

    page.get_by_role("button", name=f"Sign out {doctor.name}").click()
    page.get_by_label("Email").fill(doctor.email)
    page.get_by_label("Password").fill(doctor.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Enter your sign-in code")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Code from your authenticator app").fill(codes[0])  # a recovery code works too
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name=f"Welcome, {doctor.name}")).to_be_visible()


def test_the_account_pages_pass_axe(page, live_server):
    with live_server.app.app_context():
        admin = create_staff_user(db.session, "admin")
        other = create_staff_user(db.session, "receptionist")
    sign_in(page, admin)
    for url in ("/staff/account/password", "/staff/account/sessions", f"/staff/admin/staff/{other.id}"):
        page.goto(url)
        assert_accessible(page)
    page.goto("/staff/account/sessions")
    expect(page.get_by_role("cell", name="This browser")).to_be_visible()
