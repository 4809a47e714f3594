"""Migration 0005 with data, on SQLite and PostgreSQL; the one-upcoming index on the migrated schema."""

import re
from datetime import datetime

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from booking import create_app
from booking.crypto import cipher_for
from booking.extensions import db
from booking.models import Booking, Intake, Patient
from booking.patients.record import contact_of
from tests.conftest import base_test_config
from tests.test_migrations import empty_postgres_database  # noqa: F401  (a fixture)

FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_=-]+")  # Fernet's version byte and timestamp, in base64

T = datetime(2026, 12, 1, 15, 0)  # naive UTC, as SQLite stores it; PostgreSQL takes it as UTC


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database of each engine (PostgreSQL's made by tests/test_migrations.py's fixture)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.sqlite'}"
    return request.getfixturevalue("empty_postgres_database")


def seed_revision_0004(connection, cipher):
    """Rows as revision 0004 stored them: intakes (one corrected), an online booking, phone bookings."""
    run = lambda sql, **values: connection.execute(sa.text(sql), values)  # noqa: E731
    run("INSERT INTO staff_user (id, email, name, role, password_hash, active, failed_logins, created_at, "
        "session_version) VALUES (1, 'dr@clinic.example', 'Dr One', 'clinician', 'x', true, 0, :t, 1)", t=T)
    about = {"about": {"legal_name": "Ada Online", "date_of_birth": "1980-05-06"}}
    for intake_id, previous, contact, scores in (
            (1, None, {"name": "Ada Online", "email": "ada@example.org", "phone": "555 010 1111"}, (12, 9, 40)),
            (2, 1, {"name": "Ada Online", "email": "ada@example.org", "phone": "555 010 1111"}, (11, 8, 39)),
            (3, None, {"name": "Bo Queue", "email": "bo@example.org", "phone": None}, (None, None, None))):
        run("INSERT INTO intake (id, status, created_at, updated_at, last_step, urgent, flag_codes, previous_id, "
            "contact_encrypted, answers_encrypted, flags_encrypted, phq9_total, gad7_total, pcl5_total, flag_level) "
            "VALUES (:id, 'submitted', :t, :t, 11, false, 'active_psychosis', :previous, :contact, :answers, :flags, "
            ":phq9, :gad7, :pcl5, 'clearance')",
            id=intake_id, t=T, previous=previous, contact=cipher.encrypt(contact), answers=cipher.encrypt(about),
            flags=cipher.encrypt([{"level": "clearance", "code": "active_psychosis", "reason": "r"}]),
            phq9=scores[0], gad7=scores[1], pcl5=scores[2])
    for booking_id, intake_id, name, email, phone, source, hour in (
            (1, 2, "Ada Online", "ada@example.org", "555 010 1111", "online", 15),
            (2, None, "Phone Caller", None, "555 010 2222", "phone", 16),
            (3, None, "Second Caller", "second@example.org", "555 010 3333", "phone", 17)):
        run("INSERT INTO booking (id, clinician_id, intake_id, starts_at, ends_at, busy_until, status, patient_name, "
            "patient_email, patient_phone, manage_token_hash, sequence, source, created_at, updated_at) VALUES "
            "(:id, 1, :intake, :start, :end, :end, 'booked', :name, :email, :phone, :hash, 0, :source, :t, :t)",
            id=booking_id, intake=intake_id, start=T.replace(hour=hour), end=T.replace(hour=hour, minute=30), name=name, email=email, phone=phone,
            hash=f"{booking_id:064d}", source=source, t=T)


def raw_booking(booking_id, patient_id, status):
    """Insert a booking at 9:00 with raw SQL, as another program would (no model, no rule)."""
    with db.engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO booking (id, clinician_id, patient_id, starts_at, ends_at, busy_until, status, "
            "manage_token_hash, sequence, source, created_at, updated_at) VALUES "
            "(:id, 1, :patient, :start, :end, :end, :status, :hash, 0, 'phone', :t, :t)"),
            {"id": booking_id, "patient": patient_id, "status": status, "start": T.replace(hour=9),
             "end": T.replace(hour=9, minute=30), "hash": f"{booking_id:064d}", "t": T})


def test_the_migration_moves_contacts_into_encrypted_patients(database_url, tmp_path):
    app = create_app(base_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=database_url))
    cipher = cipher_for(app.config)
    try:
        with app.app_context():
            upgrade(revision="0004")
            with db.engine.begin() as connection:
                seed_revision_0004(connection, cipher)
            upgrade()
            intakes = {intake.id: intake for intake in db.session.scalars(sa.select(Intake))}
            bookings = {booking.id: booking for booking in db.session.scalars(sa.select(Booking)).unique()}
            assert intakes[1].patient_id == intakes[2].patient_id != intakes[3].patient_id  # a correction shares
            assert bookings[1].patient_id == intakes[2].patient_id
            assert len({bookings[2].patient_id, bookings[3].patient_id, intakes[1].patient_id}) == 3
            contacts = {p.id: contact_of(p, cipher) for p in db.session.scalars(sa.select(Patient))}
            assert contacts[intakes[1].patient_id] == {"name": "Ada Online", "date_of_birth": "1980-05-06",
                                                       "email": "ada@example.org", "phone": "555 010 1111"}
            assert contacts[bookings[2].patient_id]["name"] == "Phone Caller"
            assert cipher.decrypt(intakes[1].scores_encrypted) == {"phq9": 12, "gad7": 9, "pcl5": 40}
            assert intakes[3].scores_encrypted is None
            columns = {c["name"] for c in sa.inspect(db.engine).get_columns("booking")}
            assert not columns & {"patient_name", "patient_email", "patient_phone"}
            dump = repr([db.session.execute(sa.text(f"SELECT * FROM {table}")).all()
                         for table in ("intake", "booking", "patient", "patient_index")])
            # Ciphertext out first: its base64 spells "Ada" about once in a hundred runs.
            dump = FERNET_TOKEN.sub("<encrypted>", dump)
            for clear in ("Ada", "ada@example.org", "555 010", "Phone Caller", "active_psychosis"):
                assert clear not in dump, clear
            from booking.patients.search import search_patients  # the index works at once
            found = search_patients(db.session, "phone call", key=app.config["PATIENT_SEARCH_KEY"],
                                    contact_of=lambda p: contact_of(p, cipher))
            assert [p.id for p, _ in found] == [bookings[2].patient_id]
            # The one-upcoming index, as `flask db upgrade` built it, refuses a raw insert.
            with pytest.raises(sa.exc.IntegrityError) as refused:
                raw_booking(100, bookings[2].patient_id, "booked")
            assert "uq_booking_patient_upcoming" in str(refused.value) or "booking.patient_id" in str(refused.value)
            raw_booking(101, bookings[2].patient_id, "cancelled")  # a cancelled one is not upcoming: allowed
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
