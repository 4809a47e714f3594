"""The questionnaire's last page sends the booking's private link again (issue 12): a new link by
email to the address on the patient's record, the old one stops working, only from the browser
that holds the questionnaire, once per press, within a rate limit."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.manage_links import masked_email
from booking.extensions import db as _db
from booking.models import Booking, Intake, OutboxMessage
from booking.crypto import cipher_for
from booking.patients.record import contact_of, set_contact
from booking.signals import booking_link_reissued
from booking.outbox.receivers import on_booking_link_reissued
from booking.timeutil import utcnow
from tests.booking_factories import add_booking, add_clinician
from tests.intake_factories import complete_intake
from tests.outbox_helpers import body_of, recipient_of

BUTTON = "Email me my booking link again"
MANAGE = re.compile(r"http://127\.0\.0\.1:5000(/book/manage/[A-Za-z0-9_-]+)")


def sent_and_booked(app, client, days_ahead=3, status="booked"):
    """Send a questionnaire in `client`, then book it; returns the booking's (id, manage token)."""
    complete_intake(client)
    with app.app_context():
        clinician = add_clinician(_db.session, name="Dr Alice Adams")
        intake = _db.session.scalars(sa.select(Intake)).one()
        return add_booking(_db.session, clinician, (utcnow() + timedelta(days=days_ahead)).replace(second=0, microsecond=0),
                           intake_id=intake.id, status=status)


def link_version(client):
    """The hidden value of the last page's form, as the browser would send it back."""
    page = client.get("/intake/done").get_data(as_text=True)
    return re.search(r'name="link" value="([0-9a-f]+)"', page).group(1)


def press(client, version=None):
    """Press the button on the last page (the form as shown, unless `version` is given)."""
    return client.post("/intake/booking-link", data={"link": link_version(client) if version is None else version})


def link_emails(app):
    with app.app_context():
        rows = _db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "booking_link")).all()
        return [(recipient_of(row), body_of(row)) for row in rows]


def flashes(client):
    page = client.get("/intake/done").get_data(as_text=True)
    return " ".join(re.findall(r'<p class="flash[^"]*">([^<]*)</p>', page))


def test_the_button_is_there_only_when_a_booking_exists(app, client):
    complete_intake(client)
    assert BUTTON not in client.get("/intake/done").get_data(as_text=True)
    with app.app_context():
        clinician = add_clinician(_db.session)
        intake = _db.session.scalars(sa.select(Intake)).one()
        add_booking(_db.session, clinician, utcnow() + timedelta(days=3), intake_id=intake.id)
    page = client.get("/intake/done").get_data(as_text=True)
    form = page[page.index('action="/intake/booking-link"') - 40:]
    assert 'method="post"' in form[:60] and BUTTON in form[:form.index("</form>")]
    note = re.search(r'id="resend-note">([^<]*)<', page).group(1)
    assert "the link in our earlier emails will stop working" in note
    assert "/book/manage/" not in page  # the page itself never shows the link


def test_pressing_it_emails_a_new_link_to_the_record_and_the_old_one_stops_working(app, client):
    _booking_id, old_token = sent_and_booked(app, client)
    assert client.get(f"/book/manage/{old_token}").status_code == 200
    response = press(client)
    assert response.status_code == 302 and response.location.endswith("/intake/done")
    said = flashes(client)
    assert "We have emailed a new link to the address you gave (j***@example.org)" in said
    assert "no longer works" in said
    [(recipient, body)] = link_emails(app)
    assert recipient == "jordan@example.org"
    assert "Dr Alice Adams" in body and "earlier emails no longer works" in body
    new_path = MANAGE.search(body).group(1)
    manage = app.test_client().get(new_path)
    assert manage.status_code == 200 and "Dr Alice Adams" in manage.get_data(as_text=True)
    old = app.test_client().get(f"/book/manage/{old_token}")
    assert old.status_code == 404 and "This link is not valid" in old.get_data(as_text=True)


def test_a_double_submit_sends_one_email_whose_link_works(app, client):
    sent_and_booked(app, client)
    version = link_version(client)
    assert press(client, version).status_code == 302
    client.get("/intake/done")  # the first answer's message is read
    assert press(client, version).status_code == 302  # the same form again
    assert "already emailed you a new link (j***@example.org); nothing more was sent" in flashes(client)
    [(_recipient, body)] = link_emails(app)
    assert app.test_client().get(MANAGE.search(body).group(1)).status_code == 200


def test_another_browser_is_refused_and_nothing_changes(app, client):
    _booking_id, token = sent_and_booked(app, client)
    version = link_version(client)
    stranger = app.test_client()
    refused = stranger.post("/intake/booking-link", data={"link": version})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403 and "<h1>We could not send the link</h1>" in page
    assert "nothing was sent" in page
    assert link_emails(app) == [] and client.get(f"/book/manage/{token}").status_code == 200


def test_a_forged_version_sends_nothing_and_says_so(app, client):
    _booking_id, token = sent_and_booked(app, client)
    assert press(client, "0" * 16).status_code == 302
    assert "This page was out of date, so nothing was sent" in flashes(client)
    assert link_emails(app) == [] and client.get(f"/book/manage/{token}").status_code == 200


def test_no_emailed_words_and_no_new_link_when_no_email_was_queued(app, client):
    _booking_id, token = sent_and_booked(app, client)
    booking_link_reissued.disconnect(on_booking_link_reissued)  # as if the outbox had not queued it
    try:
        assert press(client).status_code == 302
    finally:
        booking_link_reissued.connect(on_booking_link_reissued)
    said = flashes(client)
    assert "We could not email you a new link, so your link has not changed" in said and "emailed a new" not in said
    assert client.get(f"/book/manage/{token}").status_code == 200


def test_a_cancelled_booking_gets_no_new_link(app, client):
    booking_id, _token = sent_and_booked(app, client)
    version = link_version(client)
    with app.app_context():
        _db.session.execute(sa.update(Booking).where(Booking.id == booking_id).values(status="cancelled"))
        _db.session.commit()
    assert press(client, version).status_code == 302
    assert "There is no booking to send a link for" in flashes(client)
    assert link_emails(app) == []


def test_a_record_without_an_email_keeps_its_old_link(app, client):
    booking_id, token = sent_and_booked(app, client)
    with app.app_context():
        patient = _db.session.get(Booking, booking_id).patient
        cipher = cipher_for(app.config)
        set_contact(_db.session, patient, {**contact_of(patient, cipher), "email": None}, cipher=cipher,
                    key=app.config["PATIENT_SEARCH_KEY"], now=utcnow())
        _db.session.commit()
    assert press(client).status_code == 302
    assert "We have no email address for this booking" in flashes(client)
    assert link_emails(app) == [] and client.get(f"/book/manage/{token}").status_code == 200


def test_a_booking_whose_link_has_expired_gets_no_new_one(app, client):
    sent_and_booked(app, client, days_ahead=-40, status="completed")  # past MANAGE_LINK_DAYS (30)
    assert press(client).status_code == 302
    assert "This link has expired" in flashes(client)
    assert link_emails(app) == []


def test_it_is_rate_limited_per_booking(make_app):
    app = make_app(BOOKING_LINK_RATE_LIMIT="2 per hour")
    client = app.test_client()
    sent_and_booked(app, client)
    assert [press(client).status_code for _ in range(2)] == [302, 302]
    refused = press(client)
    assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 60
    assert len(link_emails(app)) == 2


@pytest.mark.parametrize("address, shown", [
    ("jordan@example.org", "j***@example.org"),
    ("j@example.org", "j***@example.org"),
    ("not-an-address", "the address you gave"),
    ("", "the address you gave"),
])
def test_an_address_is_shown_masked(address, shown):
    assert masked_email(address) == shown


def test_the_front_desk_sees_the_link_sent_again_in_the_bookings_history(app, client, make_staff, login):
    booking_id, _token = sent_and_booked(app, client)
    assert press(client).status_code == 302
    desk = app.test_client()
    login(make_staff("receptionist"), test_client=desk)
    page = desk.get(f"/staff/schedule/booking/{booking_id}").get_data(as_text=True)
    history = re.findall(r"<li>[^<]*: <strong>([^<]+)</strong> by ([^<(]+)", page)
    assert [(kind, who.strip()) for kind, who in history] == [("created", "the patient"), ("link-sent", "the patient")]
    assert "the manage link was emailed again; the earlier link stopped working" in page
