"""Booking rules that once had gaps: demoted clinicians, corrected intakes, "not suitable",
the patient's cut-off, the staff status changes, and staff changes racing a patient's."""

import html
import re
import threading
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import clinic_day, free_slots, local_instant
from booking.appointments.bookings import (AlreadyBooked, NotAllowed, NotBookable, before_cutoff,
                                           cancel_booking, check_time, create_booking, move_booking)
from booking.models import Booking, Intake, StaffUser
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake, context, earlier_today, utc
from tests.conftest import postgres_only

EVERY_DAY = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}
NOW = utc(2030, 6, 3, 12, 0)  # a Monday, 8:00 in New York
TUESDAY_TEN = utc(2030, 6, 4, 14, 0)  # 10:00 in New York, 26 hours after NOW


def link(token):
    return f"https://clinic.example/book/manage/{token}"


def buttons(page):
    """The statuses offered by the day list's and booking page's status forms."""
    return re.findall(r'name="status" value="([a-z_]+)"', page)


def test_a_clinician_demoted_to_another_role_is_no_longer_bookable(db):
    doctor = add_clinician(db.session, hours=EVERY_DAY)
    day = clinic_day(TUESDAY_TEN, ZONE)
    assert any(s.clinician_id == doctor for s in free_slots(db.session, day, day, ZONE, now=NOW,
                                                            rules=context(NOW).rules))
    db.session.get(StaffUser, doctor).role = "receptionist"
    db.session.commit()
    assert free_slots(db.session, day, day, ZONE, now=NOW, rules=context(NOW).rules) == []
    with pytest.raises(NotBookable):
        check_time(db.session, context(NOW), doctor, TUESDAY_TEN)


def test_a_corrected_questionnaire_cannot_hold_a_second_active_booking(app, db):
    doctor = add_clinician(db.session, hours=EVERY_DAY)
    first_id, _ = add_intake(db.session, app.config)
    patient_id = db.session.get(Intake, first_id).patient_id
    create_booking(db.session, context(NOW), clinician_id=doctor, starts_at=TUESDAY_TEN, patient_id=patient_id,
                   link_for=link, intake_id=first_id)
    db.session.commit()
    correction = Intake(status="submitted", previous_id=first_id, patient_id=patient_id)
    db.session.add(correction)
    db.session.commit()
    with pytest.raises(AlreadyBooked):
        create_booking(db.session, context(NOW), clinician_id=doctor, starts_at=TUESDAY_TEN + timedelta(hours=1),
                       patient_id=patient_id, link_for=link, intake_id=correction.id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


@pytest.fixture
def not_suitable(app, db):
    """A booking whose intake a clinician has found not suitable; returns (booking, manage token)."""
    doctor = add_clinician(db.session, hours=EVERY_DAY)
    intake_id, _ = add_intake(db.session, app.config)
    db.session.get(Intake, intake_id).decision = "not_suitable"
    starts_at = local_instant(clinic_day(utcnow(), ZONE) + timedelta(days=5), time(10), ZONE)
    booking_id, token = add_booking(db.session, doctor, starts_at, intake_id=intake_id)
    return db.session.get(Booking, booking_id), token


def test_not_suitable_stops_the_patient_rescheduling_but_not_cancelling(client, db, not_suitable):
    booking, token = not_suitable
    ctx = context(utcnow())
    with pytest.raises(NotAllowed, match="call the clinic"):
        move_booking(db.session, ctx, booking, starts_at=booking.starts_at + timedelta(hours=1))
    db.session.rollback()
    page = html.unescape(client.get(f"/book/manage/{token}").get_data(as_text=True))
    assert "Choose another time" not in page and 'id="reschedule-by-phone"' in page
    assert "Cancel this booking" in page
    assert 'id="reschedule-closed"' in client.get(f"/book/manage/{token}/reschedule").get_data(as_text=True)
    # Staff may still move it.
    move_booking(db.session, ctx, booking, starts_at=booking.starts_at + timedelta(hours=1), actor=booking.clinician)
    cancel_booking(db.session, ctx, booking, actor=booking.clinician)


def test_the_cut_off_is_inclusive_at_exactly_the_cut_off(db):
    booking = Booking(starts_at=NOW + timedelta(hours=24), status="booked")
    assert before_cutoff(booking, context(NOW))
    assert not before_cutoff(booking, context(NOW + timedelta(minutes=1)))


def test_the_manage_page_past_the_cut_off_offers_only_a_phone_call(client, db, app):
    doctor = add_clinician(db.session, hours=EVERY_DAY)
    _id, token = add_booking(db.session, doctor, utcnow() + timedelta(hours=3))
    page = client.get(f"/book/manage/{token}").get_data(as_text=True)
    assert 'id="past-cutoff"' in page and "up to 24 hours before" in page
    assert "Choose another time" not in page and "Cancel this booking" not in page


def test_status_transitions_beyond_arrived_through_the_day_list(client, db, make_staff, login):
    doctor = add_clinician(db.session, hours=EVERY_DAY)
    login(make_staff("receptionist"))
    starts_at = earlier_today(1)
    booking_id, _ = add_booking(db.session, doctor, starts_at, name="Sam Status")
    day = f"/staff/schedule?date={clinic_day(starts_at, ZONE).isoformat()}"
    assert buttons(client.get(day).get_data(as_text=True)) == ["arrived", "completed", "no_show"]
    client.post(f"/staff/schedule/booking/{booking_id}/status", data={"status": "arrived"})
    assert buttons(client.get(day).get_data(as_text=True)) == ["completed", "undo"]
    client.post(f"/staff/schedule/booking/{booking_id}/status", data={"status": "completed"})
    assert buttons(client.get(day).get_data(as_text=True)) == ["undo"]
    refused = client.post(f"/staff/schedule/booking/{booking_id}/status", data={"status": "no_show"},
                          follow_redirects=True)
    assert "cannot be marked no-show" in html.unescape(refused.get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).status == "completed"
    assert [e.kind for e in db.session.get(Booking, booking_id).events] == ["created", "arrived", "completed"]


def test_a_staff_move_waits_for_a_patient_cancel_and_then_refuses(app, db, client, make_staff, login):
    """PostgreSQL: the staff move locks the row first, so it sees the cancel instead of moving a cancelled booking."""
    postgres_only()
    doctor = add_clinician(db.session, hours=EVERY_DAY)
    login(make_staff("receptionist"))
    day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    booking_id, _ = add_booking(db.session, doctor, local_instant(day, time(10), ZONE))
    db.session.remove()
    patient = db.engine.connect()
    patient_tx = patient.begin()
    patient.execute(sa.text("UPDATE booking SET status = 'cancelled' WHERE id = :id"), {"id": booking_id})
    result = {}
    mover = threading.Thread(target=lambda: result.update(response=client.post(
        f"/staff/schedule/booking/{booking_id}/move",
        data={"clinician": str(doctor), "date": day.isoformat(), "time": "11:00"})))
    mover.start()
    # Wait until the move is queued behind the patient's row lock. Autocommit: inside one
    # transaction pg_stat_activity is a snapshot taken at its first read and never changes.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        for _ in range(2000):
            if watcher.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND datname = current_database()")).scalar():
                break
            threading.Event().wait(0.01)
        else:
            pytest.fail("the staff move never waited for the patient's transaction")
    patient_tx.commit()
    patient.close()
    mover.join()
    assert "cancelled" in html.unescape(result["response"].get_data(as_text=True))
    booking = db.session.get(Booking, booking_id)
    assert booking.status == "cancelled" and booking.starts_at == local_instant(day, time(10), ZONE)
    assert [e.kind for e in booking.events] == ["created"]
