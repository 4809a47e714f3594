"""Demo data, CSRF on the booking forms, and the rules' settings defaults."""

import sqlalchemy as sa

from booking.appointments.settings import current_settings
from booking.demo import seed_demo
from booking.extensions import db as _db
from booking.models import Booking, OpeningHours
from booking.timeutil import utcnow
from tests.booking_factories import add_clinician, add_intake


def test_seed_demo_gives_clinicians_hours_and_bookings(app):
    with app.app_context():
        assert seed_demo(_db.session, utcnow())
        _db.session.commit()
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(OpeningHours)) == 2 * 5 * 2
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 6
    reception = app.test_client()
    reception.post("/staff/login", data={"email": "reception@clinic.example", "password": "demo-reception-password"})
    page = reception.get("/staff/schedule?view=week").get_data(as_text=True)
    assert "Dr Priya Patel" in page and "Booked" in page


def test_booking_forms_need_a_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        add_clinician(_db.session)
        _intake, token = add_intake(_db.session, app.config)
    client = app.test_client()
    client.get(f"/book/start/{token}")
    response = client.post("/book/confirm", data={"clinician": "any", "start": "2030-01-07T14:00Z",
                                                  "name": "No Token", "email": "x@example.org"})
    assert response.status_code == 400 and "This form has expired" in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_settings_default_from_config(make_app):
    app = make_app(MIN_NOTICE_HOURS=2, BOOKING_HORIZON_DAYS=14, CANCEL_CUTOFF_HOURS=1)
    with app.app_context():
        assert current_settings(_db.session, app.config) == {"min_notice_hours": 2, "horizon_days": 14,
                                                              "cancel_cutoff_hours": 1}
