"""The number of SQL queries per page does not grow with the number of bookings; POSTs read nothing twice."""

import contextlib
import re
from datetime import time, timedelta

import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_instant, week_start
from booking.crypto import cipher_for
from booking.extensions import db as _db
from booking.models import Booking, OutboxMessage, StaffUser
from booking.patients.record import contact_of
from booking.timeutil import utcnow
from tests.booking_factories import (ZONE, add_booking, add_clinician, add_intake, add_many_bookings,
                                     book_first_free_time, context, first_free_time_fields)
from tests.conftest import POSTGRES
from tests.intake_factories import form_data
from tests.outbox_helpers import body_of, ics_of, recipient_of

EVERY_DAY = {day: [(time(8), time(20))] for day in range(7)}


COMMIT = "COMMIT"


@contextlib.contextmanager
def counted(engine, commits=False):
    """The SQL statements sent to `engine` inside the block (with `commits`, a COMMIT marker for each commit)."""
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def committed(conn):
        statements.append(COMMIT)

    sa.event.listen(engine, "before_cursor_execute", count)
    if commits:
        sa.event.listen(engine, "commit", committed)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
        if commits:
            sa.event.remove(engine, "commit", committed)


def page_queries(app, client, path):
    """How many statements one GET of `path` sends."""
    with app.app_context():
        engine = _db.engine
    with counted(engine) as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements)


def test_week_view_and_day_view_queries_do_not_depend_on_bookings(app, make_staff, login):
    with app.app_context():
        clinicians = [add_clinician(_db.session, hours=EVERY_DAY) for _ in range(3)]
        _intake, token = add_intake(_db.session, app.config)
    patient, reception = app.test_client(), app.test_client()
    patient.get(f"/book/start/{token}")
    login(make_staff("receptionist"), test_client=reception)
    day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    monday = week_start(day)
    paths = [f"/book/?clinician=any&week={monday}", f"/book/?clinician={clinicians[0]}&week={monday}",
             f"/staff/schedule?date={day}", f"/staff/schedule?date={day}&view=week&clinician={clinicians[0]}",
             f"/staff/schedule?date={day}&view=week"]
    before = [page_queries(app, client, path) for client, path in zip([patient] * 2 + [reception] * 3, paths)]
    with app.app_context():
        for index, clinician in enumerate(clinicians):  # a few hundred bookings around and in the shown week
            starts = [local_instant(monday + timedelta(days=d), time(8, 30 * (n % 2)), ZONE) + timedelta(hours=n // 2)
                      for d in range(-14, 21) for n in range(index % 2, 24, 3)]
            add_many_bookings(_db.session, clinician, starts)
    after = [page_queries(app, client, path) for client, path in zip([patient] * 2 + [reception] * 3, paths)]
    assert after == before
    assert max(after) <= 12


def test_a_week_already_shown_costs_one_query(app):
    # The patient's state and the schedule version come in one statement; the week itself
    # comes from the per-process cache while the version is unchanged.
    with app.app_context():
        clinician = add_clinician(_db.session, hours=EVERY_DAY)
        _intake, token = add_intake(_db.session, app.config)
    patient = app.test_client()
    patient.get(f"/book/start/{token}")
    monday = week_start(clinic_day(utcnow(), ZONE) + timedelta(days=7))
    path = f"/book/?clinician={clinician}&week={monday}"
    assert page_queries(app, patient, path) > 1  # the first visit computes the week
    assert page_queries(app, patient, path) == 1


def test_a_questionnaire_step_reads_its_draft_once_and_writes_it_once(app, client):
    # Each saved step is a commit behind 16 open connections: a third statement, the draft read
    # again after the commit to ask about the crisis panel, was a quarter of the step's time.
    client.post("/intake/start")
    assert client.post("/intake/step/1", data=form_data("about")).status_code == 302
    with app.app_context():
        engine = _db.engine
    with counted(engine, commits=True) as statements:
        response = client.post("/intake/step/2", data=form_data("seeking"))
    assert response.location.endswith("/intake/step/3")
    # On PostgreSQL the one UPDATE runs in autocommit: it commits itself, without the BEGIN and
    # COMMIT round trips (extensions.single_write).
    assert [statement.split()[0] for statement in statements] == ["SELECT", "UPDATE"] + ([] if POSTGRES else [COMMIT])
    # The draft alone: loading the Intake joined its patient's record, which a step does not need.
    assert "JOIN" not in statements[0] and "FROM intake" in statements[0]


def patient_who_may_book(app):
    """A browser whose patient may book (one clinician, open every day); and the engine to count on."""
    with app.app_context():
        add_clinician(_db.session, hours=EVERY_DAY)
        _intake, token = add_intake(_db.session, app.config)
        engine = _db.engine
    patient = app.test_client()
    patient.get(f"/book/start/{token}")
    return patient, engine


def test_a_booking_reads_nothing_after_its_commit(app):
    patient, engine = patient_who_may_book(app)
    with counted(engine, commits=True) as statements:
        manage_token = book_first_free_time(patient)
    assert statements[-1] == COMMIT  # nothing read after it
    # The clinician named in both emails (the patient's and the clinician's) comes with the plan
    # the time was checked against: not read by id at all (once, before; twice, long ago).
    assert sum("FROM staff_user" in statement and "WHERE staff_user.id =" in statement
               for statement in statements) == 0
    # The booking's id, read before the commit, still tells the manage page it was just booked.
    assert "Your booking is confirmed" in patient.get(f"/book/manage/{manage_token}").get_data(as_text=True)


def test_a_bookings_two_emails_are_written_in_one_statement(app):
    # The patient's confirmation and the clinician's note: one round trip on PostgreSQL (and one
    # statement's work for SQLAlchemy on both), in the write transaction's time.
    patient, engine = patient_who_may_book(app)
    with counted(engine) as statements:
        book_first_free_time(patient)
    assert sum(statement.startswith("INSERT INTO outbox_message ") for statement in statements) == 1
    with app.app_context():
        sent = _db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [row.kind for row in sent] == ["booking_confirmation", "staff_booking_changed"]


def test_details_changed_at_the_confirm_step_reach_the_record_and_the_confirmation(app):
    # The confirm page reads its patient as plain columns and puts the record in the session
    # itself: a change made there must still be saved, and the confirmation must go to it.
    patient, _engine = patient_who_may_book(app)
    book_first_free_time(patient, name="Jordan New-Name", email="jordan.new@example.org")
    with app.app_context():
        booking = _db.session.scalars(sa.select(Booking)).one()
        assert contact_of(booking.patient, cipher_for(app.config))["email"] == "jordan.new@example.org"
        sent = _db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmation")).one()
        assert recipient_of(sent) == "jordan.new@example.org" and "Jordan New-Name" in body_of(sent)


def test_a_booking_asks_once_whether_the_patient_holds_one_already(app):
    # The questionnaire's versions, its active booking and the patient's upcoming one were three
    # statements, two of them loading whole bookings with their clinicians to find none.
    patient, engine = patient_who_may_book(app)
    fields = first_free_time_fields(patient)
    with counted(engine) as statements:
        response = patient.post("/book/confirm", data={**fields, "name": "Jordan Example", "email": "j@example.org"})
    assert response.status_code == 302
    before_insert = statements[:next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO booking "))]
    # On the POST: that one question. Whether the named clinician is free then is the database's
    # overlap guard's to say, at the INSERT (a patient who chose "first available" still reads
    # the busy times, to move on to the next clinician).
    reads = [s for s in before_insert if "FROM booking" in s]
    assert len(reads) == 1
    assert not any("FROM intake WHERE intake.id IN" in s for s in before_insert)


def test_a_cancellation_reads_the_rules_once_writes_its_emails_at_once_and_no_hours_when_nobody_waits(app):
    # It was sixteen statements: the clinic's rules read twice, each email an INSERT of its own,
    # and the clinician's hours, exceptions and bookings read to offer the time to a waitlist
    # nobody was on.
    patient, engine = patient_who_may_book(app)
    token = book_first_free_time(patient)
    with counted(engine) as statements:
        response = patient.post(f"/book/manage/{token}/cancel", data={"reason": ""})
    assert response.status_code == 302
    assert sum("FROM clinic_settings" in s for s in statements) == 1
    assert sum(s.startswith("INSERT INTO outbox_message ") for s in statements) == 1
    # The invite's new SEQUENCE comes back with the UPDATE, not from a SELECT after it.
    assert not any(s.startswith("SELECT booking.sequence") for s in statements)
    assert not any(table in s for s in statements
                   for table in ("FROM recurring_block", "FROM schedule_exception", "FROM clinician_profile"))
    with app.app_context():
        booking = _db.session.scalars(sa.select(Booking)).one()
        clinician_email = booking.clinician.email
        sent = _db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [(row.kind, recipient_of(row)) for row in sent] == [
            ("booking_confirmation", "jordan@example.org"), ("staff_booking_changed", clinician_email),
            ("booking_cancellation", "jordan@example.org"), ("staff_booking_changed", clinician_email)]
        assert "cancelled" in body_of(sent[-1])
        assert "METHOD:CANCEL" in ics_of(sent[2]) and "SEQUENCE:1" in ics_of(sent[2])
        assert [event.kind for event in booking.events] == ["created", "cancelled"]


def test_a_move_to_another_clinician_writes_its_three_emails_in_one_statement(db):
    # The patient's change notice, the old clinician's note and the new one's: one INSERT (each
    # was a statement, and a round trip on PostgreSQL, of its own), to the right people.
    from booking.appointments.bookings import move_booking
    from tests.factories import create_staff_user

    first = add_clinician(db.session, name="Dr Ada First", hours=EVERY_DAY)
    second = add_clinician(db.session, name="Dr Ben Second", hours=EVERY_DAY)
    emails = {id_: db.session.get(StaffUser, id_).email for id_ in (first, second)}
    starts_at = local_instant(utcnow().date() + timedelta(days=5), time(10), ZONE)
    booking_id, _token = add_booking(db.session, first, starts_at)
    actor = create_staff_user(db.session, "receptionist")
    db.session.commit()
    with counted(db.engine) as statements:
        move_booking(db.session, context(utcnow()), db.session.get(Booking, booking_id),
                     starts_at=starts_at + timedelta(hours=2), clinician_id=second, actor=actor)
        db.session.commit()
    assert sum(s.startswith("INSERT INTO outbox_message ") for s in statements) == 1
    sent = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(row.kind, recipient_of(row)) for row in sent] == [
        ("booking_change", "b@example.org"), ("staff_booking_changed", emails[first]),
        ("staff_booking_changed", emails[second])]
    assert "removed from your schedule" in body_of(sent[1]) and "added to your schedule" in body_of(sent[2])


def test_a_patients_move_takes_the_rules_and_hours_from_the_cache_like_a_booking(app, client):
    # Each move read the clinic's rules, its clinicians and the clinician's profile, hours and
    # exceptions for the week: five statements a booking POST takes from the per-process cache
    # while the plan version holds. Only the clinician's bookings for the day are read now.
    from booking.appointments.web import slot_value

    with app.app_context():
        clinician_id = add_clinician(_db.session, hours=EVERY_DAY)
        day = utcnow().date() + timedelta(days=4)
        booking_id, token = add_booking(_db.session, clinician_id, local_instant(day, time(10), ZONE))
        engine = _db.engine

    def move_to(hour):
        """The patient's reschedule POST to `hour` o'clock that day, with the same clinician."""
        return client.post(f"/book/manage/{token}/reschedule", data={
            "start": slot_value(local_instant(day, time(hour), ZONE)), "clinician": str(clinician_id)})

    assert move_to(11).status_code == 302  # the week's plan is now cached
    with counted(engine) as statements:
        assert move_to(12).status_code == 302
    assert not any(table in s for s in statements for table in (
        "FROM clinic_settings", "FROM recurring_block", "FROM schedule_exception", "FROM clinician_profile"))
    assert sum("FROM booking WHERE booking.clinician_id IN" in " ".join(s.split()) for s in statements) == 1
    with app.app_context():
        assert _db.session.get(Booking, booking_id).starts_at == local_instant(day, time(12), ZONE)


def test_a_booking_compares_statuses_with_literals_so_sqlite_keeps_its_prepared_plans(app):
    # A status compared with a bound value, where a partial index's condition names the status,
    # makes SQLite prepare the statement again on every run: the booking held already check
    # took seven times as long. (A status set by an INSERT or an UPDATE's SET is a value as usual.)
    patient, engine = patient_who_may_book(app)
    with counted(engine) as statements:
        book_first_free_time(patient)
    compared = [s for s in statements if re.search(r"\.status (=|!=|<>) (\?|%\(|:)", s)]
    assert compared == []
    assert any("booking.status = 'booked'" in s for s in statements)  # the check itself ran


def test_reads_past_the_orm_still_see_what_the_session_has_not_flushed(db):
    # blocking_booking_id and fill_busy run on the session's connection, past the ORM's execute:
    # a booking added in the same transaction but not yet flushed must still count, for each.
    from booking.appointments.availability import ClinicianPlan, fill_busy
    from booking.appointments.lookups import blocking_booking_id
    from booking.models import Booking
    from tests.patient_factories import make_patient

    clinician_id = add_clinician(db.session, hours=EVERY_DAY)
    first = local_instant(utcnow().date() + timedelta(days=3), time(10), ZONE)

    def pending_booking(starts_at):
        patient_id = make_patient(db.session).id
        booking = Booking(clinician_id=clinician_id, patient_id=patient_id, starts_at=starts_at,
                          ends_at=starts_at + timedelta(minutes=30), busy_until=starts_at + timedelta(minutes=30),
                          status="booked", manage_token_hash=f"{starts_at:%H}" * 32, sequence=0, source="phone",
                          created_at=utcnow(), updated_at=utcnow())
        db.session.add(booking)
        return booking, patient_id

    booked, patient_id = pending_booking(first)
    assert blocking_booking_id(db.session, None, patient_id) == booked.id is not None
    later, _ = pending_booking(first + timedelta(hours=2))
    day = clinic_day(first, ZONE)
    busy = fill_busy(db.session, [ClinicianPlan(clinician_id=clinician_id)], day, day, ZONE)[0].busy
    assert sorted(entry[2] for entry in busy) == [booked.id, later.id]
