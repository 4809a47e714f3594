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


def test_a_weekly_block_over_a_booking_links_to_it_and_a_clinician_keeps_their_own_time_off(page, live_server):
    from datetime import timedelta

    from booking.appointments.availability import clinic_day, local_instant
    from booking.extensions import db
    from booking.timeutil import utcnow
    from tests.booking_factories import ZONE, add_booking, add_clinician
    from tests.factories import create_staff_user

    day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    with live_server.app.app_context():
        receptionist = create_staff_user(db.session, "receptionist")
        doctor = create_staff_user(db.session, "clinician", name="Dr Bea Block")
        add_clinician(db.session, user=doctor, hours={day.weekday(): [(time(9), time(17))]})
        booking_id, _token = add_booking(db.session, doctor.id, local_instant(day, time(14), ZONE), name="Cal Covered")

    sign_in(page, receptionist)
    page.goto("/staff/schedule/hours")
    page.get_by_label("Every").select_option(str(day.weekday()))
    page.get_by_label("First date").fill(day.isoformat())
    page.get_by_label("Last date (required)").fill((day + timedelta(days=21)).isoformat())
    page.get_by_label("Block note (optional, e.g. \"Teaching\")").fill("Teaching")
    page.get_by_role("button", name="Add weekly block").click()
    expect(page.get_by_text("Weekly block added: every")).to_be_visible()
    link = page.get_by_role("link", name="Cal Covered", exact=False)
    expect(link).to_have_attribute("href", f"/staff/schedule/booking/{booking_id}")
    assert_accessible(page)
    link.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("Cal Covered")

    page.context.clear_cookies()
    sign_in(page, doctor)
    page.goto("/staff/schedule/hours")
    expect(page.get_by_text("Your own time off and weekly blocks.")).to_be_visible()
    expect(page.get_by_role("heading", name="Clinic booking rules")).to_have_count(0)
    assert_accessible(page)
    label = f"Yes, remove {day.strftime('%A')} 13:00 block"
    page.get_by_label(label).check()
    page.get_by_role("button", name=f"Remove {day.strftime('%A')} 13:00 block").click()
    expect(page.get_by_text("Weekly block removed.")).to_be_visible()
    expect(page.get_by_text("No weekly blocks.")).to_be_visible()
