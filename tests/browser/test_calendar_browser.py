"""Staff calendar and outbox pages in a real browser (they use no JavaScript): accessible and usable.
Every check waits with Playwright's `expect` for what a person waits for, never for a time."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in

# The date error said once (not repeated in a summary and beside the field).
SAID_ONCE = re.compile(r"^(?!(.*before the start date){2}).*before the start date", re.S)


def test_admin_rotates_a_feed_link_exports_with_an_error_and_sees_the_outbox(page, live_server):
    from booking.crypto import cipher_for
    from booking.extensions import db
    from booking.models import OutboxMessage
    from booking.outbox.sender import queue_email
    from booking.timeutil import utcnow
    from tests.factories import create_staff_user

    with live_server.app.app_context():
        admin = create_staff_user(db.session, "admin")
        create_staff_user(db.session, "clinician", name="Dr Okafor")
        message_id = queue_email(db.session, kind="booking_reminder", recipient="pat@example.org", subject="s",
                                 body="b", now=utcnow(), cipher=cipher_for(live_server.app.config))
        message = db.session.get(OutboxMessage, message_id)
        message.status, message.tries, message.last_error = "failed", 8, "ConnectionRefusedError: refused"
        db.session.commit()
    sign_in(page, admin)
    page.get_by_role("link", name="Calendars").first.click()
    expect(page.get_by_role("button", name="Create link for Dr Okafor")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Create link for Dr Okafor").click()
    expect(page.get_by_role("heading", name="New feed link for Dr Okafor")).to_be_visible()
    expect(page.get_by_label("Feed address, for apps that ask for a URL")).to_have_value(re.compile(r"\.ics$"))
    assert_accessible(page)

    page.get_by_label("Clinician", exact=True).select_option(label="Dr Okafor")
    page.get_by_label("First day").fill("2026-03-01")
    page.get_by_label("Last day").fill("2026-02-01")
    page.get_by_role("button", name="Download .ics").click()
    expect(page.get_by_role("alert")).to_have_text(SAID_ONCE)
    expect(page.get_by_label("First day")).to_have_value("2026-03-01")  # what was typed is kept
    assert_accessible(page)

    page.get_by_role("link", name="Outbox").first.click()
    expect(page.get_by_role("cell", name="example.org")).to_be_visible()
    assert "pat@" not in page.content()  # read once the page is there
    assert_accessible(page)
    page.get_by_role("button", name=f"Retry now message {message_id}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Message {message_id} will be sent on the sender")
