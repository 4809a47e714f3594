"""Demo data, CSRF on the booking forms, and the rules' settings defaults."""

import re

import flask_wtf.csrf
import sqlalchemy as sa

from booking.appointments.settings import current_settings
from booking.demo import seed_demo
from booking.extensions import db as _db
from booking.models import Booking, OpeningHours
from booking.timeutil import utcnow
from tests.booking_factories import add_clinician, add_intake, first_free_time_fields


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


def patient_with_csrf(make_app):
    """(app with CSRF checked, a browser whose patient may book with its one clinician)."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        add_clinician(_db.session)
        _intake, token = add_intake(_db.session, app.config)
    client = app.test_client()
    client.get(f"/book/start/{token}")
    return app, client


def test_booking_forms_need_a_csrf_token(make_app):
    app, client = patient_with_csrf(make_app)
    response = client.post("/book/confirm", data={"clinician": "any", "start": "2030-01-07T14:00Z",
                                                  "name": "No Token", "email": "x@example.org"})
    assert response.status_code == 400 and "This form has expired" in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def csrf_field(page):
    """The value of the page's hidden CSRF field."""
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_a_form_signs_its_token_only_for_a_page_that_shows_it(make_app, monkeypatch):
    # A POST that passes and redirects has no use for a new token; a page that shows the form
    # again (here, with a mistake to correct) carries one that its next POST is accepted with.
    _app, client = patient_with_csrf(make_app)
    fields = first_free_time_fields(client)
    page = client.get("/book/confirm", query_string=fields).get_data(as_text=True)
    signed = []
    real = flask_wtf.csrf.generate_csrf
    monkeypatch.setattr(flask_wtf.csrf, "generate_csrf",
                        lambda *args, **kwargs: signed.append(1) or real(*args, **kwargs))
    mistake = client.post("/book/confirm", data={**fields, "name": "Jordan Example", "email": "not an address",
                                                 "csrf_token": csrf_field(page)})
    assert mistake.status_code == 400 and "Enter an email address like" in mistake.get_data(as_text=True)
    assert signed  # the page shown again carries a token...
    signed.clear()
    booked = client.post("/book/confirm", data={**fields, "name": "Jordan Example", "email": "jordan@example.org",
                                                "csrf_token": csrf_field(mistake.get_data(as_text=True))})
    assert booked.status_code == 302  # ...that the corrected POST is accepted with
    assert signed == []  # and the redirect signed none


def test_settings_default_from_config(make_app):
    app = make_app(MIN_NOTICE_HOURS=2, BOOKING_HORIZON_DAYS=14, CANCEL_CUTOFF_HOURS=1)
    with app.app_context():
        assert current_settings(_db.session, app.config) == {"min_notice_hours": 2, "horizon_days": 14,
                                                              "cancel_cutoff_hours": 1}
