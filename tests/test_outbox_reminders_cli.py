"""`flask send-reminders` queues one reminder per booking; `flask outbox send` delivers; status page."""

import re
from datetime import timedelta

import sqlalchemy as sa

from booking.models import AuditEvent, OutboxMessage
from booking.outbox.reminders import queue_reminders
from booking.outbox.sender import run_loop
from tests.calendar_factories import BASE_TIME, add_booking
from tests.outbox_helpers import ENVELOPE, RecordingBackend, body_of, policy, queue, recipient_of

BEFORE = BASE_TIME - timedelta(hours=23)  # inside the 24-hour lead of BASE_TIME


def reminder_rows(session):
    session.expire_all()
    return session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "booking_reminder")
                           .order_by(OutboxMessage.id)).all()


def test_one_reminder_per_booking_however_often_cron_runs(app, db, make_staff):
    clinician = make_staff("clinician")
    soon, _ = add_booking(db.session, clinician.id, starts_at=BASE_TIME)
    add_booking(db.session, clinician.id, starts_at=BASE_TIME + timedelta(days=2))  # too far off
    add_booking(db.session, clinician.id, starts_at=BASE_TIME + timedelta(hours=1), status="cancelled")
    add_booking(db.session, clinician.id, starts_at=BASE_TIME + timedelta(hours=2), patient_email=None)
    db.session.commit()
    assert queue_reminders(db.session, now=BEFORE, lead_hours=24, config=app.config) == 1
    for minutes in (5, 10, 15):
        assert queue_reminders(db.session, now=BEFORE + timedelta(minutes=minutes), lead_hours=24,
                               config=app.config) == 0
    [row] = reminder_rows(db.session)
    assert row.booking_id == soon.id and recipient_of(row) == "jordan@patient.example"
    assert "10:00 AM EST" in body_of(row)


def test_a_moved_booking_gets_a_reminder_for_its_new_time(app, db, make_staff):
    clinician = make_staff("clinician")
    booking, _ = add_booking(db.session, clinician.id, starts_at=BASE_TIME)
    db.session.commit()
    queue_reminders(db.session, now=BEFORE, lead_hours=24, config=app.config)
    booking.starts_at += timedelta(hours=3)
    booking.ends_at += timedelta(hours=3)
    booking.busy_until = booking.ends_at
    db.session.commit()
    assert queue_reminders(db.session, now=BEFORE + timedelta(hours=3), lead_hours=24, config=app.config) == 1
    assert len(reminder_rows(db.session)) == 2


def test_a_booking_made_inside_the_lead_time_gets_no_reminder(app, db, make_staff):
    clinician = make_staff("clinician")
    add_booking(db.session, clinician.id, starts_at=BASE_TIME, created_at=BASE_TIME - timedelta(hours=3))
    db.session.commit()
    assert queue_reminders(db.session, now=BASE_TIME - timedelta(hours=2), lead_hours=24, config=app.config) == 0


def test_cli_send_reminders_and_outbox_send_write_eml_files(app, db, make_staff, tmp_path):
    clinician = make_staff("clinician")
    from booking.timeutil import utcnow

    add_booking(db.session, clinician.id, starts_at=utcnow() + timedelta(hours=5),
                created_at=utcnow() - timedelta(days=3))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0 and "Queued 1 reminder" in result.output
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0 and "Sent 1 message(s) through folder" in result.output
    [path] = list((tmp_path / "outbox").glob("*.eml"))
    assert b"Reminder: your consultation" in path.read_bytes()


def test_send_loop_runs_rounds_and_sleeps_between_them(app, db):
    queue(db.session, count=2)
    backend = RecordingBackend()
    sleeps = []
    from booking.extensions import db as database
    from tests.outbox_helpers import NOW

    run_loop(database.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=lambda: NOW,
             interval=7, rounds=2, sleep=sleeps.append)
    assert len(backend.delivered) == 2 and sleeps == [7]


def test_outbox_page_shows_no_content_and_retries_on_request(app, db, client, make_staff, login):
    admin = make_staff("admin")
    [message_id] = queue(db.session, recipient="jordan@patient.example", subject="Your private subject",
                         body="Private body")
    row = db.session.get(OutboxMessage, message_id)
    row.status, row.tries, row.last_error = "failed", 8, "SMTPDataError: (451, b'try later')"
    db.session.commit()
    login(admin)
    page = client.get("/staff/outbox").get_data(as_text=True)
    assert "patient.example" in page and "jordan@" not in page
    assert "Private body" not in page and "Your private subject" not in page
    assert "451" in page and "Retry now" in page
    response = client.post(f"/staff/outbox/{message_id}/retry", follow_redirects=True)
    assert "will be sent on the sender" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message_id).status == "pending"
    assert db.session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.target_type == "outbox_message")) \
        == "retry now"
    assert client.post("/staff/outbox/999999/retry").status_code == 404
    assert client.post("/staff/outbox/" + "9" * 30 + "/retry").status_code == 404


def test_outbox_page_is_for_admins_only(client, make_staff, login):
    login(make_staff("receptionist"))
    assert client.get("/staff/outbox").status_code == 403
    assert client.post("/staff/outbox/1/retry").status_code == 403


def test_retry_needs_csrf_when_csrf_is_on(make_app, make_staff, login):
    app = make_app(WTF_CSRF_ENABLED=True)
    from booking.extensions import db as database
    from tests.factories import create_staff_user

    with app.app_context():
        admin = create_staff_user(database.session, "admin")
        [message_id] = queue(database.session)
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/staff/login", data={"email": admin.email, "password": admin.password,
                                             "csrf_token": token}).status_code == 302
    assert client.post(f"/staff/outbox/{message_id}/retry").status_code == 400
