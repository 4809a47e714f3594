"""Phone bookings start from a patient: clearance at the front desk, one upcoming consultation, purge."""

import html
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_instant
from booking.models import Booking, Intake
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician
from tests.intake_factories import answers_with, create_intake
from tests.outbox_helpers import body_of
from tests.patient_factories import make_patient

EVERY_DAY = {day: [(time(9), time(17))] for day in range(7)}


def text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def desk(app, db):
    """A clinician open every day, and a patient whose questionnaire waits for clearance."""
    clinician = add_clinician(db.session, name="Dr Clear", hours=EVERY_DAY)
    intake = create_intake(db.session, app.config, answers_with(medical={"bp_systolic": 170, "bp_diastolic": 104}))
    day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    return {"clinician": clinician, "intake_id": intake.id, "patient_id": intake.patient_id, "day": day}


def book(client, desk, hour=10):
    return client.post("/staff/schedule/book", data={
        "patient": str(desk["patient_id"]), "clinician": str(desk["clinician"]), "date": desk["day"].isoformat(),
        "time": f"{hour:02d}:00"})


def test_a_receptionist_cannot_book_a_patient_waiting_for_clearance(app, db, client, make_staff, login, desk):
    login(make_staff("receptionist"))
    response = book(client, desk)
    page = text(response)
    assert response.status_code == 400
    assert "waiting for a clinician's clearance" in page and "Ask a clinician to review it" in page
    assert db.session.scalars(sa.select(Booking)).all() == []


def test_a_clinician_may_book_a_patient_waiting_for_clearance(app, db, client, make_staff, login, desk):
    login(make_staff("clinician"))
    assert book(client, desk).status_code == 302
    assert db.session.scalars(sa.select(Booking.patient_id)).all() == [desk["patient_id"]]


def test_after_clearance_the_front_desk_may_book(app, db, client, make_staff, login, desk):
    intake = db.session.get(Intake, desk["intake_id"])
    intake.cleared_at = utcnow()
    db.session.commit()
    login(make_staff("receptionist"))
    assert book(client, desk).status_code == 302
    # The patient has a questionnaire already: the confirmation carries no questionnaire link.
    from booking.models import OutboxMessage

    body = body_of(db.session.scalars(sa.select(OutboxMessage)
                                      .where(OutboxMessage.kind == "booking_confirmation")).one())
    assert "/intake/" not in body and "with Dr Clear" in body


def test_the_booking_form_starts_by_finding_the_patient(app, db, client, make_staff, login):
    login(make_staff("receptionist"))
    page = text(client.get("/staff/schedule/book?start=2026-03-03T15:00Z&clinician=1"))
    assert 'action="/staff/patients"' in page and 'name="start" value="2026-03-03T15:00Z"' in page
    assert "New patient" in page


def test_a_receptionist_creates_a_patient_on_the_spot(app, db, client, make_staff, login):
    login(make_staff("receptionist"))
    response = client.post("/staff/patients/new", data={"name": "New Caller", "phone": "555 010 4444",
                                                         "date_of_birth": "1980-02-30", "start": "2026-03-03T15:00Z"})
    assert response.status_code == 400 and 'value="New Caller"' in text(response)  # nothing typed is lost
    response = client.post("/staff/patients/new", data={"name": "New Caller", "phone": "555 010 4444",
                                                         "date_of_birth": "1980-02-28", "start": "2026-03-03T15:00Z"})
    assert response.status_code == 302 and "start=2026-03-03T15:00Z" in response.headers["Location"]
    record = text(client.get(response.headers["Location"]))
    assert "New Caller" in record and "/staff/schedule/book?patient=" in record


def test_the_database_refuses_a_second_upcoming_consultation(app, db):
    clinician = add_clinician(db.session, hours=EVERY_DAY)
    patient = make_patient(db.session)
    db.session.commit()
    day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    add_booking(db.session, clinician, local_instant(day, time(10), ZONE), patient_id=patient.id)
    add_booking(db.session, clinician, local_instant(day, time(9), ZONE), patient_id=patient.id, status="completed")
    with pytest.raises(sa.exc.IntegrityError):
        add_booking(db.session, clinician, local_instant(day, time(11), ZONE), patient_id=patient.id)


def test_purge_drafts_keeps_an_urgent_draft_no_clinician_has_seen(app, db, runner, client, make_staff, login):
    old = utcnow() - timedelta(days=60)
    crisis = create_intake(db.session, app.config, answers_with(phq9={"phq9_9": 2}), submit=False, now=old)
    seen = create_intake(db.session, app.config, answers_with(phq9={"phq9_9": 1}), submit=False, now=old)
    plain = create_intake(db.session, app.config, submit=False, now=old)
    assert crisis.urgent and seen.urgent and not plain.urgent
    crisis_id, seen_id = crisis.id, seen.id
    login(make_staff("clinician"))
    assert client.get(f"/staff/intakes/{seen_id}").status_code == 200  # a clinician opens it
    result = runner.invoke(args=["purge-drafts"])
    assert "Deleted 2 draft" in result.output
    db.session.expire_all()
    assert db.session.scalars(sa.select(Intake.id)).all() == [crisis_id]
