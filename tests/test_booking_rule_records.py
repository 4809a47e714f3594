"""What move_booking and cancel_booking write and announce: the booking's new time and clinician,
SEQUENCE up by exactly one, a history line with who, when and what, and the signal the email
receivers read. Also which moves are refused, in the words the patient or the front desk sees.
Written against the public functions, so that mutation testing of bookings.py (`make mutation`)
has a test for each argument passed on and each word said."""

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.bookings import (AlreadyBooked, BeyondHorizon, NotAllowed, NotBookable, cancel_booking, create_booking,
                                           move_booking)
from booking.models import Booking, BookingEvent, Intake
from booking.signals import booking_cancelled, booking_created, booking_moved
from booking.timeutil import local_text
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake, context, utc
from tests.factories import create_staff_user

EVERY_DAY = {day: [(time(8), time(18))] for day in range(7)}
NOW = utc(2030, 6, 3, 12, 0)  # a Monday, 8:00 in New York
WEDNESDAY_TEN = utc(2030, 6, 5, 14, 0)  # 10:00 in New York
HOUR = timedelta(hours=1)


def link(token):
    return f"https://clinic.example/book/manage/{token}"


class Heard:
    """Records each sending of a signal: (sender, keyword arguments)."""

    def __init__(self):
        self.calls = []

    def __call__(self, sender, **kwargs):
        self.calls.append((sender, kwargs))


def history(db, booking_id):
    """(kind, at, actor id, detail) of each event of a booking, oldest first."""
    return [(e.kind, e.at, e.actor_id, e.detail) for e in db.session.scalars(
        sa.select(BookingEvent).where(BookingEvent.booking_id == booking_id).order_by(BookingEvent.id))]


def sequence_of(db, booking_id):
    db.session.expire_all()
    return db.session.get(Booking, booking_id).sequence


@pytest.fixture
def two_clinicians(db):
    return (add_clinician(db.session, name="Dr Ada Adams", hours=EVERY_DAY),
            add_clinician(db.session, name="Dr Ben Baker", hours=EVERY_DAY))


def test_a_staff_move_to_another_clinician_is_recorded_and_announced(db, two_clinicians):
    adams, baker = two_clinicians
    actor = create_staff_user(db.session, "receptionist")
    booking_id, _token = add_booking(db.session, adams, WEDNESDAY_TEN)
    booking = db.session.get(Booking, booking_id)
    heard = Heard()
    with booking_moved.connected_to(heard):
        move_booking(db.session, context(NOW), booking, starts_at=WEDNESDAY_TEN + HOUR, clinician_id=baker, actor=actor)
    assert (booking.clinician_id, booking.starts_at, booking.clinician.name) == (baker, WEDNESDAY_TEN + HOUR,
                                                                                  "Dr Ben Baker")
    [(sender, said)] = heard.calls
    assert sender == "appointments"
    assert (said["session"], said["now"], said["booking"], said["actor"], said["link"]) == (
        db.session, NOW, booking, actor, None)
    assert (said["previous_starts_at"], said["previous_clinician_id"]) == (WEDNESDAY_TEN, adams)
    db.session.commit()
    detail = (f"from {local_text(WEDNESDAY_TEN, ZONE)} to {local_text(WEDNESDAY_TEN + HOUR, ZONE)}; "
              "clinician changed from Dr Ada Adams to Dr Ben Baker")
    assert history(db, booking_id)[-1] == ("moved", NOW, actor.id, detail)
    assert sequence_of(db, booking_id) == 1


def test_each_move_raises_sequence_by_one_and_the_same_time_with_another_clinician_is_a_move(db, two_clinicians):
    adams, baker = two_clinicians
    booking_id, _token = add_booking(db.session, adams, WEDNESDAY_TEN)
    booking = db.session.get(Booking, booking_id)
    with pytest.raises(NotAllowed) as refused:
        move_booking(db.session, context(NOW), booking, starts_at=WEDNESDAY_TEN)
    assert str(refused.value) == "The booking is already at that time."
    move_booking(db.session, context(NOW), booking, starts_at=WEDNESDAY_TEN, clinician_id=baker)
    db.session.commit()
    assert sequence_of(db, booking_id) == 1
    booking = db.session.get(Booking, booking_id)
    move_booking(db.session, context(NOW), booking, starts_at=WEDNESDAY_TEN + HOUR)  # the patient, own clinician
    db.session.commit()
    assert sequence_of(db, booking_id) == 2
    assert history(db, booking_id)[-1] == (
        "moved", NOW, None, f"from {local_text(WEDNESDAY_TEN, ZONE)} to {local_text(WEDNESDAY_TEN + HOUR, ZONE)}")


def test_a_move_may_take_time_the_booking_itself_holds(db):
    doctor = add_clinician(db.session, name="Dr Buffer", hours=EVERY_DAY)
    booking_id, _token = add_booking(db.session, doctor, WEDNESDAY_TEN, minutes=30, buffer=60)  # busy to 11:30
    booking = db.session.get(Booking, booking_id)
    move_booking(db.session, context(NOW), booking, starts_at=WEDNESDAY_TEN + HOUR)
    assert booking.starts_at == WEDNESDAY_TEN + HOUR


def test_staff_move_inside_the_notice_and_past_the_horizon_once_confirmed_patients_do_neither(db):
    doctor = add_clinician(db.session, name="Dr Staff", hours=EVERY_DAY)
    actor = create_staff_user(db.session, "receptionist")
    booking_id, _token = add_booking(db.session, doctor, WEDNESDAY_TEN)
    booking = db.session.get(Booking, booking_id)
    soon = utc(2030, 6, 3, 15, 0)  # 11:00 today in New York, inside the 24 hours' notice
    with pytest.raises(NotBookable, match="hours' notice"):
        move_booking(db.session, context(NOW), booking, starts_at=soon)
    far = utc(2030, 8, 5, 14, 0)  # 63 days ahead
    with pytest.raises(NotBookable, match="days ahead"):
        move_booking(db.session, context(NOW), booking, starts_at=far)
    with pytest.raises(BeyondHorizon):
        move_booking(db.session, context(NOW), booking, starts_at=far, actor=actor)
    move_booking(db.session, context(NOW), booking, starts_at=far, actor=actor, beyond_horizon=True)
    move_booking(db.session, context(NOW), booking, starts_at=soon, actor=actor)
    assert booking.starts_at == soon


def test_refused_moves_say_why_in_the_patients_words(app, db):
    doctor = add_clinician(db.session, name="Dr Words", hours=EVERY_DAY)
    intake_id, _ = add_intake(db.session, app.config)
    db.session.get(Intake, intake_id).decision = "not_suitable"
    not_suitable = db.session.get(Booking, add_booking(db.session, doctor, WEDNESDAY_TEN, intake_id=intake_id)[0])
    arrived = db.session.get(Booking, add_booking(db.session, doctor, WEDNESDAY_TEN + HOUR, status="arrived")[0])
    cancelled = db.session.get(Booking, add_booking(db.session, doctor, WEDNESDAY_TEN, status="cancelled")[0])
    later = WEDNESDAY_TEN + 3 * HOUR
    for booking, words in [
        (not_suitable, "Please call the clinic to change this booking."),
        (arrived, "This booking is marked arrived, so it cannot be moved."),
        (cancelled, "This booking has been cancelled, so it cannot be changed. You are welcome to book again."),
    ]:
        with pytest.raises(NotAllowed) as refused:
            move_booking(db.session, context(NOW), booking, starts_at=later)
        assert str(refused.value) == words
    past_cutoff = context(WEDNESDAY_TEN - timedelta(hours=2))
    with pytest.raises(NotAllowed) as refused:
        move_booking(db.session, past_cutoff, db.session.get(Booking, not_suitable.id), starts_at=later)
    assert str(refused.value) == ("Bookings can be changed online up to 24 hours before the appointment. "
                                  "Please call the clinic.")


def test_a_cancellation_is_recorded_and_announced_with_the_reason_kept_on_the_booking(db):
    doctor = add_clinician(db.session, name="Dr Cancel", hours=EVERY_DAY)
    actor = create_staff_user(db.session, "receptionist")
    booking_id, _token = add_booking(db.session, doctor, WEDNESDAY_TEN)
    booking = db.session.get(Booking, booking_id)
    heard = Heard()
    with booking_cancelled.connected_to(heard):
        cancel_booking(db.session, context(NOW), booking, reason=" Work clash ", actor=actor)
    [(sender, said)] = heard.calls
    assert (sender, said["session"], said["now"], said["booking"], said["actor"], said["reason"]) == (
        "appointments", db.session, NOW, booking, actor, "Work clash")
    db.session.commit()
    assert history(db, booking_id)[-1] == ("cancelled", NOW, actor.id, "by staff")
    assert sequence_of(db, booking_id) == 1
    booking = db.session.get(Booking, booking_id)
    assert (booking.status, booking.cancelled_at, booking.cancel_reason) == ("cancelled", NOW, "Work clash")


def test_a_booking_is_recorded_and_announced_with_its_links(app, db):
    doctor = add_clinician(db.session, name="Dr Create", hours=EVERY_DAY)
    intake_id, _ = add_intake(db.session, app.config)
    patient_id = db.session.get(Intake, intake_id).patient_id
    heard = Heard()
    with booking_created.connected_to(heard):
        booking, token = create_booking(db.session, context(NOW), clinician_id=doctor, starts_at=WEDNESDAY_TEN,
                                        patient_id=patient_id, link_for=link, intake_id=intake_id,
                                        timezone="Europe/London", questionnaire_link="q-link")
    [(sender, said)] = heard.calls
    assert (sender, said["session"], said["now"], said["booking"], said["actor"], said["link"],
            said["questionnaire_link"]) == ("appointments", db.session, NOW, booking, None, link(token), "q-link")
    db.session.commit()
    booking = db.session.get(Booking, booking.id)
    assert (booking.clinician_id, booking.intake_id, booking.patient_id, booking.starts_at, booking.ends_at,
            booking.busy_until, booking.status, booking.patient_timezone, booking.sequence, booking.source,
            booking.created_at, booking.updated_at, booking.created_by_id) == (
        doctor, intake_id, patient_id, WEDNESDAY_TEN, WEDNESDAY_TEN + timedelta(minutes=30),
        WEDNESDAY_TEN + timedelta(minutes=30), "booked", "Europe/London", 0, "online", NOW, NOW, None)
    assert history(db, booking.id) == [("created", NOW, None, "online booking")]


def test_a_manage_link_opens_its_booking_until_it_expires_and_then_says_so(db):
    from booking.appointments.bookings import ManageLinkExpired, find_by_manage_link

    doctor = add_clinician(db.session, name="Dr Link", hours=EVERY_DAY)
    booking_id, token = add_booking(db.session, doctor, WEDNESDAY_TEN)
    expires = WEDNESDAY_TEN + timedelta(minutes=30) + timedelta(days=30)
    assert find_by_manage_link(db.session, token, now=expires - timedelta(seconds=1), days=30).id == booking_id
    assert find_by_manage_link(db.session, token + "x", now=NOW, days=30) is None  # a made-up link
    assert find_by_manage_link(db.session, "not a token!", now=NOW, days=30) is None
    with pytest.raises(ManageLinkExpired) as expired:
        find_by_manage_link(db.session, token, now=expires, days=30)
    assert str(expired.value) == (
        "This link has expired: a booking's private link stops working some time after the consultation or "
        "the cancellation. To book again, or for anything about a past appointment, call the clinic.")


def test_every_version_of_a_questionnaire_shares_one_active_booking_and_the_week_view_sees_it(app, db):
    from booking.appointments.lookups import active_booking_for_intake, intake_versions, patient_state

    doctor = add_clinician(db.session, name="Dr Versions", hours=EVERY_DAY)
    first, _ = add_intake(db.session, app.config, flag_level="clearance")
    patient_id = db.session.get(Intake, first).patient_id
    second = Intake(status="submitted", previous_id=first, patient_id=patient_id)
    db.session.add(second)
    db.session.flush()
    third = Intake(status="submitted", previous_id=second.id, patient_id=patient_id)
    other, _ = add_intake(db.session, app.config)
    db.session.add(third)
    db.session.commit()
    assert intake_versions(db.session, second.id) == {first, second.id, third.id}
    assert intake_versions(db.session, other) == {other}
    assert active_booking_for_intake(db.session, third.id) is None
    booking_id, _token = add_booking(db.session, doctor, WEDNESDAY_TEN, intake_id=first)
    assert active_booking_for_intake(db.session, third.id).id == booking_id
    assert active_booking_for_intake(db.session, other) is None
    state = patient_state(db.engine, first)
    assert (state.status, state.decision, state.flag_level, state.cleared_at, state.booking_id) == (
        "submitted", None, "clearance", None, booking_id)
    assert not state.booking_allowed() and state.booking_allowed(clearance_blocks_booking=False)
    assert patient_state(db.engine, other).booking_id is None and patient_state(db.engine, 10**6) is None


def test_the_refusals_patients_see_for_a_second_booking_and_a_busy_database():
    from booking.appointments.bookings import AlreadyBooked, Busy

    assert str(AlreadyBooked()) == ("You already have a booking. Use the link in your confirmation email to "
                                    "change it, or call the clinic.")
    assert str(Busy()) == "The booking system is busy right now. Nothing was changed; please try again."


def test_staff_cancel_past_the_cut_off_and_the_reason_is_kept_short_or_not_at_all(db):
    doctor = add_clinician(db.session, name="Dr Late", hours=EVERY_DAY)
    actor = create_staff_user(db.session, "receptionist")
    late_id, _token = add_booking(db.session, doctor, NOW + timedelta(minutes=1))
    cancel_booking(db.session, context(NOW), db.session.get(Booking, late_id), reason="  " + "x" * 400 + "  ",
                   actor=actor)
    patient_id, _token = add_booking(db.session, doctor, WEDNESDAY_TEN)
    cancel_booking(db.session, context(NOW), db.session.get(Booking, patient_id), reason="   ")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Booking, late_id).cancel_reason == "x" * 300
    assert db.session.get(Booking, patient_id).cancel_reason is None
    assert history(db, patient_id)[-1] == ("cancelled", NOW, None, "by the patient")


def test_a_cancellation_without_a_reason_keeps_none_and_a_locked_lookup_finds_the_booking(db):
    from booking.appointments.bookings import find_by_manage_link

    doctor = add_clinician(db.session, name="Dr Plain", hours=EVERY_DAY)
    booking_id, token = add_booking(db.session, doctor, WEDNESDAY_TEN)
    booking = find_by_manage_link(db.session, token, now=NOW, days=30, lock=True)  # as the POST routes read it
    assert booking.id == booking_id
    cancel_booking(db.session, context(NOW), booking)
    db.session.commit()
    assert db.session.get(Booking, booking_id).cancel_reason is None


def test_a_manage_link_read_to_change_the_booking_holds_its_row_and_one_read_to_show_it_does_not(db):
    """PostgreSQL: the patient's cancel and move read the booking locked, so a staff change waits for them."""
    from booking.appointments.bookings import find_by_manage_link
    from booking.extensions import db as _db
    from tests.conftest import postgres_only

    postgres_only()
    doctor = add_clinician(db.session, name="Dr Lock", hours=EVERY_DAY)
    booking_id, token = add_booking(db.session, doctor, WEDNESDAY_TEN)
    grab = sa.text("SELECT id FROM booking WHERE id = :id FOR UPDATE NOWAIT")
    find_by_manage_link(db.session, token, now=NOW, days=30, lock=True)
    with _db.engine.connect() as other, pytest.raises(sa.exc.OperationalError, match="could not obtain lock"):
        other.execute(grab, {"id": booking_id})
    db.session.rollback()
    find_by_manage_link(db.session, token, now=NOW, days=30)  # the manage page itself: no lock
    with _db.engine.connect() as other:
        assert other.execute(grab, {"id": booking_id}).scalar() == booking_id
    db.session.rollback()


def corrections_chain(app, db, length=5):
    """The ids of a questionnaire and its corrections, each correcting the one before; and their patient."""
    first, _ = add_intake(db.session, app.config)
    patient_id = db.session.get(Intake, first).patient_id
    chain = [first]
    for _ in range(length - 1):
        correction = Intake(status="submitted", previous_id=chain[-1], patient_id=patient_id)
        db.session.add(correction)
        db.session.flush()
        chain.append(correction.id)
    return chain, patient_id


def test_every_version_of_a_long_chain_of_corrections_is_found_from_the_middle(app, db):
    from booking.appointments.lookups import active_booking_for_intake, intake_versions

    chain, _patient_id = corrections_chain(app, db)
    db.session.commit()
    assert intake_versions(db.session, chain[2]) == set(chain)
    doctor = add_clinician(db.session, name="Dr Chain", hours=EVERY_DAY)
    add_booking(db.session, doctor, WEDNESDAY_TEN, intake_id=chain[0], status="cancelled")
    assert active_booking_for_intake(db.session, chain[4]) is None  # a cancelled booking holds nothing


@pytest.mark.parametrize("held_by, book_from", [(0, 2), (0, 4), (4, 0), (2, 3)])
def test_a_consultation_held_by_any_version_stops_a_booking_from_any_other(app, db, held_by, book_from):
    # A consultation that took place (no longer upcoming, so the patient's own guard is silent)
    # still holds the questionnaire: only the walk over its versions finds it from another one.
    chain, patient_id = corrections_chain(app, db)
    doctor = add_clinician(db.session, name="Dr Chain", hours=EVERY_DAY)
    held, _ = add_booking(db.session, doctor, NOW - 48 * HOUR, intake_id=chain[held_by], status="completed")
    add_booking(db.session, doctor, NOW - 72 * HOUR, intake_id=chain[book_from], status="cancelled")
    with pytest.raises(AlreadyBooked) as refused:
        create_booking(db.session, context(NOW), clinician_id=doctor, starts_at=WEDNESDAY_TEN, patient_id=patient_id,
                       link_for=link, intake_id=chain[book_from])
    assert refused.value.booking.id == held


def test_a_cancelled_consultation_of_another_version_does_not_stop_a_booking(app, db):
    first, _ = add_intake(db.session, app.config)
    patient_id = db.session.get(Intake, first).patient_id
    correction = Intake(status="submitted", previous_id=first, patient_id=patient_id)
    db.session.add(correction)
    db.session.flush()
    doctor = add_clinician(db.session, name="Dr Chain", hours=EVERY_DAY)
    add_booking(db.session, doctor, NOW - 48 * HOUR, intake_id=first, status="cancelled")
    booking, _token = create_booking(db.session, context(NOW), clinician_id=doctor, starts_at=WEDNESDAY_TEN,
                                     patient_id=patient_id, link_for=link, intake_id=correction.id)
    assert (booking.intake_id, booking.starts_at) == (correction.id, WEDNESDAY_TEN)


def test_the_questionnaires_booking_is_named_before_the_patients_other_upcoming_one(app, db):
    # Phone bookings carry no questionnaire, so a patient can hold an upcoming one beside a past
    # consultation of their questionnaire: the refusal names the questionnaire's own.
    intake_id, _ = add_intake(db.session, app.config)
    patient_id = db.session.get(Intake, intake_id).patient_id
    doctor = add_clinician(db.session, name="Dr Chain", hours=EVERY_DAY)
    add_booking(db.session, doctor, WEDNESDAY_TEN + 24 * HOUR, patient_id=patient_id)
    held, _ = add_booking(db.session, doctor, NOW - 48 * HOUR, intake_id=intake_id, status="no_show")
    with pytest.raises(AlreadyBooked) as refused:
        create_booking(db.session, context(NOW), clinician_id=doctor, starts_at=WEDNESDAY_TEN, patient_id=patient_id,
                       link_for=link, intake_id=intake_id)
    assert refused.value.booking.id == held


def test_a_status_and_its_undo_are_in_the_history_with_who_and_when(db):
    from booking.appointments.statuses import UNDO, set_status

    doctor = add_clinician(db.session, name="Dr Status", hours=EVERY_DAY)
    actor = create_staff_user(db.session, "receptionist")
    booking_id, _token = add_booking(db.session, doctor, NOW - timedelta(minutes=10))
    set_status(db.session, context(NOW), db.session.get(Booking, booking_id), "arrived", actor=actor)
    set_status(db.session, context(NOW), db.session.get(Booking, booking_id), UNDO, actor=actor)
    db.session.commit()
    assert history(db, booking_id)[-2:] == [("arrived", NOW, actor.id, None),
                                             ("undone", NOW, actor.id, "arrived undone; back to booked")]
    assert db.session.get(Booking, booking_id).status == "booked"


def test_the_confirm_page_finds_a_consultation_held_by_another_version_in_its_first_read(app, db):
    # The confirm page reads what stops the patient booking again with the questionnaire itself
    # (one statement, one round trip on PostgreSQL, instead of two) and hands it to
    # create_booking. A consultation that took place under the first version is no longer
    # upcoming, so no unique index would refuse the INSERT: only that read stops the booking.
    from booking.timeutil import utcnow
    from booking.tokens import new_token, token_hash
    from tests.booking_factories import first_free_time_fields
    from tests.test_booking_queries import counted

    first, _ = add_intake(db.session, app.config)
    patient_id = db.session.get(Intake, first).patient_id
    token = new_token()
    correction = Intake(status="submitted", previous_id=first, patient_id=patient_id,
                        booking_token_hash=token_hash(token), submitted_at=utcnow())
    db.session.add(correction)
    doctor = add_clinician(db.session, name="Dr Chain", hours=EVERY_DAY)
    add_booking(db.session, doctor, utcnow() - 48 * HOUR, intake_id=first, status="completed")
    db.session.commit()
    patient = app.test_client()
    patient.get(f"/book/start/{token}")
    with counted(db.engine) as shown:  # the week page and the confirm form: nothing books there
        fields = first_free_time_fields(patient)
    assert not [statement for statement in shown if "WITH RECURSIVE" in statement]
    with counted(db.engine) as statements:
        page = patient.post("/book/confirm", data={**fields, "name": "Pat Chain", "email": "pat.chain@example.org"})
    assert page.status_code == 200 and "You already have a booking" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
    walks = [statement for statement in statements if "WITH RECURSIVE" in statement]
    assert len(walks) == 1 and "FROM intake JOIN patient" in walks[0]
