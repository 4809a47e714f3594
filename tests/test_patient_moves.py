"""Moves tell the right people: recipients and words of every email, for every move path."""

import html
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_instant
from booking.appointments.web import slot_value
from booking.models import Booking, OutboxMessage
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician
from tests.outbox_helpers import body_of, recipient_of
from tests.patient_factories import make_patient

EVERY_DAY = {day: [(time(9), time(17))] for day in range(7)}


@pytest.fixture
def moves(app, db, make_staff, login, client):
    """Dr Priya Patel and Dr Ken Okafor, a booking with Dr Patel in four days, and a receptionist."""
    patel = add_clinician(db.session, name="Dr Priya Patel", hours=EVERY_DAY)
    okafor = add_clinician(db.session, name="Dr Ken Okafor", hours=EVERY_DAY)
    day = clinic_day(utcnow(), ZONE) + timedelta(days=4)
    patient = make_patient(db.session, name="Robin Mover", email="robin@patient.example")
    db.session.commit()
    booking_id, token = add_booking(db.session, patel, local_instant(day, time(10), ZONE), patient_id=patient.id)
    return {"patel": patel, "okafor": okafor, "day": day, "booking_id": booking_id, "token": token,
            "at": lambda hour: local_instant(day, time(hour), ZONE), "reception": make_staff("receptionist")}


def outbox(db):
    """{recipient: [(subject, body)]} of the change emails queued so far."""
    db.session.expire_all()
    rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    found = {}
    for row in rows:
        found.setdefault(recipient_of(row), []).append((row.subject, body_of(row)))
    return found


def clinician_email(db, clinician_id):
    from booking.models import StaffUser

    return db.session.get(StaffUser, clinician_id).email


def move_as_patient(client, moves, hour, clinician):
    return client.post(f"/book/manage/{moves['token']}/reschedule",
                       data={"start": slot_value(moves["at"](hour)), "clinician": str(clinician)})


def move_as_staff(client, login, moves, hour, clinician):
    login(moves["reception"])
    return client.post(f"/staff/schedule/booking/{moves['booking_id']}/move",
                       data={"clinician": str(clinician), "date": moves["day"].isoformat(), "time": f"{hour:02d}:00"})


@pytest.mark.parametrize("path", ["patient", "staff"])
def test_a_move_to_another_clinician_tells_both_clinicians_and_the_patient(client, db, login, moves, path):
    if path == "patient":
        response = move_as_patient(client, moves, 14, moves["okafor"])
    else:
        response = move_as_staff(client, login, moves, 14, moves["okafor"])
    assert response.status_code == 302
    sent = outbox(db)
    [(_subject, patient_body)] = sent["robin@patient.example"]
    assert "has moved to" in patient_body and "with Dr Ken Okafor" in patient_body
    assert "Your clinician has changed: you will now see Dr Ken Okafor instead of Dr Priya Patel" in patient_body
    assert "2:00 PM" in patient_body and ("EST" in patient_body or "EDT" in patient_body)
    [(old_subject, old_body)] = sent[clinician_email(db, moves["patel"])]
    [(new_subject, new_body)] = sent[clinician_email(db, moves["okafor"])]
    # The old clinician hears which of their times was freed; the new one, which time was added.
    assert old_subject.startswith("Booking removed from your schedule") and "10:00 AM" in old_body
    assert "Okafor" not in old_body and "2:00 PM" not in old_body
    assert new_subject.startswith("Booking added to your schedule") and "2:00 PM" in new_body
    assert "with Dr Ken Okafor" in new_body and "Patel" not in new_body
    assert "Robin" not in old_body + new_body  # staff emails never name the patient
    history = html.unescape(_booking_page(client, login, moves))
    assert "clinician changed from Dr Priya Patel to Dr Ken Okafor" in history
    assert "T15:00:00+00:00" not in history and " PM E" in history  # clinic time with its abbreviation


@pytest.mark.parametrize("path", ["patient", "staff"])
def test_a_move_with_the_same_clinician_tells_that_clinician_once(client, db, login, moves, path):
    if path == "patient":
        response = move_as_patient(client, moves, 15, moves["patel"])
    else:
        response = move_as_staff(client, login, moves, 15, moves["patel"])
    assert response.status_code == 302
    sent = outbox(db)
    [(_subject, patient_body)] = sent["robin@patient.example"]
    assert "has moved to" in patient_body and "with Dr Priya Patel" in patient_body
    assert "Your clinician has changed" not in patient_body
    [(subject, body)] = sent[clinician_email(db, moves["patel"])]
    assert subject.startswith("Booking moved") and "with Dr Priya Patel" in body
    assert clinician_email(db, moves["okafor"]) not in sent
    assert db.session.get(Booking, moves["booking_id"]).events[-1].detail.startswith("from ")


def _booking_page(client, login, moves):
    login(moves["reception"])
    return client.get(f"/staff/schedule/booking/{moves['booking_id']}").get_data(as_text=True)


def test_every_patient_email_names_the_clinician(client, db, login, moves):
    login(moves["reception"])
    client.post(f"/staff/schedule/booking/{moves['booking_id']}/cancel", data={"reason": ""})
    [(_subject, body)] = outbox(db)["robin@patient.example"]
    assert "with Dr Priya Patel" in body and "is cancelled" in body
