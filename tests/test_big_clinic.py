"""The big clinic (booking.big_clinic): its seed, and pages whose statement count does not grow with it."""

from datetime import timedelta

import sqlalchemy as sa

from booking.appointments.availability import clinic_day, week_start
from booking.big_clinic import add_practice
from booking.crypto import Cipher, cipher_for
from booking.extensions import db as _db
from booking.models import Booking, Intake, Patient, StaffUser
from booking.patients.record import contact_of
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_intake
from tests.test_booking_queries import counted


def test_seed_command_loads_clinicians_patients_intakes_and_a_year_of_encrypted_data(app, runner):
    result = runner.invoke(args=["seed-big-clinic", "--clinicians", "3", "--patients", "40", "--past-days", "10"])
    assert "Loaded 3 clinicians, 40 patients" in result.output
    with app.app_context():
        session, cipher = _db.session, cipher_for(app.config)
        clinicians = session.scalars(sa.select(StaffUser).where(StaffUser.role == "clinician")).all()
        assert len(clinicians) == 3
        patient = session.scalars(sa.select(Patient).order_by(Patient.id)).first()
        assert contact_of(patient, cipher)["email"].endswith("@example.org")
        assert "depression" not in patient.contact_encrypted  # stored encrypted
        intake = session.scalars(sa.select(Intake)).first()
        assert "Treatment-resistant" in str(cipher.decrypt(intake.answers_encrypted))
        upcoming = session.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.status == "booked"))
        past = session.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.starts_at < utcnow()))
        assert upcoming == 40 and past >= 3 * 8 * 6  # one upcoming each; 8 a day per clinician, >= 6 weekdays
    again = runner.invoke(args=["seed-big-clinic", "--clinicians", "1", "--patients", "1"])
    assert again.exit_code != 0 and "empty" in again.output


def _paths(clinician):
    day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    monday = week_start(day)
    patient = [f"/book/?clinician=any&week={monday}", f"/book/?clinician={clinician}&week={monday}"]
    staff = [f"/staff/schedule?date={day}", f"/staff/schedule?date={day}&view=week&clinician={clinician}",
             "/staff/intakes", "/staff/patients?q=Patient3", f"/staff/schedule/export?from={day - timedelta(days=60)}"
             f"&to={day}"]
    return patient, staff


def _counts(app, clients, paths):
    with app.app_context():
        engine = _db.engine
    counts = []
    for client, path in zip(clients, paths):
        with counted(engine) as statements:
            response = client.get(path)
        assert response.status_code == 200, path
        counts.append(len(statements))
    return counts


def test_each_page_sends_as_many_statements_at_demo_size_as_at_a_bigger_size(app, make_staff, login):
    with app.app_context():
        add_practice(_db.session, app.config, utcnow(), clinicians=4, patients=30, past_days=5)
        clinician = _db.session.scalar(sa.select(StaffUser.id).where(StaffUser.role == "clinician"))
        _intake, token = add_intake(_db.session, app.config)
    patient, desk, doctor = app.test_client(), app.test_client(), app.test_client()
    patient.get(f"/book/start/{token}")
    login(make_staff("receptionist"), test_client=desk)
    login(make_staff("clinician"), test_client=doctor)
    patient_paths, staff_paths = _paths(clinician)
    paths = patient_paths + staff_paths
    # The queue is the clinicians'; the rest is the front desk's.
    clients = [patient] * 2 + [desk, desk, doctor, desk, desk]
    demo = _counts(app, clients, paths)
    with app.app_context():
        add_practice(_db.session, app.config, utcnow(), clinicians=12, patients=400, past_days=40)
    bigger = _counts(app, clients, paths)
    assert dict(zip(paths, bigger)) == dict(zip(paths, demo))


def test_the_queue_decrypts_only_the_rows_it_shows(app, make_staff, login, monkeypatch):
    with app.app_context():
        add_practice(_db.session, app.config, utcnow(), clinicians=1, patients=120, past_days=0)
    doctor = app.test_client()
    login(make_staff("clinician"), test_client=doctor)
    opened = []
    original = Cipher.decrypt
    monkeypatch.setattr(Cipher, "decrypt", lambda self, token: opened.append(token) or original(self, token))
    page = doctor.get("/staff/intakes").get_data(as_text=True)
    rows = page.count("<tr") - 1  # the header row
    assert rows == 50
    # Per row: the contact details, the scores and the flags; nothing for the 70 rows not shown.
    assert 0 < len(opened) <= 3 * rows


def test_the_csv_export_decrypts_each_patient_once_however_many_consultations(app, make_staff, login, monkeypatch):
    with app.app_context():
        add_practice(_db.session, app.config, utcnow(), clinicians=2, patients=5, past_days=20)
        patients = _db.session.scalar(sa.select(sa.func.count(sa.distinct(Booking.patient_id))))
        bookings = _db.session.scalar(sa.select(sa.func.count()).select_from(Booking))
    assert bookings > 3 * patients  # each patient has several consultations in the range
    desk = app.test_client()
    login(make_staff("receptionist"), test_client=desk)
    opened = []
    original = Cipher.decrypt
    monkeypatch.setattr(Cipher, "decrypt", lambda self, token: opened.append(token) or original(self, token))
    today = clinic_day(utcnow(), ZONE)
    rows = desk.get(f"/staff/schedule/export?from={today - timedelta(days=40)}&to={today + timedelta(days=40)}"
                    ).get_data(as_text=True).splitlines()
    assert len(rows) == bookings + 1
    assert len(opened) == patients


def test_the_longest_possible_booking_that_began_before_the_window_still_holds_its_clinician(app, db):
    from datetime import time

    from booking.appointments.availability import load_plans, local_instant
    from tests.booking_factories import add_booking, add_clinician

    clinician = add_clinician(db.session, name="Dr Long Day", length=480, buffer=240)
    day = clinic_day(utcnow(), ZONE) + timedelta(days=10)
    # 480 minutes and a 240-minute buffer from 23:00 two days before: busy until 11:00 the day before,
    # inside the window load_plans reads (from midnight the day before), though it started outside it.
    started = local_instant(day - timedelta(days=2), time(23), ZONE)
    booking_id, _ = add_booking(db.session, clinician, started, minutes=480, buffer=240)
    plan, = load_plans(db.session, day, day, ZONE, [clinician])
    assert [busy[2] for busy in plan.busy] == [booking_id]


def test_after_analyze_the_queue_still_looks_corrections_up_by_index(app, db):
    """Table statistics once made SQLite scan every intake per waiting intake (47 s at 10,000)."""
    from tests.conftest import sqlite_only

    from booking.intake_review.decisions import queue_query

    sqlite_only()
    add_practice(db.session, app.config, utcnow(), clinicians=1, patients=300, past_days=0)
    db.session.execute(sa.text("ANALYZE"))
    query = queue_query("waiting", zone_name=ZONE).with_only_columns(Intake.id).limit(51)
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " | ".join(row[-1] for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "USING INDEX ix_intake_corrections" in plan and "SCAN i" not in plan.split("SUBQUERY", 1)[1], plan


def queue_plan(session, engine):
    """The plan of the clinicians' queue's first page, as text (PostgreSQL: whether it can use an
    index at all, since the planner's costs on a test's few rows say nothing)."""
    from booking.intake_review.decisions import queue_query

    query = queue_query("waiting", zone_name=ZONE).with_only_columns(Intake.id).limit(51)
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    if engine.dialect.name == "postgresql":
        for setting in ("enable_seqscan", "enable_sort", "enable_incremental_sort"):
            session.execute(sa.text(f"SET LOCAL {setting} = off"))
        return " | ".join(row[0] for row in session.execute(sa.text(f"EXPLAIN {compiled}")))
    session.execute(sa.text("ANALYZE"))
    return " | ".join(row[-1] for row in session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))


def reads_in_queue_order(plan):
    """True if `plan` walks ix_intake_queue_order and sorts nothing."""
    return "ix_intake_queue_order" in plan and "Sort" not in plan and "TEMP B-TREE" not in plan


def test_the_queue_reads_its_first_page_in_index_order_instead_of_sorting_every_waiting_intake(app, db):
    """Sorting 10,000 waiting intakes for a page of 50 took 10-20 ms; the index gives them in order."""
    add_practice(db.session, app.config, utcnow(), clinicians=1, patients=300, past_days=0)
    plan = queue_plan(db.session, db.engine)
    assert reads_in_queue_order(plan), plan
