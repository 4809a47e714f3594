"""Editing hours in a real browser (the forms need no JavaScript): edit in place, removal only once confirmed; axe-clean."""

from datetime import time

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in


def test_a_receptionist_edits_hours_in_place_and_removes_them_after_confirming(page, live_server):
    from booking.extensions import db
    from tests.booking_factories import add_clinician
    from tests.factories import create_staff_user

    with live_server.app.app_context():
        receptionist = create_staff_user(db.session, "receptionist")
        add_clinician(db.session, name="Dr Hana Hours", hours={2: [(time(9), time(12))]})

    sign_in(page, receptionist)
    page.goto("/staff/schedule/hours")
    assert_accessible(page)
    page.get_by_label("To, Wednesday 09:00").fill("12:30")
    page.get_by_role("button", name="Save Wednesday 09:00").click()
    expect(page.get_by_text("Wednesday hours changed to 09:00–12:30.")).to_be_visible()
    expect(page.get_by_label("To, Wednesday 09:00")).to_have_value("12:30")
    page.get_by_role("button", name="Remove Wednesday 09:00").click()  # not confirmed: nothing removed
    expect(page.get_by_role("alert")).to_contain_text('tick "Yes, remove"')
    expect(page.get_by_label("To, Wednesday 09:00")).to_have_value("12:30")
    assert_accessible(page)
    page.get_by_label("Yes, remove Wednesday 09:00").check()
    page.get_by_role("button", name="Remove Wednesday 09:00").click()
    expect(page.get_by_text("Weekly hours removed.")).to_be_visible()
    expect(page.get_by_text("No weekly hours yet.")).to_be_visible()
    assert_accessible(page)
