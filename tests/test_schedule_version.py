"""The schedule version rises with every committed change that affects availability, and only then."""

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_instant
from booking.appointments.schedule_version import read_plan_version, read_version
from booking.models import Booking, OpeningHours, ScheduleException, ScheduleVersion, StaffUser
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician, earlier_today
from tests.patient_factories import make_patient


def test_a_savepoint_inside_the_transaction_does_not_cancel_the_bump(app, db):
    clinician_id = add_clinician(db.session)
    before = read_version(db.session)
    db.session.add(OpeningHours(clinician_id=clinician_id, weekday=5, start_time=time(9), end_time=time(10)))
    db.session.flush()
    # What the outbox's reminder dedupe does: a savepoint that succeeds, then one that fails.
    with db.session.begin_nested():
        db.session.execute(sa.select(1))
    try:
        with db.session.begin_nested():
            raise ValueError("rolled back savepoint")
    except ValueError:
        pass
    db.session.commit()
    assert read_version(db.session) == before + 1


def test_a_rolled_back_change_does_not_bump_the_next_transaction(app, db):
    clinician_id = add_clinician(db.session)
    before = read_version(db.session)
    db.session.add(OpeningHours(clinician_id=clinician_id, weekday=5, start_time=time(9), end_time=time(10)))
    db.session.flush()
    db.session.rollback()
    db.session.get(StaffUser, clinician_id).must_change_password = True  # a change that affects nothing
    db.session.commit()
    assert read_version(db.session) == before


def test_a_session_the_app_did_not_make_is_left_alone(app, db):
    clinician_id = add_clinician(db.session)
    before = read_version(db.session)
    with sa.orm.Session(db.engine) as other:
        other.add(OpeningHours(clinician_id=clinician_id, weekday=5, start_time=time(9), end_time=time(10)))
        other.commit()
    assert read_version(db.session) == before


# --- Every staff write path that changes availability bumps the version once it commits -------------

def bumps(db, request_):
    """How much the schedule version and the plan version rose across `request_()`; the request
    must succeed (a redirect)."""
    before = read_version(db.session), read_plan_version(db.session)
    response = request_()
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    db.session.expire_all()
    return read_version(db.session) - before[0], read_plan_version(db.session) - before[1]


@pytest.fixture
def desk(app, db, client, make_staff, login):
    """A signed-in receptionist, a clinician open every day, and a booking three days ahead."""
    login(make_staff("receptionist"))
    doctor = add_clinician(db.session, hours={day: [(time(9), time(17))] for day in range(7)})
    day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    booking_id, _ = add_booking(db.session, doctor, local_instant(day, time(10), ZONE))
    today_id, _ = add_booking(db.session, doctor, earlier_today(1))
    return {"doctor": doctor, "day": day, "booking": booking_id, "today": today_id}


BOOKING_ONLY = ("phone booking", "move", "cancel", "status")


@pytest.mark.parametrize("action", ["weekly add", "weekly remove", "exception add", "exception remove", "profile",
                                    "settings", *BOOKING_ONLY])
def test_each_staff_write_path_bumps_the_version(client, db, desk, action):
    # The plan version (what a booking is checked against, cached by the confirm page) rises
    # with everything but a booking's own changes.
    doctor, day = desk["doctor"], desk["day"]
    hours_id = db.session.scalars(sa.select(OpeningHours.id).where(OpeningHours.clinician_id == doctor)).first()
    exception = ScheduleException(clinician_id=doctor, kind="blocked", starts_at=local_instant(day, time(15), ZONE),
                                  ends_at=local_instant(day, time(16), ZONE))
    db.session.add(exception)
    caller = make_patient(db.session, name="Phone Caller", phone="555 0123")
    db.session.commit()
    hours = "/staff/schedule/hours"
    posts = {
        "weekly add": (f"{hours}/weekly", {"clinician": doctor, "weekday": 5, "start": "18:00", "end": "19:00"}),
        "weekly remove": (f"{hours}/weekly/{hours_id}/delete", {"clinician": doctor, "confirm": "y"}),
        "exception add": (f"{hours}/exceptions", {"clinician": doctor, "kind": "closed", "first_day": day.isoformat(),
                                                  "first_time": "", "last_day": day.isoformat(), "last_time": ""}),
        "exception remove": (f"{hours}/exceptions/{exception.id}/delete", {"clinician": doctor, "confirm": "y"}),
        "profile": (f"{hours}/profile", {"clinician": doctor, "accepts_bookings": "y", "consultation_minutes": 45,
                                         "buffer_minutes": 5}),
        "settings": (f"{hours}/settings", {"min_notice_hours": 12, "horizon_days": 30, "cancel_cutoff_hours": 12}),
        "phone booking": ("/staff/schedule/book", {"clinician": doctor, "date": day.isoformat(), "time": "13:00",
                                                   "patient": caller.id}),
        "move": (f"/staff/schedule/booking/{desk['booking']}/move", {"clinician": doctor, "date": day.isoformat(),
                                                                     "time": "11:00"}),
        "cancel": (f"/staff/schedule/booking/{desk['booking']}/cancel", {"reason": ""}),
        "status": (f"/staff/schedule/booking/{desk['today']}/status", {"status": "arrived"}),
    }
    url, data = posts[action]
    assert bumps(db, lambda: client.post(url, data={k: str(v) for k, v in data.items()})) == (
        1, 0 if action in BOOKING_ONLY else 1)


@pytest.mark.parametrize("change", ["deactivated", "renamed", "readdressed"])
def test_a_clinicians_activation_name_or_address_bumps_both_versions(app, db, change):
    # The plan's clinicians carry the address a new booking's note goes to.
    clinician_id = add_clinician(db.session)
    before = read_version(db.session), read_plan_version(db.session)
    user = db.session.get(StaffUser, clinician_id)
    if change == "deactivated":
        user.active = False
    elif change == "renamed":
        user.name = "Dr Renamed"
    else:
        user.email = "new.address@clinic.example"
    db.session.commit()
    assert (read_version(db.session) - before[0], read_plan_version(db.session) - before[1]) == (1, 1)


def test_a_bulk_update_of_bookings_bumps_only_the_schedule_version(app, db):
    clinician_id = add_clinician(db.session)
    add_booking(db.session, clinician_id, utcnow() + timedelta(days=2))
    before = read_version(db.session), read_plan_version(db.session)
    db.session.execute(sa.update(Booking).where(Booking.clinician_id == clinician_id).values(status="cancelled"))
    db.session.commit()
    assert (read_version(db.session) - before[0], read_plan_version(db.session) - before[1]) == (1, 0)
    db.session.execute(sa.update(OpeningHours).where(OpeningHours.clinician_id == clinician_id)
                       .values(end_time=time(23)))
    db.session.commit()
    assert (read_version(db.session) - before[0], read_plan_version(db.session) - before[1]) == (2, 1)


def test_a_database_without_the_version_rows_gets_them_at_the_first_change(app, db):
    # A database built without the rows (the migration and create_all insert them): the bump's
    # one statement creates each row at 1, and raises it from there.
    clinician_id = add_clinician(db.session)
    db.session.execute(sa.delete(ScheduleVersion))
    db.session.commit()
    db.session.add(OpeningHours(clinician_id=clinician_id, weekday=5, start_time=time(9), end_time=time(10)))
    db.session.commit()  # a plan change: both rows
    assert (read_version(db.session), read_plan_version(db.session)) == (1, 1)
    add_booking(db.session, clinician_id, utcnow() + timedelta(days=2), patient_id=make_patient(db.session).id)
    assert (read_version(db.session), read_plan_version(db.session)) == (2, 1)
