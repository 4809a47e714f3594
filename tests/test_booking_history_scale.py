"""A booking's own checks do the same work with a year of other bookings as with a few, on the
schema `flask db upgrade` builds (SQLite: the work is counted in its virtual machine's steps,
not timed)."""

from datetime import datetime, timedelta

import sqlalchemy as sa

from booking.appointments.lookups import _BLOCKING_ID, blocking_booking_id
from booking.extensions import db
from booking.models import Intake
from tests.booking_factories import add_clinician, add_intake
from tests.patient_factories import make_patient
from tests.test_migrations import empty_postgres_database, migrated_app  # noqa: F401  (a fixture)
from tests.test_overlap_guard import INSERT, steps


def test_asking_whether_the_questionnaire_holds_a_booking_does_not_read_every_booking(tmp_path):
    # "intake_id IN (every version of the questionnaire)": once ANALYZE had counted the phone
    # bookings' NULL questionnaire as one value of most rows, SQLite scanned every booking
    # rather than look the versions up (22 ms per booking POST at 96,000).
    app = migrated_app(f"sqlite:///{tmp_path / 'history.sqlite'}", tmp_path)
    with app.app_context():
        clinician = add_clinician(db.session)
        other = make_patient(db.session).id
        intake_id, _token = add_intake(db.session, app.config)
        patient_id = db.session.get(Intake, intake_id).patient_id
        db.session.commit()
        start = datetime(2029, 1, 1, 9)
        history = [{"clinician": clinician, "starts": start + timedelta(hours=n), "status": "completed",  # by phone
                    "busy": start + timedelta(hours=n, minutes=40), "patient": other, "token": f"{n:064d}"}
                   for n in range(1000)]

        def work_with(rows):
            db.session.execute(INSERT, rows)
            db.session.execute(sa.text("ANALYZE"))  # as a clinic's upkeep (or the big clinic's seed) runs it
            db.session.commit()
            connection = db.session.connection()
            found = []
            count = steps(connection, lambda: found.append(blocking_booking_id(db.session, intake_id, patient_id)))
            assert found == [None]
            db.session.rollback()
            return count

        few = work_with(history[:40])
        many = work_with(history[40:])
        db.engine.dispose()
    assert many < few * 1.2, (few, many)


def seq_scanned(plan):
    """The tables a PostgreSQL plan (EXPLAIN's JSON) reads whole."""
    found = [plan["Relation Name"]] if plan.get("Node Type") == "Seq Scan" else []
    for child in plan.get("Plans", []):
        found += seq_scanned(child)
    return found


def test_postgresql_answers_whether_the_patient_holds_a_booking_from_indexes(
        empty_postgres_database, tmp_path):  # noqa: F811  (the fixture imported above)
    # Asked as one WHERE joined by OR (the questionnaire's versions, or the patient's upcoming
    # booking), PostgreSQL could use no index for it and read every booking: 29 ms at 96,000.
    app = migrated_app(empty_postgres_database, tmp_path)
    try:
        with app.app_context():
            clinician = add_clinician(db.session)
            other = make_patient(db.session).id
            intake_id, _token = add_intake(db.session, app.config)
            patient_id = db.session.get(Intake, intake_id).patient_id
            start = datetime(2029, 1, 1, 9)
            db.session.execute(INSERT, [{"clinician": clinician, "starts": start + timedelta(hours=n),
                                         "busy": start + timedelta(hours=n, minutes=40), "status": "completed",
                                         "patient": other, "token": f"{n:064d}"} for n in range(5000)])
            db.session.commit()
            with db.engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE booking")
                assert connection.execute(_BLOCKING_ID, {"intake_id": intake_id, "patient_id": patient_id}
                                          ).scalar() is None
                compiled = _BLOCKING_ID.compile(dialect=db.engine.dialect)
                plan = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + str(compiled), {
                    **compiled.params, "intake_id": intake_id, "patient_id": patient_id}).scalar()
        assert "booking" not in seq_scanned(plan[0]["Plan"])  # (its one questionnaire may be)
    finally:
        with app.app_context():
            db.engine.dispose()
