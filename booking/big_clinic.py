"""`flask seed-big-clinic`: a group practice to measure against, far bigger than the demo.

50 clinicians with weekday hours, 10,000 patients (contact details encrypted, with their
search index), a submitted questionnaire each (answers encrypted), and about a year of
consultations: some 90,000 past ones (completed, missed or cancelled) and one upcoming
consultation for each patient (the database allows one). Rows are built as the models
define them and inserted in batches: ORM objects one by one would take an hour here.
Refuses a database that already has staff.
"""

import hashlib
import random
from datetime import time, timedelta

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from booking.appointments.availability import clinic_day, local_instant
from booking.crypto import cipher_for
from booking.extensions import db
from booking.models import Booking, ClinicianProfile, Intake, OpeningHours, Patient, PatientIndex, StaffUser
from booking.patients.search import index_rows

BATCH = 5000
DAY_STARTS = [time(hour, minute) for hour in (9, 10, 11, 13, 14, 15, 16) for minute in (0, 30)]
ANSWERS = {"about": {"reason": "Treatment-resistant depression, referred by my GP."},
           "phq9": {"q1": 2, "q2": 2, "q3": 1, "q4": 2, "q5": 1, "q6": 1, "q7": 1, "q8": 0, "q9": 0}}


def contact(number):
    """Patient `number`'s contact details: "Patient<n> Family<n % 97>", big<n>@example.org..."""
    return {"name": f"Patient{number} Family{number % 97}", "email": f"big{number}@example.org",
            "phone": f"555{number:07d}", "date_of_birth": f"19{50 + number % 50}-{1 + number % 12:02d}-{1 + number % 28:02d}"}


def _insert(session, model, rows):
    """Insert `rows` (dicts) into `model`'s table in batches."""
    for first in range(0, len(rows), BATCH):
        session.execute(sa.insert(model), rows[first:first + BATCH])


def _add_staff(session, clinicians):
    """The clinicians (with profile and weekday hours), a receptionist and an admin; the clinicians' ids."""
    ids, first = [], session.scalar(sa.select(sa.func.count()).select_from(StaffUser))
    for number in range(first, first + clinicians):
        user = StaffUser(email=f"clinician{number}@big.example", name=f"Dr Big {number:02d}", role="clinician",
                         password_hash="!")  # no password sign-in: the benchmark opens sessions directly
        session.add(user)
        session.flush()
        ids.append(user.id)
        session.add(ClinicianProfile(clinician_id=user.id))
        for weekday in range(5):
            for start, end in ((time(9), time(12)), (time(13), time(17))):
                session.add(OpeningHours(clinician_id=user.id, weekday=weekday, start_time=start, end_time=end))
    for role in ("receptionist", "admin"):
        session.add(StaffUser(email=f"{role}{first}@big.example", name=f"Big {role}", role=role, password_hash="!"))
    session.flush()
    return ids


def _add_patients(session, config, patients, now):
    """Patients with encrypted contact details and their blind search index, and a submitted intake each."""
    cipher, key = cipher_for(config), config["PATIENT_SEARCH_KEY"]
    first = (session.scalar(sa.select(sa.func.max(Patient.id))) or 0) + 1
    ids = list(range(first, first + patients))
    details = [contact(number) for number in ids]
    _insert(session, Patient, [{"id": id_, "contact_encrypted": cipher.encrypt(found), "created_at": now,
                                "updated_at": now} for id_, found in zip(ids, details)])
    _insert(session, PatientIndex, [row for id_, found in zip(ids, details) for row in index_rows(key, id_, found)])
    answers = cipher.encrypt(ANSWERS)  # one ciphertext per row would only cost time: the content is the same
    _insert(session, Intake, [{"patient_id": id_, "status": "submitted", "last_step": 6, "created_at": now,
                               "updated_at": now - timedelta(minutes=n), "submitted_at": now - timedelta(minutes=n),
                               "answers_encrypted": answers, "flags_encrypted": cipher.encrypt([]),
                               "scores_encrypted": cipher.encrypt({"phq9": 10})} for n, id_ in enumerate(ids)])
    if session.get_bind().dialect.name == "postgresql":  # explicit ids leave the sequence behind
        session.execute(sa.text("SELECT setval('patient_id_seq', :last)"), {"last": ids[-1]})
    return ids


def _booking_row(number, clinician, starts_at, patient, status, now):
    """One consultation as a row of the booking table (its manage link unknown to anyone: a hash of a label)."""
    ends = starts_at + timedelta(minutes=30)
    return {"clinician_id": clinician, "starts_at": starts_at, "ends_at": ends, "busy_until": ends,
            "status": status, "patient_id": patient, "source": "phone", "created_at": now, "updated_at": now,
            "manage_token_hash": hashlib.sha256(f"big-clinic-{clinician}-{starts_at}".encode()).hexdigest(),
            "cancelled_at": now if status == "cancelled" else None}


def _add_bookings(session, clinicians, patients, now, zone, past_days, per_day, seed=13):
    """Past consultations (`per_day` per clinician and weekday) and one upcoming one per patient."""
    rng, today, rows = random.Random(seed), clinic_day(now, zone), []
    for back in range(1, past_days + 1):
        day = today - timedelta(days=back)
        if day.weekday() >= 5:
            continue
        for clinician in clinicians:
            for start in rng.sample(DAY_STARTS, per_day):
                status = rng.choices(("completed", "no_show", "cancelled"), (90, 4, 6))[0]
                rows.append(_booking_row(len(rows), clinician, local_instant(day, start, zone),
                                         rng.choice(patients), status, now))
    # Upcoming: from the day after tomorrow on, weekdays, filling clinicians' days until every patient has one.
    free = [(clinician, local_instant(today + timedelta(days=ahead), start, zone))
            for ahead in range(2, 120) if (today + timedelta(days=ahead)).weekday() < 5
            for clinician in clinicians for start in DAY_STARTS[::3]]
    for patient, (clinician, starts_at) in zip(patients, free):
        rows.append(_booking_row(len(rows), clinician, starts_at, patient, "booked", now))
    _insert(session, Booking, rows)
    return len(rows)


def seed_big_clinic(session, config, now, clinicians=50, patients=10_000, past_days=300, per_day=8):
    """Load the big clinic into an empty database; returns {"clinicians", "patients", "bookings"}."""
    if session.scalar(sa.select(sa.func.count()).select_from(StaffUser)):
        raise click.ClickException("The database already has staff: seed-big-clinic needs an empty one.")
    counts = add_practice(session, config, now, clinicians, patients, past_days, per_day)
    # Table statistics, as a running database has them (PostgreSQL's autovacuum would gather them
    # later): without them the planner guesses 15 intakes where there are ten thousand.
    session.execute(sa.text("ANALYZE"))
    session.commit()
    return counts


def add_practice(session, config, now, clinicians, patients, past_days, per_day=8):
    """Add clinicians, patients with intakes, and their consultations (see the module); committed."""
    clinician_ids = _add_staff(session, clinicians)
    patient_ids = _add_patients(session, config, patients, now)
    count = _add_bookings(session, clinician_ids, patient_ids, now, config["CLINIC_TIMEZONE"], past_days, per_day)
    session.commit()
    return {"clinicians": len(clinician_ids), "patients": len(patient_ids), "bookings": count}


@click.command("seed-big-clinic")
@click.option("--clinicians", default=50, show_default=True)
@click.option("--patients", default=10_000, show_default=True)
@click.option("--past-days", default=300, show_default=True, help="days of past consultations")
@with_appcontext
def seed_big_clinic_command(clinicians, patients, past_days):
    """Load a 50-clinician practice with about a year of consultations (for benchmarks), into an empty database."""
    from booking.timeutil import utcnow

    counts = seed_big_clinic(db.session, current_app.config, utcnow(), clinicians, patients, past_days)
    click.echo(f"Loaded {counts['clinicians']} clinicians, {counts['patients']} patients with a questionnaire each, "
               f"{counts['bookings']} consultations.")
