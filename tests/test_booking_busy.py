"""A database that stays locked gives the patient "busy, nothing changed", never an error page."""

import sqlite3
from datetime import time, timedelta

import sqlalchemy as sa

from booking.appointments.availability import Rules, free_slots
from booking.extensions import db as _db
from booking.models import Booking
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_clinician, add_intake
from tests.conftest import sqlite_only
from tests.test_booking_patient import confirm, start

EVERY_DAY = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}


def test_a_locked_database_answers_busy_and_books_nothing(make_app):
    sqlite_only()  # PostgreSQL has no database-wide write lock to hold
    # Wait a tenth of a second for the lock instead of 30 seconds.
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.1}})
    with app.app_context():
        doctor = add_clinician(_db.session, hours=EVERY_DAY)
        _intake_id, token = add_intake(_db.session, app.config)
        today = utcnow().date()
        slot = free_slots(_db.session, today + timedelta(days=2), today + timedelta(days=9), ZONE, now=utcnow(),
                          rules=Rules(), clinician_ids=[doctor])[0]
        path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    client = app.test_client()
    start(client, token)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        response = confirm(client, doctor, slot.starts_at)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "The booking system is busy right now. Nothing was changed; please try again." in page
    assert 'value="Pat Example"' in page and 'value="pat@example.org"' in page  # kept, to send again
    with app.app_context():
        assert _db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    assert confirm(client, doctor, slot.starts_at).status_code == 302  # and trying again works
