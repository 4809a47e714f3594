"""Patient links that expire and say little (issue 10): resume links, one-time correction links,
manage links, and a session cookie that holds no token."""

import re
from datetime import time, timedelta

import sqlalchemy as sa

from booking.extensions import db as _db
from booking.models import Booking, Intake, OutboxMessage
from booking.timeutil import utcnow
from tests.booking_factories import add_booking, add_clinician, add_intake, book_first_free_time
from tests.intake_factories import answers_with, complete_intake
from tests.outbox_helpers import emailed_path, recipient_of

RESUME = r"/intake/resume/[A-Za-z0-9_-]+"
CORRECTION = r"/intake/correct/[A-Za-z0-9_-]+"
TOKEN_SHAPED = re.compile(r"[A-Za-z0-9_-]{32,}")
EVERY_DAY = {day: [(time(9), time(17))] for day in range(7)}


def latest_intake(app):
    with app.app_context():
        intake = _db.session.scalars(sa.select(Intake).order_by(Intake.id.desc())).first()
        _db.session.expunge(intake)
        return intake


def set_intake(app, intake_id, **values):
    with app.app_context():
        _db.session.execute(sa.update(Intake).where(Intake.id == intake_id).values(**values))
        _db.session.commit()


def outbox(app, kind):
    with app.app_context():
        return _db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


def sent_questionnaire(app, client, **changes):
    """Complete and send a questionnaire in `client`; returns (intake, its emailed resume link's path)."""
    complete_intake(client, answers_with(**changes) if changes else None)
    return latest_intake(app), emailed_path(app, "intake_resume", RESUME)


def test_a_sent_questionnaires_link_shows_its_status_and_never_the_answers(app, client):
    _intake, link = sent_questionnaire(app, client)
    other = app.test_client()
    assert other.get(link).location.endswith("/intake/done")
    page = other.get("/intake/done").get_data(as_text=True)
    assert "Thank you: your questionnaire was sent" in page
    assert "Jordan Example" not in page and "jordan@example.org" not in page
    assert other.get("/intake/step/1").location.endswith("/intake/done")  # no way to the answers
    assert other.get("/intake/step/10").location.endswith("/intake/done")


def test_a_sent_questionnaires_link_expires_30_days_after_the_last_save(app, client):
    intake, link = sent_questionnaire(app, client)
    assert intake.resume_expires_at == intake.submitted_at + timedelta(days=30)  # sending counts as a save
    set_intake(app, intake.id, resume_expires_at=utcnow() - timedelta(minutes=1))
    response = app.test_client().get(link)
    assert response.status_code == 404 and "This link has expired" in response.get_data(as_text=True)
    # The browser that sent it lets go too: its cookie is no way around the expiry.
    assert client.get("/intake/done").location.endswith("/intake/start")


def test_correct_my_answers_emails_a_one_time_link_to_the_address_on_file(app, client):
    sent, link = sent_questionnaire(app, client)
    stranger = app.test_client()
    stranger.get(link)
    response = stranger.post("/intake/correct")
    assert response.location.endswith("/intake/done")  # not the answers
    assert "emailed you a link" in stranger.get("/intake/done").get_data(as_text=True)
    [email] = outbox(app, "intake_correction")
    assert recipient_of(email) == "jordan@example.org"
    correction = emailed_path(app, "intake_correction", CORRECTION)

    patient = app.test_client()
    page = patient.get(correction).get_data(as_text=True)
    assert "Open my answers to correct them" in page and "Jordan Example" not in page  # a mail scanner uses nothing
    assert patient.post(correction).location.endswith("/intake/step/10")
    step_page = patient.get("/intake/step/1").get_data(as_text=True)
    assert 'value="Jordan Example"' in step_page
    assert "ask for a new correction link" in step_page  # no resume link was emailed for this copy
    draft = latest_intake(app)
    assert draft.previous_id == sent.id and draft.status == "draft"

    again = app.test_client().post(correction)
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert app.test_client().get(correction).status_code == 410


def test_a_correction_link_stops_working_after_an_hour(app, client):
    sent, _link = sent_questionnaire(app, client)
    client.post("/intake/correct")
    correction = emailed_path(app, "intake_correction", CORRECTION)
    assert latest_intake(app).correction_expires_at <= utcnow() + timedelta(hours=1)
    set_intake(app, sent.id, correction_expires_at=utcnow() - timedelta(seconds=1))
    response = app.test_client().post(correction)
    assert response.status_code == 410 and "expired" in response.get_data(as_text=True)
    assert latest_intake(app).id == sent.id  # no correction was opened


def test_corrections_are_limited_per_questionnaire(make_app):
    app = make_app(INTAKE_CORRECTION_RATE_LIMIT="2 per hour")
    client = app.test_client()
    sent_questionnaire(app, client)
    for _ in range(2):
        assert client.post("/intake/correct").status_code == 302
    refused = client.post("/intake/correct")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert len(outbox(app, "intake_correction")) == 2
    # The limit is the questionnaire's, not this address's: another one from here still works.
    other = app.test_client()
    sent_questionnaire(app, other)
    assert other.post("/intake/correct").status_code == 302


def test_corrections_are_limited_per_address(make_app):
    app = make_app(INTAKE_CORRECTION_ADDRESS_RATE_LIMIT="2 per hour")
    browsers = [app.test_client() for _ in range(3)]
    for browser in browsers:
        sent_questionnaire(app, browser)
    assert [browser.post("/intake/correct").status_code for browser in browsers] == [302, 302, 429]
    elsewhere = browsers[2].post("/intake/correct", environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert elsewhere.status_code == 302


def test_correcting_an_urgent_questionnaire_adds_no_second_urgent_entry(app, client, make_staff, login):
    sent, _link = sent_questionnaire(app, client, phq9={"phq9_9": 2})
    assert sent.urgent
    for _ in range(3):  # three corrections opened, one of them sent
        client.post("/intake/correct")
        client.post(emailed_path(app, "intake_correction", CORRECTION))
    client.post("/intake/step/10")
    client.post("/intake/step/11", data={"step": "11", "signature": "Jordan Example", "agree": "y"})
    assert latest_intake(app).status == "submitted" and latest_intake(app).previous_id == sent.id
    staff = app.test_client()
    login(make_staff("clinician"), test_client=staff)
    queue = staff.get("/staff/intakes").get_data(as_text=True)
    assert queue.count("Urgent: crisis answer") == 1


def test_the_session_cookie_holds_no_private_link(app, client, db):
    add_clinician(db.session, name="Dr Cookie", hours=EVERY_DAY)
    _intake, link = sent_questionnaire(app, client)
    client.get(link)
    manage_token = book_first_free_time(client)
    cookie = client.get_cookie("session").value
    stored = app.session_interface.get_signing_serializer(app).loads(cookie)
    text = repr(stored)
    assert link.rsplit("/", 1)[1] not in text and manage_token not in text
    assert not TOKEN_SHAPED.search(text), text  # nothing token-like at all: ids only
    assert set(stored) <= {"patient_intake_id", "just_booked", "_flashes", "csrf_token"}


def test_a_manage_link_expires_a_set_time_after_the_consultation(make_app):
    app = make_app(MANAGE_LINK_DAYS=30)
    client = app.test_client()
    with app.app_context():
        clinician = add_clinician(_db.session)
        now = utcnow()
        _recent_id, recent = add_booking(_db.session, clinician, now - timedelta(days=29), status="completed")
        _old_id, old = add_booking(_db.session, clinician, now - timedelta(days=31), status="completed")
    assert client.get(f"/book/manage/{recent}").status_code == 200
    for path in (f"/book/manage/{old}", f"/book/manage/{old}/invite.ics", f"/book/manage/{old}/reschedule"):
        response = client.get(path)
        assert response.status_code == 410, path
        assert "This link has expired" in response.get_data(as_text=True)
    assert client.post(f"/book/manage/{old}/cancel").status_code == 410
    assert client.get("/book/manage/" + "A" * 43).status_code == 404  # made up: still "not valid"


def test_a_manage_link_expires_a_set_time_after_the_cancellation(make_app):
    app = make_app(MANAGE_LINK_DAYS=7)
    client = app.test_client()
    with app.app_context():
        clinician = add_clinician(_db.session)
        intake_id, _token = add_intake(_db.session, app.config)
        booking_id, token = add_booking(_db.session, clinician, utcnow() + timedelta(days=20), intake_id=intake_id)
        booking = _db.session.get(Booking, booking_id)
        booking.status, booking.cancelled_at = "cancelled", utcnow() - timedelta(days=8)
        _db.session.commit()
    response = client.get(f"/book/manage/{token}")
    assert response.status_code == 410 and "call the clinic" in response.get_data(as_text=True)
