"""Issue 11 point 1: staff undo a cancellation the same day, if the database still has room for the booking."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.bookings import NotAllowed
from booking.appointments.statuses import UNDO, set_status, status_changes, undo_target
from booking.models import Booking, BookingEvent, OutboxMessage
from tests.booking_factories import add_booking, add_clinician, context, utc
from tests.factories import create_staff_user
from tests.outbox_helpers import body_of, ics_of, recipient_of
from tests.staff_helpers import audit_rows
from tests.test_booking_rule_records import history
from tests.test_booking_staff import phone_form, staff, text  # noqa: F401 (staff is a fixture)

START = utc(2030, 6, 3, 14, 0)  # a Monday, 10:00 in New York


def cancelled_at(moment):
    """A booking at START cancelled at `moment`, with that in its history."""
    return Booking(starts_at=START, ends_at=START + timedelta(minutes=30), status="cancelled", cancelled_at=moment,
                   events=[BookingEvent(kind="created", at=moment - timedelta(days=3)),
                           BookingEvent(kind="cancelled", at=moment)])


def test_a_cancellation_is_undone_only_on_the_day_it_was_made():
    morning = START - timedelta(hours=3)  # 07:00 in New York
    assert undo_target(cancelled_at(morning), context(morning + timedelta(hours=2))) == "booked"
    assert status_changes(cancelled_at(morning), context(morning + timedelta(hours=2))) == (UNDO,)
    next_day = context(morning + timedelta(hours=20))  # 03:00 the next day in New York
    assert undo_target(cancelled_at(morning), next_day) is None
    with pytest.raises(NotAllowed) as refused:
        set_status(None, next_day, cancelled_at(morning), UNDO, actor=None)
    assert refused.value.message == "A cancellation can only be undone on the day it was made."
    undone_once = cancelled_at(morning)
    undone_once.events.append(BookingEvent(kind="undone", at=morning + timedelta(minutes=5)))
    undone_once.events.append(BookingEvent(kind="cancelled", at=morning + timedelta(minutes=9)))
    assert undo_target(undone_once, context(morning + timedelta(hours=1))) == "booked"


def cancel(client, booking_id):
    """Staff cancel the booking from its page."""
    assert client.post(f"/staff/schedule/booking/{booking_id}/cancel", data={"reason": "Called in"}).status_code == 302


def test_staff_undo_a_cancellation_the_patient_is_told_and_it_is_in_the_history(client, db, staff):
    booked = client.post("/staff/schedule/book", data=phone_form(staff))
    booking_id = int(booked.headers["Location"].rsplit("/", 1)[1])
    cancel(client, booking_id)
    page = f"/staff/schedule/booking/{booking_id}"
    assert "Undo cancelled" in text(client.get(page))
    undone = client.post(f"{page}/status", data={"status": "undo"})
    assert undone.status_code == 302
    shown = text(client.get(page))
    assert '<span class="badge">Booked</span>' in shown and "cancelled undone; back to booked" in shown
    assert "Cancellation reason" not in shown
    db.session.expire_all()
    restored = db.session.get(Booking, booking_id)
    assert (restored.status, restored.cancelled_at, restored.sequence) == ("booked", None, 2)
    assert audit_rows(db.session, "change_booking")[-1].detail == "status cancelled to booked"
    [email] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "booking_restored")).all()
    assert recipient_of(email) == "phone@example.org" and "is booked again" in body_of(email)
    assert "METHOD:REQUEST" in ics_of(email) and "SEQUENCE:2" in ics_of(email)
    # The time is held again: nobody else can book it.
    taken = client.post("/staff/schedule/book", data=phone_form(staff, patient="second"))
    assert taken.status_code == 409


def test_undo_is_refused_when_the_time_was_taken_meanwhile(client, db, staff):
    booked = client.post("/staff/schedule/book", data=phone_form(staff))
    booking_id = int(booked.headers["Location"].rsplit("/", 1)[1])
    cancel(client, booking_id)
    assert client.post("/staff/schedule/book", data=phone_form(staff, patient="second")).status_code == 302
    refused = client.post(f"/staff/schedule/booking/{booking_id}/status", data={"status": "undo"},
                          follow_redirects=True)
    assert ("That time has been taken since the cancellation, so the cancellation stays. "
            "Book the patient again at another time.") in text(refused)
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).status == "cancelled"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.kind == "booking_restored")) == 0


def test_undo_is_refused_when_the_patient_booked_another_consultation(client, db, staff):
    booked = client.post("/staff/schedule/book", data=phone_form(staff))
    booking_id = int(booked.headers["Location"].rsplit("/", 1)[1])
    cancel(client, booking_id)
    assert client.post("/staff/schedule/book", data=phone_form(staff, hour=11)).status_code == 302
    refused = client.post(f"/staff/schedule/booking/{booking_id}/status", data={"status": "undo"},
                          follow_redirects=True)
    assert ("The patient has booked another consultation since this one was cancelled, so the cancellation "
            "stays. Move that booking instead if this time suits.") in text(refused)
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).status == "cancelled"


def test_an_undone_cancellation_is_in_the_history_at_the_time_given_with_who_undid_it(db):
    doctor = add_clinician(db.session)
    desk = create_staff_user(db.session, "receptionist")
    booking_id, _token = add_booking(db.session, doctor, START, status="cancelled")  # cancelled at START
    db.session.add(BookingEvent(booking_id=booking_id, kind="cancelled", at=START))
    db.session.commit()
    later = START + timedelta(hours=2)  # 12:00 the same day in New York
    set_status(db.session, context(later), db.session.get(Booking, booking_id), UNDO, actor=desk)
    db.session.commit()
    assert history(db, booking_id)[-1] == ("undone", later, desk.id, "cancelled undone; back to booked")
    assert db.session.get(Booking, booking_id).status == "booked"
