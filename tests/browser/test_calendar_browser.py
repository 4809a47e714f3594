"""Staff calendar and outbox pages in a real browser (they use no JavaScript): accessible and usable."""

from tests.browser.conftest import assert_accessible, sign_in


def test_admin_rotates_a_feed_link_exports_with_an_error_and_sees_the_outbox(page, live_server):
    from booking.crypto import cipher_for
    from booking.extensions import db
    from booking.outbox.sender import queue_email
    from booking.timeutil import utcnow
    from tests.factories import create_staff_user

    with live_server.app.app_context():
        admin = create_staff_user(db.session, "admin")
        create_staff_user(db.session, "clinician", name="Dr Okafor")
        message = queue_email(db.session, kind="booking_reminder", recipient="pat@example.org", subject="s",
                              body="b", now=utcnow(), cipher=cipher_for(live_server.app.config))
        message.status, message.tries, message.last_error = "failed", 8, "ConnectionRefusedError: refused"
        db.session.commit()
        message_id = message.id
    sign_in(page, admin)
    page.get_by_role("link", name="Calendars").first.click()
    assert_accessible(page)
    page.get_by_role("button", name="Create link for Dr Okafor").click()
    assert page.get_by_role("heading", name="New feed link for Dr Okafor").is_visible()
    assert page.get_by_label("Feed address, for apps that ask for a URL").input_value().endswith(".ics")
    assert_accessible(page)

    page.get_by_label("Clinician", exact=True).select_option(label="Dr Okafor")
    page.get_by_label("First day").fill("2026-03-01")
    page.get_by_label("Last day").fill("2026-02-01")
    page.get_by_role("button", name="Download .ics").click()
    assert page.get_by_role("alert").inner_text().count("before the start date") == 1
    assert page.get_by_label("First day").input_value() == "2026-03-01"  # what was typed is kept
    assert_accessible(page)

    page.get_by_role("link", name="Outbox").first.click()
    assert page.get_by_role("cell", name="example.org").is_visible()
    assert "pat@" not in page.content()
    assert_accessible(page)
    page.get_by_role("button", name=f"Retry now message {message_id}").click()
    assert "will be sent on the sender" in page.inner_text("main")
