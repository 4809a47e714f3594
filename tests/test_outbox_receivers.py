"""Booking and intake signals become outbox rows in the same transaction, with no health data."""

import email
from datetime import timedelta
from email import policy as email_policy

import icalendar
import sqlalchemy as sa

from booking import signals
from booking.models import Booking, Intake, OutboxMessage
from booking.outbox.backends import FolderBackend
from booking.outbox.sender import send_due
from tests.patient_factories import make_patient
from tests.calendar_factories import BASE_TIME, add_booking
from tests.outbox_helpers import ENVELOPE, NOW, policy

LINK = "http://127.0.0.1:5000/book/manage/secret-token"
HEALTH_WORDS = ("ketamine", "depress", "phq", "gad", "suicid", "psychosis", "pregnan", "intake answers")


def messages(session):
    """Every outbox row, oldest first."""
    session.expire_all()
    return session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()


def uid_and_sequence(ics):
    """(UID, SEQUENCE, METHOD) of an invite."""
    calendar = icalendar.Calendar.from_ical(ics)
    event = calendar.walk("VEVENT")[0]
    return str(event["UID"]), int(event["SEQUENCE"]), str(calendar["METHOD"])


def assert_no_health_data(rows):
    for row in rows:
        text = f"{row.subject}\n{row.body_text}\n{row.ics or ''}".lower()
        for word in HEALTH_WORDS:
            assert word not in text, (row.kind, word)


def test_booking_life_cycle_keeps_the_uid_and_raises_the_sequence(db, make_staff):
    clinician = make_staff("clinician", name="Dr Priya Patel")
    booking, _ = add_booking(db.session, clinician.id)
    signals.booking_created.send(None, session=db.session, now=NOW, booking=booking, actor=None, link=LINK)
    db.session.commit()
    for hours in (1, 2):  # move, move
        previous = booking.starts_at
        booking.starts_at += timedelta(hours=hours)
        booking.ends_at += timedelta(hours=hours)
        booking.busy_until = booking.ends_at
        booking.sequence += 1
        signals.booking_moved.send(None, session=db.session, now=NOW, booking=booking, previous_starts_at=previous,
                                   actor=None, link=None)
        db.session.commit()
    booking.status = "cancelled"
    booking.sequence += 1
    signals.booking_cancelled.send(None, session=db.session, now=NOW, booking=booking, actor=None, reason=None)
    db.session.commit()

    rows = messages(db.session)
    patient = [row for row in rows if row.recipient == "jordan@patient.example"]
    staff = [row for row in rows if row.recipient == clinician.email]
    assert [row.kind for row in patient] == ["booking_confirmation", "booking_change", "booking_change",
                                             "booking_cancellation"]
    assert [row.kind for row in staff] == ["staff_booking_changed"] * 4
    invites = [uid_and_sequence(row.ics) for row in patient]
    assert {uid for uid, _, _ in invites} == {f"booking-{booking.id}@clinic.example"}
    sequences = [sequence for _, sequence, _ in invites]
    assert sequences == sorted(sequences) and len(set(sequences)) == 4 and sequences[0] == 0
    assert [method for _, _, method in invites] == ["REQUEST", "REQUEST", "REQUEST", "CANCEL"]
    assert [row.ics_method for row in patient] == ["REQUEST", "REQUEST", "REQUEST", "CANCEL"]
    assert LINK in patient[0].body_text
    assert "Jordan" not in "".join(row.body_text + row.subject for row in staff)  # no patient details to staff
    assert_no_health_data(rows)


def test_message_and_booking_commit_or_roll_back_together(db, make_staff):
    clinician = make_staff("clinician")
    booking, _ = add_booking(db.session, clinician.id)
    signals.booking_created.send(None, session=db.session, now=NOW, booking=booking, actor=None, link=LINK)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 2  # inside the transaction
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_phone_booking_without_email_only_tells_the_clinician(db, make_staff):
    clinician = make_staff("clinician")
    booking, _ = add_booking(db.session, clinician.id, patient_email=None)
    signals.booking_created.send(None, session=db.session, now=NOW, booking=booking, actor=None, link=None)
    db.session.commit()
    assert [(row.kind, row.recipient) for row in messages(db.session)] == [("staff_booking_changed", clinician.email)]


def test_invite_email_is_imip_with_matching_methods(db, make_staff, tmp_path):
    clinician = make_staff("clinician")
    booking, _ = add_booking(db.session, clinician.id)
    booking.status, booking.sequence = "cancelled", 1
    signals.booking_cancelled.send(None, session=db.session, now=NOW, booking=booking, actor=None, reason="x")
    db.session.commit()
    send_due(db.session, backend=FolderBackend(str(tmp_path / "mail")), envelope=ENVELOPE, policy=policy(), now=NOW)
    files = {path.read_bytes() for path in (tmp_path / "mail").glob("*.eml")}
    parsed = [email.message_from_bytes(data, policy=email_policy.default) for data in files]
    [invite] = [message for message in parsed if message["To"] == "jordan@patient.example"]
    assert invite.get_content_type() == "multipart/mixed"
    alternative, attachment = invite.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    text, calendar_part = alternative.iter_parts()
    assert text.get_content_type() == "text/plain" and "cancelled" in text.get_content()
    assert calendar_part.get_content_type() == "text/calendar"
    assert calendar_part.get_param("method") == "CANCEL"
    assert "METHOD:CANCEL" in calendar_part.get_content()
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content().decode() == calendar_part.get_content()
    [staff] = [message for message in parsed if message["To"] == clinician.email]
    assert staff.get_content_type() == "text/plain"


def make_intake(db, *, urgent=False, email_address="sam@patient.example"):
    """A submitted intake of a patient with encrypted contact details."""
    patient = make_patient(db.session, name="Sam", email=email_address, phone="555")
    intake = Intake(status="submitted", urgent=urgent, submitted_at=NOW, patient_id=patient.id)
    db.session.add(intake)
    db.session.flush()
    return intake


def test_intake_signals_queue_patient_links_and_staff_notices_without_health_data(db, make_staff):
    clinicians = [make_staff("clinician"), make_staff("clinician"), make_staff("clinician", active=False)]
    make_staff("receptionist")
    intake = make_intake(db, urgent=True)
    signals.intake_started.send(None, session=db.session, now=NOW, intake=intake, email="sam@patient.example",
                                link="http://x/intake/resume/abc")
    signals.intake_submitted.send(None, session=db.session, now=NOW, intake=intake)
    signals.intake_cleared.send(None, session=db.session, now=NOW, intake=intake, actor=clinicians[0],
                                link="http://x/book/start/def")
    db.session.commit()
    rows = messages(db.session)
    assert [(row.kind, row.recipient) for row in rows] == [
        ("intake_resume", "sam@patient.example"),
        ("staff_urgent_intake", clinicians[0].email),
        ("staff_urgent_intake", clinicians[1].email),
        ("intake_cleared", "sam@patient.example"),
    ]
    assert "http://x/intake/resume/abc" in rows[0].body_text
    assert "/staff/intakes" in rows[1].body_text and rows[1].subject.startswith("URGENT")
    assert "http://x/book/start/def" in rows[3].body_text
    assert_no_health_data(rows)


def test_a_routine_intake_is_a_new_intake_notice(db, make_staff):
    make_staff("clinician")
    signals.intake_submitted.send(None, session=db.session, now=NOW, intake=make_intake(db))
    db.session.commit()
    [row] = messages(db.session)
    assert row.kind == "staff_new_intake" and row.subject == "An intake needs review"


def test_patient_times_show_the_patient_zone_when_it_differs(db, make_staff):
    clinician = make_staff("clinician")
    booking, _ = add_booking(db.session, clinician.id, starts_at=BASE_TIME, patient_timezone="America/Los_Angeles")
    signals.booking_created.send(None, session=db.session, now=NOW, booking=booking, actor=None, link=LINK)
    db.session.commit()
    body = messages(db.session)[0].body_text
    # 15:00 UTC on 1 December is 10:00 in New York and 07:00 in Los Angeles.
    assert "10:00 AM EST" in body and "7:00 AM PST, your time" in body
