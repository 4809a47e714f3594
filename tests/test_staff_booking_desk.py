"""Staff at the desk: past the horizon only after confirming, native date and time inputs, walk-ins, off-grid times."""

import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_instant
from booking.models import Booking
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician
from tests.patient_factories import make_patient

EVERY_DAY = {day: [(time(8), time(19))] for day in range(7)}
BOX = "Yes, book beyond the horizon"


@pytest.fixture
def desk(db, make_staff, login):
    """A clinician working every day, a patient, a signed-in receptionist, and a day 90 days ahead."""
    clinician = add_clinician(db.session, hours=EVERY_DAY)
    patient = make_patient(db.session, name="Hal Horizon", email="hal@patient.example")
    db.session.commit()
    login(make_staff("receptionist"))
    far_day = clinic_day(utcnow(), ZONE) + timedelta(days=90)  # the default horizon is 60 days
    return {"clinician": clinician, "patient": patient.id, "far_day": far_day}


def booked(db):
    db.session.expire_all()
    return db.session.scalars(sa.select(Booking).where(Booking.active)).all()


def test_a_phone_booking_past_the_horizon_asks_first_then_books(client, db, desk):
    typed = {"patient": str(desk["patient"]), "clinician": str(desk["clinician"]),
             "date": desk["far_day"].isoformat(), "time": "10:00"}
    refused = client.post("/staff/schedule/book", data=typed)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "beyond the booking horizon (60 days ahead)" in page
    assert BOX in page and f'value="{desk["far_day"].isoformat()}"' in page  # the date typed stays
    assert booked(db) == []
    confirmed = client.post("/staff/schedule/book", data={**typed, "beyond_horizon": "y"})
    assert confirmed.status_code == 302
    [booking] = booked(db)
    assert booking.starts_at == local_instant(desk["far_day"], time(10), ZONE)


def test_the_confirmation_box_is_not_offered_within_the_horizon(client, db, desk):
    page = client.get(f"/staff/schedule/book?patient={desk['patient']}").get_data(as_text=True)
    assert BOX not in page


def test_a_move_past_the_horizon_asks_first_then_moves(client, db, desk):
    soon = local_instant(clinic_day(utcnow(), ZONE) + timedelta(days=3), time(10), ZONE)
    booking_id, _token = add_booking(db.session, desk["clinician"], soon, patient_id=desk["patient"])
    typed = {"clinician": str(desk["clinician"]), "date": desk["far_day"].isoformat(), "time": "11:00"}
    refused = client.post(f"/staff/schedule/booking/{booking_id}/move", data=typed)
    assert refused.status_code == 400 and BOX in refused.get_data(as_text=True)
    assert booked(db)[0].starts_at == soon
    moved = client.post(f"/staff/schedule/booking/{booking_id}/move", data={**typed, "beyond_horizon": "y"})
    assert moved.status_code == 302
    assert booked(db)[0].starts_at == local_instant(desk["far_day"], time(11), ZONE)


def test_date_and_time_are_native_inputs_that_still_take_typed_text(client, db, desk):
    page = client.get(f"/staff/schedule/book?patient={desk['patient']}").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="date"[^>]*type="date"', page)
    assert re.search(r'<input[^>]*name="time"[^>]*type="time"', page)
    # A browser without pickers sends what was typed: "9:30" (no leading zero) still books.
    day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    response = client.post("/staff/schedule/book", data={"patient": str(desk["patient"]),
                                                         "clinician": str(desk["clinician"]),
                                                         "date": day.isoformat(), "time": "9:30"})
    assert response.status_code == 302
    assert booked(db)[0].starts_at == local_instant(day, time(9, 30), ZONE)


@pytest.fixture
def at_10_12(monkeypatch):
    """The request's clock at 10:12 clinic time tomorrow: the 10:00 consultation has started."""
    from booking.appointments import web
    now = local_instant(clinic_day(utcnow(), ZONE) + timedelta(days=1), time(10, 12), ZONE)
    monkeypatch.setattr(web, "utcnow", lambda: now)
    return now


def test_book_now_takes_the_time_that_has_started_when_it_is_free(client, db, desk, at_10_12):
    response = client.post("/staff/schedule/book/now", data={"walk-in-patient": str(desk["patient"]),
                                                            "walk-in-clinician": "any"})
    assert response.status_code == 302 and "/staff/schedule/booking/" in response.location
    [booking] = booked(db)
    assert booking.starts_at == at_10_12 - timedelta(minutes=12)  # the 10:00 that started 12 minutes ago
    assert "walk-in" in booking.events[0].detail


def test_book_now_skips_a_running_time_that_is_taken(client, db, desk, at_10_12):
    first = client.post("/staff/schedule/book/now", data={"walk-in-patient": str(desk["patient"]),
                                                         "walk-in-clinician": str(desk["clinician"])})
    assert first.status_code == 302
    other = make_patient(db.session, name="Ivy Next", email="ivy@patient.example")
    db.session.commit()
    client.post("/staff/schedule/book/now", data={"walk-in-patient": str(other.id),
                                                  "walk-in-clinician": str(desk["clinician"])})
    starts = sorted(booking.starts_at for booking in booked(db))
    assert starts == [at_10_12 - timedelta(minutes=12), at_10_12 + timedelta(minutes=18)]


def test_an_off_grid_time_needs_a_stated_reason(client, db, desk):
    day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    typed = {"patient": str(desk["patient"]), "clinician": str(desk["clinician"]), "date": day.isoformat(),
             "time": "10:10"}
    refused = client.post("/staff/schedule/book", data=typed)
    assert refused.status_code == 400 and "give a reason to book it anyway" in refused.get_data(as_text=True)
    assert booked(db) == []
    accepted = client.post("/staff/schedule/book", data={**typed, "off_grid_reason": "fitted in between"})
    assert accepted.status_code == 302
    [booking] = booked(db)
    assert booking.starts_at == local_instant(day, time(10, 10), ZONE)
    assert booking.ends_at - booking.starts_at == timedelta(minutes=30)
    assert "off the grid: fitted in between" in booking.events[0].detail
