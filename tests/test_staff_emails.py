"""Staff booking emails: plain subjects, the clinic's time with its zone, the patient's only when it differs."""

from booking import signals
from tests.calendar_factories import BASE_TIME, add_booking
from tests.outbox_helpers import NOW, body_of, recipient_of
from tests.test_outbox_receivers import LINK, messages


def staff_rows(session, clinician):
    """(subject, body) of every email to the clinician, oldest first."""
    return [(row.subject, body_of(row)) for row in messages(session) if recipient_of(row) == clinician.email]


def test_staff_emails_have_plain_subjects_and_label_the_patients_zone_as_the_patients(db, make_staff):
    clinician = make_staff("clinician", name="Dr Zoe Zone")
    booking, _ = add_booking(db.session, clinician.id, starts_at=BASE_TIME, patient_timezone="America/Los_Angeles")
    signals.booking_created.send(None, session=db.session, now=NOW, booking=booking, actor=None, link=LINK)
    signals.booking_moved.send(None, session=db.session, now=NOW, booking=booking, previous_starts_at=BASE_TIME,
                               previous_clinician_id=clinician.id, actor=None, link=None)
    signals.booking_cancelled.send(None, session=db.session, now=NOW, booking=booking, actor=None, reason=None)
    db.session.commit()
    sent = staff_rows(db.session, clinician)
    # 15:00 UTC on 1 December is 10:00 in New York (the clinic) and 07:00 in Los Angeles.
    assert [subject for subject, _ in sent] == ["New booking: Tuesday 1 December 2026, 10:00 AM EST",
                                                "Booking moved: Tuesday 1 December 2026, 10:00 AM EST",
                                                "Booking cancelled: Tuesday 1 December 2026, 10:00 AM EST"]
    for _subject, body in sent:
        assert "Clinic time: Tuesday 1 December 2026, 10:00 AM EST\n" in body
        assert "The patient's time: Tuesday 1 December 2026, 7:00 AM PST\n" in body
        assert "your time" not in body and "Dr Zoe Zone" in body
        assert all(line == line.lstrip() for line in body.splitlines())


def test_a_patient_in_the_clinics_zone_gets_no_second_time_in_the_staff_email(db, make_staff):
    clinician = make_staff("clinician")
    booking, _ = add_booking(db.session, clinician.id, starts_at=BASE_TIME, patient_timezone="America/Toronto")
    signals.booking_created.send(None, session=db.session, now=NOW, booking=booking, actor=None, link=LINK)
    db.session.commit()
    [(subject, body)] = staff_rows(db.session, clinician)
    assert subject == "New booking: Tuesday 1 December 2026, 10:00 AM EST"
    assert "patient's time" not in body and "10:00 AM EST" in body
