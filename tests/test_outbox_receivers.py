"""Booking and intake signals become outbox rows in the same transaction, with no health data."""

import email
from datetime import timedelta
from email import policy as email_policy

import icalendar
import sqlalchemy as sa

from booking import signals
from booking.appointments.bookings import cancel_booking, create_booking, move_booking
from booking.models import Booking, Intake, OutboxMessage, StaffUser
from booking.outbox.backends import FolderBackend
from booking.outbox.sender import send_due
from tests.booking_factories import add_clinician, context, utc
from tests.patient_factories import make_patient
from tests.calendar_factories import BASE_TIME, add_booking
from tests.outbox_helpers import ENVELOPE, NOW, at, body_of, ics_of, policy, recipient_of

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
        text = f"{row.subject}\n{body_of(row)}\n{ics_of(row) or ''}".lower()
        for word in HEALTH_WORDS:
            assert word not in text, (row.kind, word)


def test_booking_life_cycle_keeps_the_uid_and_raises_the_sequence(db):
    # Driven through the booking rules, which raise SEQUENCE themselves (the test does not).
    clinician = db.session.get(StaffUser, add_clinician(db.session, name="Dr Priya Patel"))
    now = utc(2030, 6, 3, 12)  # Monday 8:00 in New York
    tuesday = utc(2030, 6, 4, 14)  # 10:00 in New York
    patient_id = make_patient(db.session, name="Jordan Rivers", email="jordan@patient.example").id
    booking, _token = create_booking(db.session, context(now), clinician_id=clinician.id, starts_at=tuesday,
                                     patient_id=patient_id, link_for=lambda token: LINK)
    db.session.commit()
    for hours in (1, 2):  # move, move
        move_booking(db.session, context(now), booking, starts_at=booking.starts_at + timedelta(hours=hours))
        db.session.commit()
    cancel_booking(db.session, context(now), booking)
    db.session.commit()

    rows = messages(db.session)
    patient = [row for row in rows if recipient_of(row) == "jordan@patient.example"]
    staff = [row for row in rows if recipient_of(row) == clinician.email]
    assert [row.kind for row in patient] == ["booking_confirmation", "booking_change", "booking_change",
                                             "booking_cancellation"]
    assert [row.kind for row in staff] == ["staff_booking_changed"] * 4
    invites = [uid_and_sequence(ics_of(row)) for row in patient]
    assert {uid for uid, _, _ in invites} == {f"booking-{booking.id}@clinic.example"}
    assert [sequence for _, sequence, _ in invites] == [0, 1, 2, 3]
    assert [method for _, _, method in invites] == ["REQUEST", "REQUEST", "REQUEST", "CANCEL"]
    assert [row.ics_method for row in patient] == ["REQUEST", "REQUEST", "REQUEST", "CANCEL"]
    assert LINK in body_of(patient[0])
    assert "Jordan" not in "".join(body_of(row) + row.subject for row in staff)  # no patient details to staff
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
    assert [(row.kind, recipient_of(row)) for row in messages(db.session)] == [("staff_booking_changed", clinician.email)]


def test_invite_email_is_imip_with_matching_methods(db, make_staff, tmp_path):
    clinician = make_staff("clinician")
    booking, _ = add_booking(db.session, clinician.id)
    booking.status, booking.sequence = "cancelled", 1
    signals.booking_cancelled.send(None, session=db.session, now=NOW, booking=booking, actor=None, reason="x")
    db.session.commit()
    send_due(db.session, backend=FolderBackend(str(tmp_path / "mail")), envelope=ENVELOPE, policy=policy(), clock=at(NOW))
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
    assert [(row.kind, recipient_of(row)) for row in rows] == [
        ("intake_resume", "sam@patient.example"),
        ("staff_urgent_intake", clinicians[0].email),
        ("staff_urgent_intake", clinicians[1].email),
        ("intake_cleared", "sam@patient.example"),
    ]
    assert "http://x/intake/resume/abc" in body_of(rows[0])
    assert "/staff/intakes" in body_of(rows[1]) and rows[1].subject.startswith("URGENT")
    assert "http://x/book/start/def" in body_of(rows[3])
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
    body = body_of(messages(db.session)[0])
    # 15:00 UTC on 1 December is 10:00 in New York and 07:00 in Los Angeles.
    assert "10:00 AM EST" in body and "7:00 AM PST, your time" in body


def test_a_new_bookings_emails_are_composed_before_its_first_write(db, monkeypatch):
    # On SQLite a transaction holds the database's one write turn, which every other writer
    # waits for, from its first write to its COMMIT. The confirmation, its invite and the
    # clinician's note are composed before the booking's INSERT, and the invite only given its
    # UID (the booking's id) after it.
    from booking.outbox import receivers

    clinician = db.session.get(StaffUser, add_clinician(db.session, name="Dr Priya Patel"))
    patient_id = make_patient(db.session, name="Jordan Rivers", email="jordan@patient.example").id
    db.session.commit()
    writes, composed_after = [], []

    def note_write(conn, cursor, statement, parameters, context, executemany):
        """Remember each write statement the engine sends."""
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writes.append(statement)

    def noting(real):
        """`real`, noting how many writes had been sent when it was called."""
        def composed(*args, **kwargs):
            """Note, then compose."""
            composed_after.append(len(writes))
            return real(*args, **kwargs)
        return composed

    for name in ("booking_confirmation", "staff_booking_changed"):
        monkeypatch.setattr(receivers.messages, name, noting(getattr(receivers.messages, name)))
    monkeypatch.setattr(receivers, "invite_draft_for", noting(receivers.invite_draft_for))
    sa.event.listen(db.engine, "before_cursor_execute", note_write)
    try:
        booking, _token = create_booking(db.session, context(utc(2030, 6, 3, 12)), clinician_id=clinician.id,
                                         starts_at=utc(2030, 6, 4, 14), patient_id=patient_id,
                                         link_for=lambda token: LINK)
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note_write)
    assert sorted(composed_after) == [0, 0, 0]  # the patient's words, the invite, the clinician's note
    assert writes and writes[0].startswith("INSERT INTO booking ")
    rows = messages(db.session)
    assert [(row.kind, recipient_of(row)) for row in rows] == [
        ("booking_confirmation", "jordan@patient.example"), ("staff_booking_changed", clinician.email)]
    assert uid_and_sequence(ics_of(rows[0])) == (f"booking-{booking.id}@clinic.example", 0, "REQUEST")
    assert "Dr Priya Patel" in body_of(rows[0]) and LINK in body_of(rows[0])
    assert all(row.booking_id == booking.id for row in rows)
