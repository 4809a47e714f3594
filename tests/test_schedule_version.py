"""The schedule version rises with every committed change that affects availability, and only then."""

from datetime import time

import sqlalchemy as sa

from booking.appointments.schedule_version import read_version
from booking.models import OpeningHours, StaffUser
from tests.booking_factories import add_clinician


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
    db.session.get(StaffUser, clinician_id).failed_logins = 1  # a change that affects nothing
    db.session.commit()
    assert read_version(db.session) == before


def test_a_session_the_app_did_not_make_is_left_alone(app, db):
    clinician_id = add_clinician(db.session)
    before = read_version(db.session)
    with sa.orm.Session(db.engine) as other:
        other.add(OpeningHours(clinician_id=clinician_id, weekday=5, start_time=time(9), end_time=time(10)))
        other.commit()
    assert read_version(db.session) == before
