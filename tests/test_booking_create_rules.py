"""create_booking and check_time on a real schedule: "first available" picks by name and falls to the
next clinician, refusals name what is wrong (not a time, closed, blocked, no bookings, taken and by
what), staff book off the grid with a reason and walk-ins now, and one booking per patient. Written
against the public functions, so that mutation testing of bookings.py (`make mutation`) has a test for
each choice create_booking and check_clinician_time make."""

from contextlib import contextmanager
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.bookings import (AlreadyBooked, NotBookable, OffGrid, SlotTaken, check_time,
                                           create_booking)
from booking.appointments.web import parse_slot
from booking.crypto import cipher_for
from booking.extensions import db as _db
from booking.models import Booking, Intake, OutboxMessage, Patient, ScheduleException, StaffUser
from booking.patients.record import contact_of
from booking.timeutil import clock_text
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake, context, first_free_time_fields, utc
from tests.conftest import postgres_only, sqlite_only
from tests.factories import create_staff_user
from tests.outbox_helpers import body_of, recipient_of
from tests.patient_factories import make_patient
from tests.test_booking_rule_records import history, link

MORNINGS = {day: [(time(8), time(12))] for day in range(7)}
NOW = utc(2030, 6, 3, 12, 0)  # a Monday, 8:00 in New York
WEDNESDAY = utc(2030, 6, 5, 12, 0)  # 8:00 in New York
HOUR, HALF = timedelta(hours=1), timedelta(minutes=30)


def book(db, starts_at, clinician_id=None, *, patient_id=None, **options):
    """create_booking at NOW for `patient_id` (a new patient when None)."""
    patient_id = patient_id or make_patient(db.session, name="Pat Create", email="pat@example.org").id
    return create_booking(db.session, context(NOW), clinician_id=clinician_id, starts_at=starts_at,
                          patient_id=patient_id, link_for=link, **options)


def refusal(error):
    return str(error.value)


@contextmanager
def booked_first_before_write(clinician_id, patient_id, starts_at, **columns):
    """Another connection books `starts_at` (30 minutes, 10 of buffer) just before the session's
    own write to the booking table (an INSERT, or the flush's UPDATE): after a rule function's
    checks. `columns` sets others (intake_id, status)."""
    done = []

    def book_first(conn, cursor, statement, parameters, context, executemany):
        if done or not statement.startswith(("INSERT INTO booking ", "UPDATE booking ")):
            return
        done.append(True)
        with _db.engine.connect() as other:
            other.execute(sa.insert(Booking).values({
                "clinician_id": clinician_id, "patient_id": patient_id, "starts_at": starts_at,
                "ends_at": starts_at + HALF, "busy_until": starts_at + timedelta(minutes=40), "status": "booked",
                "manage_token_hash": "h" * 64, "sequence": 0, "source": "phone", "created_at": NOW,
                "updated_at": NOW, **columns}))
            other.commit()

    sa.event.listen(_db.engine, "before_cursor_execute", book_first)
    try:
        yield
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", book_first)
    assert done, "the session never wrote to the booking table"


@pytest.fixture
def clinic(db):
    """Dr Baker (made first, so the lower id) and Dr Adams, mornings, 30 minutes with a 10-minute buffer."""
    baker = add_clinician(db.session, name="Dr Baker", hours=MORNINGS, buffer=10)
    adams = add_clinician(db.session, name="Dr Adams", hours=MORNINGS, buffer=10)
    return adams, baker


def test_first_available_takes_the_first_clinician_by_name_then_the_next_one_free(db, clinic):
    adams, baker = clinic
    first, _token = book(db, WEDNESDAY)
    second, _token = book(db, WEDNESDAY)
    assert (first.clinician_id, second.clinician_id) == (adams, baker)
    assert (first.ends_at, first.busy_until) == (WEDNESDAY + HALF, WEDNESDAY + timedelta(minutes=40))
    with pytest.raises(SlotTaken) as taken:
        book(db, WEDNESDAY)
    assert refusal(taken) == "That time was just taken. Please choose another time."
    nearest = taken.value.alternatives  # of any clinician: each time once, the first by name
    assert nearest and WEDNESDAY not in [s.starts_at for s in nearest]


def test_first_available_at_a_time_nobody_offers_says_so(db, clinic):
    with pytest.raises(NotBookable) as refused:
        book(db, WEDNESDAY + timedelta(minutes=5))
    assert refusal(refused) == "That is not one of the clinic's consultation times. Please choose a listed time."
    with pytest.raises(NotBookable, match="already passed"):
        book(db, NOW - HOUR)


def test_a_taken_time_with_one_clinician_offers_that_clinicians_nearest_and_tells_staff_what_holds_it(db, clinic):
    adams, _baker = clinic
    add_booking(db.session, adams, WEDNESDAY + timedelta(minutes=20))
    with pytest.raises(SlotTaken) as taken:
        check_time(db.session, context(NOW), adams, WEDNESDAY)
    assert refusal(taken) == "That time was just taken. Please choose another time."  # patients chose among free times
    assert taken.value.alternatives and {s.clinician_id for s in taken.value.alternatives} == {adams}
    with pytest.raises(SlotTaken) as taken:
        check_time(db.session, context(NOW), adams, WEDNESDAY, staff=True)
    held = clock_text(WEDNESDAY + timedelta(minutes=20), ZONE)
    assert refusal(taken) == f"That time overlaps the {held} consultation. Please choose another time."


def test_refusals_name_the_closed_day_the_blocked_time_and_a_clinician_without_bookings(db, clinic):
    adams, baker = clinic
    db.session.add_all([
        ScheduleException(clinician_id=None, kind="closed", starts_at=WEDNESDAY - HOUR * 4,
                          ends_at=WEDNESDAY + HOUR * 20, note="Staff training"),
        ScheduleException(clinician_id=adams, kind="blocked", starts_at=WEDNESDAY + 2 * HOUR * 24,
                          ends_at=WEDNESDAY + 2 * HOUR * 24 + HOUR, note=""),
        ScheduleException(clinician_id=adams, kind="closed", starts_at=WEDNESDAY + HOUR * 24,
                          ends_at=WEDNESDAY + HOUR * 24 + HOUR, note="")])
    db.session.commit()
    for clinician, starts_at, words in [
        (adams, WEDNESDAY, "The clinic is closed that day (Staff training)."),
        (adams, WEDNESDAY + HOUR * 24, "The clinic is closed that day."),
        (adams, WEDNESDAY + 2 * HOUR * 24, "That time is blocked in the clinician's schedule."),
        (baker, WEDNESDAY + HOUR * 24 + timedelta(minutes=5),
         "That is not one of Dr Baker's consultation times. Please choose a listed time."),
    ]:
        with pytest.raises(NotBookable) as refused:
            check_time(db.session, context(NOW), clinician, starts_at)
        assert refusal(refused) == words
    assert check_time(db.session, context(NOW), baker, WEDNESDAY + 2 * HOUR * 24)  # Dr Adams's block is his own
    no_bookings = add_clinician(db.session, name="Dr Away", hours=MORNINGS, accepts=False)
    with pytest.raises(NotBookable) as refused:
        check_time(db.session, context(NOW), no_bookings, WEDNESDAY)
    assert refusal(refused) == "That clinician does not take bookings. Please choose another clinician."


def test_staff_book_off_the_grid_only_with_a_reason_and_the_history_keeps_it(db, clinic):
    adams, _baker = clinic
    actor = create_staff_user(db.session, "receptionist")
    odd = WEDNESDAY + timedelta(minutes=15)
    with pytest.raises(OffGrid) as refused:
        book(db, odd, adams, actor=actor, source="phone", off_grid_reason="   ")
    nearest = refused.value.alternatives
    assert nearest and refusal(refused).startswith(f"{clock_text(odd, ZONE)} is not one of Dr Adams's start times; "
                                                   f"the nearest are {clock_text(nearest[0].starts_at, ZONE)}")
    booking, _token = book(db, odd, adams, actor=actor, source="phone", off_grid_reason=" Needs the early bus " * 8)
    assert (booking.clinician_id, booking.starts_at, booking.ends_at, booking.busy_until) == (
        adams, odd, odd + HALF, odd + timedelta(minutes=40))
    _db.session.commit()
    reason = (" Needs the early bus " * 8).strip()[:120]
    assert history(db, booking.id) == [("created", NOW, actor.id, f"phone booking; off the grid: {reason}")]
    assert (booking.source, booking.created_by_id) == ("phone", actor.id)


def test_a_walk_in_is_booked_by_staff_at_a_time_already_started(db, clinic):
    adams, _baker = clinic
    actor = create_staff_user(db.session, "receptionist")
    with pytest.raises(NotBookable, match="already passed"):
        book(db, NOW, adams, actor=actor)
    booking, _token = book(db, NOW, adams, actor=actor, source="phone", walk_in=True)
    _db.session.commit()
    assert history(db, booking.id)[0][3] == "phone booking (walk-in)"


def test_one_upcoming_booking_per_patient_and_per_questionnaire(app, db, clinic):
    adams, _baker = clinic
    intake_id, _ = add_intake(db.session, app.config)
    patient_id = db.session.get(Intake, intake_id).patient_id
    first, _token = book(db, WEDNESDAY, adams, patient_id=patient_id, intake_id=intake_id)
    with pytest.raises(AlreadyBooked) as refused:
        book(db, WEDNESDAY + HOUR, adams, patient_id=patient_id)  # the same patient, no questionnaire named
    assert refused.value.booking.id == first.id
    other_patient = make_patient(db.session, name="Other Person", email="o@example.org").id
    with pytest.raises(AlreadyBooked) as refused:
        book(db, WEDNESDAY + HOUR, adams, patient_id=other_patient, intake_id=intake_id)  # the same questionnaire
    assert refused.value.booking.id == first.id
    assert _db.session.query(Booking).count() == 1


def test_a_patient_whose_booking_was_cancelled_or_held_may_book_again(db, clinic):
    adams, _baker = clinic
    patient_id = make_patient(db.session, name="Pat Again", email="again@example.org").id
    add_booking(db.session, adams, WEDNESDAY, status="cancelled", patient_id=patient_id)
    add_booking(db.session, adams, NOW - timedelta(days=3), status="completed", patient_id=patient_id)
    booking, _token = book(db, WEDNESDAY, adams, patient_id=patient_id)
    assert booking.patient_id == patient_id


def test_staff_nearest_times_include_the_notice_and_the_moved_bookings_own_time(db, clinic):
    adams, _baker = clinic
    own_id, _token = add_booking(db.session, adams, WEDNESDAY)
    add_booking(db.session, adams, WEDNESDAY + timedelta(minutes=80))  # holds the 9:20 slot
    with pytest.raises(SlotTaken) as taken:
        check_time(db.session, context(NOW), adams, WEDNESDAY + timedelta(minutes=80), staff=True,
                   ignore_booking_id=own_id)
    assert WEDNESDAY in [s.starts_at for s in taken.value.alternatives]  # its own time is free to it
    today_soon = utc(2030, 6, 3, 14, 40)  # 10:40 today, inside the patients' notice
    add_booking(db.session, adams, today_soon)
    with pytest.raises(SlotTaken) as taken:
        check_time(db.session, context(NOW), adams, today_soon, staff=True)
    assert any(s.starts_at < NOW + timedelta(hours=24) for s in taken.value.alternatives)
    short_notice = context(NOW, min_notice=timedelta(hours=3))  # patients from 11:00 today
    add_booking(db.session, adams, utc(2030, 6, 3, 15, 20))  # 11:20 today
    with pytest.raises(SlotTaken) as taken:
        check_time(db.session, short_notice, adams, utc(2030, 6, 3, 15, 20))
    assert taken.value.alternatives and all(s.starts_at >= NOW + timedelta(hours=3) for s in taken.value.alternatives)


def test_check_time_leaves_walk_ins_and_the_horizon_to_those_who_ask(db, clinic):
    adams, _baker = clinic
    with pytest.raises(NotBookable, match="already passed"):
        check_time(db.session, context(NOW), adams, NOW, staff=True)
    with pytest.raises(NotBookable, match="beyond the booking horizon"):
        check_time(db.session, context(NOW), adams, NOW + timedelta(days=61), staff=True)


@pytest.mark.parametrize("by_staff", [False, True])
def test_a_move_the_database_refuses_offers_the_nearest_free_times(db, clinic, by_staff):
    from booking.appointments.bookings import move_booking

    adams, _baker = clinic
    booking_id, _token = add_booking(db.session, adams, WEDNESDAY)
    # Staff may move inside the patients' notice (10:40 today), and are offered times there too.
    target = utc(2030, 6, 3, 14, 40) if by_staff else WEDNESDAY + timedelta(minutes=80)
    actor = create_staff_user(db.session, "receptionist") if by_staff else None
    patient = make_patient(db.session, name="Quick Other", email="q@example.org").id
    _db.session.commit()
    with booked_first_before_write(adams, patient, target), pytest.raises(SlotTaken) as taken:
        move_booking(db.session, context(NOW), db.session.get(Booking, booking_id), starts_at=target, actor=actor)
    nearest = taken.value.alternatives
    assert nearest and {s.clinician_id for s in nearest} == {adams} and target not in [s.starts_at for s in nearest]
    assert db.session.get(Booking, booking_id).starts_at == WEDNESDAY  # nothing half-moved
    inside_notice = [s for s in nearest if s.starts_at < NOW + timedelta(hours=24)]
    assert bool(inside_notice) is by_staff


def test_a_moves_history_line_fits_its_column_however_long_the_names(db):
    from booking.appointments.bookings import move_detail

    first = add_clinician(db.session, name="Dr " + "A" * 117, hours=MORNINGS)
    second = add_clinician(db.session, name="Dr " + "B" * 117, hours=MORNINGS)
    detail = move_detail(db.session, ZONE, WEDNESDAY, WEDNESDAY + HOUR, first, second)
    assert len(detail) == 255 and detail.startswith("from ")


def test_staff_first_available_books_inside_the_notice_and_past_the_horizon_once_confirmed(db, clinic):
    adams, baker = clinic
    actor = create_staff_user(db.session, "receptionist")
    soon = utc(2030, 6, 3, 14, 40)  # 10:40 today, inside the patients' notice
    first, _token = book(db, soon, actor=actor, source="phone")
    second, _token = book(db, soon, actor=actor, source="phone")
    assert (first.clinician_id, second.clinician_id) == (adams, baker)
    with pytest.raises(SlotTaken):  # nobody is free then: taken, not "too soon", for staff
        book(db, soon, actor=actor, source="phone")
    far = utc(2030, 8, 7, 12, 0)  # 8:00, 65 days ahead
    with pytest.raises(NotBookable, match="beyond the booking horizon"):
        book(db, far, adams, actor=actor, source="phone")
    book(db, far, adams, actor=actor, source="phone", beyond_horizon=True)
    book(db, far, actor=actor, source="phone", beyond_horizon=True)  # first available: Dr Baker
    with pytest.raises(SlotTaken):  # both taken: taken, not "beyond the horizon"
        book(db, far, actor=actor, source="phone", beyond_horizon=True)


@pytest.mark.parametrize("race", ["same patient", "other patient", "other patient, staff"])
def test_a_booking_the_database_refuses_says_why(db, clinic, race):
    adams, baker = clinic
    patient_id = make_patient(db.session, name="Pat Double", email="double@example.org").id
    other_id = make_patient(db.session, name="Quick Other", email="q@example.org").id
    staff = race.endswith("staff")
    target = utc(2030, 6, 3, 14, 40) if staff else WEDNESDAY + timedelta(minutes=80)  # staff: inside the notice
    # The same patient's double click lands another time; another patient takes this very time.
    raced_at, raced_for = (WEDNESDAY, patient_id) if race == "same patient" else (target, other_id)
    actor = create_staff_user(db.session, "receptionist") if staff else None
    _db.session.commit()
    with booked_first_before_write(baker, raced_for, raced_at), pytest.raises((AlreadyBooked, SlotTaken)) as refused:
        book(db, target, baker, patient_id=patient_id, actor=actor)
    if race == "same patient":
        assert isinstance(refused.value, AlreadyBooked) and refused.value.booking.starts_at == WEDNESDAY
        return
    nearest = refused.value.alternatives
    assert isinstance(refused.value, SlotTaken) and nearest and {s.clinician_id for s in nearest} == {baker}
    assert bool([s for s in nearest if s.starts_at < NOW + timedelta(hours=24)]) is staff


def test_the_staff_off_grid_refusal_in_full_with_the_nearest_times_staff_may_use(db, clinic):
    from booking.appointments.availability import nearest_free
    from booking.appointments.bookings import check_clinician_time

    adams, _baker = clinic
    ctx = context(NOW)
    soon = NOW + timedelta(hours=2, minutes=15)  # 10:15 today: inside the patients' 24-hour notice
    with pytest.raises(OffGrid) as refused:
        check_clinician_time(db.session, ctx, adams, soon, staff=True)  # no off_grid: a reason is needed
    nearest = refused.value.alternatives
    assert [s.starts_at for s in nearest] == [s.starts_at for s in nearest_free(
        db.session, soon, ZONE, now=NOW, rules=ctx.rules, clinician_ids=[adams], apply_notice=False)]
    assert any(s.starts_at < NOW + timedelta(hours=24) for s in nearest)  # staff are offered today's times
    assert refusal(refused) == (f"{clock_text(soon, ZONE)} is not one of Dr Adams's start times; the nearest are "
                                + ", ".join(clock_text(s.starts_at, ZONE) for s in nearest)
                                + ". Or give a reason to book it anyway.")
    with pytest.raises(NotBookable) as refused:
        check_clinician_time(db.session, ctx, adams, soon)  # a patient: never an off-grid offer
    assert not isinstance(refused.value, OffGrid)
    assert refusal(refused) == "That is not one of Dr Adams's consultation times. Please choose a listed time."


def test_an_off_grid_refusal_offers_the_moved_bookings_own_time(db, clinic):
    from booking.appointments.bookings import check_clinician_time

    adams, _baker = clinic
    own_id, _token = add_booking(db.session, adams, WEDNESDAY, buffer=10)
    odd = WEDNESDAY + timedelta(minutes=15)
    with pytest.raises(OffGrid) as refused:
        check_clinician_time(db.session, context(NOW), adams, odd, staff=True, ignore_booking_id=own_id)
    assert WEDNESDAY in [s.starts_at for s in refused.value.alternatives]
    with pytest.raises(OffGrid) as refused:
        check_clinician_time(db.session, context(NOW), adams, odd, staff=True)
    assert WEDNESDAY not in [s.starts_at for s in refused.value.alternatives]


@pytest.mark.parametrize("kind", ["closed", "blocked"])
def test_a_period_covers_its_start_and_not_its_end(db, clinic, kind):
    adams, _baker = clinic
    late = WEDNESDAY + timedelta(hours=3, minutes=45)  # 11:45: no 30-minute slot fits before noon
    db.session.add(ScheduleException(clinician_id=adams, kind=kind, starts_at=late - HOUR + timedelta(minutes=15),
                                     ends_at=late, note=""))
    db.session.commit()
    with pytest.raises(OffGrid):  # the period has ended at 11:45: only the time being off the grid stands
        check_time(db.session, context(NOW), adams, late, staff=True)
    odd = WEDNESDAY + timedelta(minutes=15)
    db.session.add(ScheduleException(clinician_id=adams, kind=kind, starts_at=odd, ends_at=odd + HALF, note=""))
    db.session.commit()
    with pytest.raises(NotBookable) as refused:  # a period starting at 8:15 covers it
        check_time(db.session, context(NOW), adams, odd, staff=True)
    assert not isinstance(refused.value, OffGrid)
    assert refusal(refused) == ("The clinic is closed that day." if kind == "closed"
                                else "That time is blocked in the clinician's schedule.")


def test_first_available_falls_to_the_next_clinician_taken_meanwhile_and_says_so_when_none_is_left(
        db, clinic, monkeypatch):
    from booking.appointments import bookings
    from booking.appointments.availability import Slot

    adams, baker = clinic
    add_booking(db.session, adams, WEDNESDAY, buffer=10)  # Dr Adams was taken after the free times were read
    end = WEDNESDAY + HALF
    read_before = [Slot(adams, WEDNESDAY, end, end + timedelta(minutes=10)),
                   Slot(baker, WEDNESDAY, end, end + timedelta(minutes=10))]
    monkeypatch.setattr(bookings, "free_slots", lambda *args, **kwargs: list(read_before))
    booking, _token = book(db, WEDNESDAY)
    assert booking.clinician_id == baker
    _db.session.commit()
    with pytest.raises(SlotTaken) as taken:  # now both are taken: the last candidate's refusal stands
        book(db, WEDNESDAY)
    assert refusal(taken) == "That time was just taken. Please choose another time."
    nearest = taken.value.alternatives
    assert WEDNESDAY not in [s.starts_at for s in nearest]
    # First available: the nearest times of every clinician, not only of the last one tried.
    from booking.appointments.availability import nearest_free
    everyone = nearest_free(db.session, WEDNESDAY, ZONE, now=NOW, rules=context(NOW).rules, clinician_ids=None)
    assert [(s.clinician_id, s.starts_at) for s in nearest] == [(s.clinician_id, s.starts_at) for s in everyone]


def first_available_with_new_details(app, db):
    """A patient's browser at the confirm step of the first free time with "first available";
    returns (browser, form fields with new details, their patient id, another patient's id)."""
    intake_id, token = add_intake(db.session, app.config)
    patient_id = db.session.get(Intake, intake_id).patient_id
    other = make_patient(db.session, name="Pat Other", email="other@example.org").id
    db.session.commit()
    patient = app.test_client()
    patient.get(f"/book/start/{token}")
    fields = {**first_free_time_fields(patient), "clinician": "any",  # both doctors keep the same hours
              "name": "Jordan New-Name", "email": "jordan.new@example.org"}
    return patient, fields, patient_id, other


def test_first_available_keeps_the_details_typed_when_the_first_clinicians_time_goes_at_the_insert(
        app, db, clinic):
    # On PostgreSQL another patient can take the time between the free times' read and this
    # INSERT, and the refusal rolled back the whole transaction, new details included, before
    # the next clinician was booked: with the old address, and the confirmation sent there.
    postgres_only()
    adams, baker = clinic
    patient, fields, patient_id, other = first_available_with_new_details(app, db)
    with booked_first_before_write(adams, other, parse_slot(fields["start"])):
        response = patient.post("/book/confirm", data=fields)
    assert response.status_code == 302
    booking = db.session.scalars(sa.select(Booking).where(Booking.patient_id == patient_id)).one()
    assert booking.clinician_id == baker
    assert contact_of(booking.patient, cipher_for(app.config))["email"] == "jordan.new@example.org"
    sent = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmation")).one()
    assert recipient_of(sent) == "jordan.new@example.org" and "Jordan New-Name" in body_of(sent)
    # The emails composed for Dr Adams before the refused INSERT are not the ones sent.
    assert "Dr Baker" in body_of(sent) and "Dr Adams" not in body_of(sent)
    noted = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "staff_booking_changed")).all()
    assert [recipient_of(row) for row in noted] == [db.session.get(StaffUser, baker).email]


def test_first_available_refused_by_every_clinician_leaves_nothing_of_its_transaction(db, clinic):
    # What the savepoint kept for the next clinician (here the new patient's record) must not be
    # committed when no clinician is left: SlotTaken means the session was rolled back.
    postgres_only()
    adams, baker = clinic
    other = make_patient(db.session, name="Pat Other", email="other@example.org").id
    db.session.commit()
    with booked_first_before_write(adams, other, WEDNESDAY), booked_first_before_write(baker, other, WEDNESDAY), \
            pytest.raises(SlotTaken):
        book(db, WEDNESDAY)  # a new patient, written before the INSERT
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Patient)) == 1


def test_first_available_on_sqlite_books_without_a_savepoint(app, db, clinic):
    # SQLite lets one transaction write at a time: once the new details are written, nobody can
    # take the time before the INSERT, so the savepoint would be two statements for nothing.
    sqlite_only()
    adams, _baker = clinic
    patient, fields, patient_id, _other = first_available_with_new_details(app, db)
    statements = []

    def seen(conn, cursor, statement, *rest):
        statements.append(statement)

    sa.event.listen(_db.engine, "before_cursor_execute", seen)
    try:
        response = patient.post("/book/confirm", data=fields)
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", seen)
    assert response.status_code == 302
    assert db.session.scalars(sa.select(Booking.clinician_id).where(Booking.patient_id == patient_id)).one() == adams
    assert any(s.startswith("UPDATE patient ") for s in statements)  # the details were written first
    assert not any("SAVEPOINT" in s for s in statements)


def test_a_named_clinicians_taken_time_tells_staff_what_holds_it(db, clinic):
    adams, _baker = clinic
    add_booking(db.session, adams, WEDNESDAY, buffer=10)
    desk = create_staff_user(db.session, "receptionist")
    with pytest.raises(SlotTaken) as taken:
        book(db, WEDNESDAY, adams, actor=desk, source="phone")
    assert refusal(taken) == "That time is already booked by another patient. Please choose another time."
    assert {s.clinician_id for s in taken.value.alternatives} == {adams}


def test_a_questionnaire_booked_at_the_desk_meanwhile_is_refused_as_already_booked(app, db, clinic):
    adams, baker = clinic
    intake_id, _ = add_intake(db.session, app.config)
    patient_id = db.session.get(Intake, intake_id).patient_id
    walk_in = NOW - timedelta(minutes=20)  # 7:40 today: seen at the desk and marked arrived, so not "upcoming"
    with booked_first_before_write(adams, patient_id, walk_in, intake_id=intake_id, status="arrived"), \
            pytest.raises(AlreadyBooked) as refused:
        book(db, WEDNESDAY, baker, patient_id=patient_id, intake_id=intake_id)
    assert (refused.value.booking.starts_at, refused.value.booking.status) == (walk_in, "arrived")


def test_off_the_grid_with_no_free_time_near_staff_are_told_so(db):
    from booking.appointments.bookings import check_clinician_time

    only_slot = add_clinician(db.session, name="Dr Once", hours={2: [(time(8), time(8, 30))]})  # Wednesdays 8:00
    for week in (0, 1):  # both Wednesdays within the week either side are booked (the one before has passed)
        add_booking(db.session, only_slot, WEDNESDAY + timedelta(days=7 * week))
    odd = WEDNESDAY + timedelta(minutes=15)
    with pytest.raises(OffGrid) as refused:
        check_clinician_time(db.session, context(NOW), only_slot, odd, staff=True)
    assert refused.value.alternatives == []
    assert refusal(refused) == (f"{clock_text(odd, ZONE)} is not one of Dr Once's start times; there is no free "
                                "time near it. Or give a reason to book it anyway.")


def test_a_staff_move_is_told_what_else_holds_the_time_never_the_booking_being_moved(db, clinic):
    from booking.appointments.bookings import move_booking

    adams, _baker = clinic
    own_id, _token = add_booking(db.session, adams, WEDNESDAY + timedelta(minutes=20), buffer=10)  # off the grid
    add_booking(db.session, adams, WEDNESDAY + HOUR, buffer=10)  # 9:00, right after it
    desk = create_staff_user(db.session, "receptionist")
    with pytest.raises(SlotTaken) as taken:  # 8:40 overlaps both: its own 8:20 is no obstacle, 9:00 is
        move_booking(db.session, context(NOW), db.session.get(Booking, own_id), starts_at=WEDNESDAY + HOUR * 2 / 3,
                     actor=desk)
    held = clock_text(WEDNESDAY + HOUR, ZONE)
    assert refusal(taken) == f"That time overlaps the {held} consultation. Please choose another time."


def test_a_time_that_starts_as_the_clinicians_previous_booking_ends_is_booked(db, clinic):
    # The previous booking written through the ORM, the new one through create_booking's own
    # INSERT (DriverWrite): on SQLite the overlap trigger compares stored text, so the new row's
    # times must be stored in the same form ("08:40:00.000000", not "08:40:00", which sorts
    # before it and made the 8:40 booking overlap the one busy until 8:40).
    adams, _baker = clinic
    add_booking(db.session, adams, WEDNESDAY, buffer=10)  # 8:00, busy until 8:40
    booking, _token = book(db, WEDNESDAY + timedelta(minutes=40), adams)
    db.session.commit()
    assert db.session.get(Booking, booking.id).busy_until == WEDNESDAY + timedelta(minutes=80)
    later, _token = book(db, WEDNESDAY + timedelta(minutes=80), adams)  # and the next, after the new one
    assert later.starts_at == WEDNESDAY + timedelta(minutes=80)
