"""The booking rules' edges, without a database: the booking window (past, notice, horizon, walk-ins),
the patient's cut-off and what the manage page offers, how long a manage link lives, the front
desk's refusals in words, and which database errors mean "busy". Written against the public
functions, each boundary checked on both sides, so that mutation testing of bookings.py
(`make mutation`) finds a test for every changed comparison and message."""

from datetime import timedelta
from types import SimpleNamespace

import pytest

from booking.appointments.bookings import (BeyondHorizon, NotAllowed, NotBookable, PatientActions, cancel_booking,
                                           check_window, lock_timed_out, manage_link_expires_at, move_booking,
                                           patient_actions)
from booking.appointments.statuses import UNDO, set_status
from booking.models import Booking, BookingEvent
from tests.booking_factories import context, utc

NOW = utc(2030, 6, 3, 12, 0)  # a Monday, 8:00 in New York
MINUTE = timedelta(minutes=1)
NOTICE, HORIZON, CUTOFF = timedelta(hours=24), timedelta(days=60), timedelta(hours=24)  # Rules() defaults


def booking(starts_at, status="booked", **fields):
    """A booking of 30 minutes at `starts_at` with no questionnaire (so no database is asked)."""
    return Booking(starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30), status=status, intake_id=None,
                   events=[], **fields)


@pytest.mark.parametrize("starts_at", [NOW, NOW - MINUTE])
def test_a_time_now_or_earlier_has_passed_for_everyone_but_a_walk_in(starts_at):
    for staff in (False, True):
        with pytest.raises(NotBookable) as refused:
            check_window(context(NOW), starts_at, staff=staff)
        assert str(refused.value) == "That time has already passed. Please choose a later time."
    with pytest.raises(NotBookable, match="already passed"):
        check_window(context(NOW), starts_at, walk_in=True)  # walk-ins are booked by staff only
    check_window(context(NOW), starts_at, staff=True, walk_in=True)


def test_patients_need_the_minimum_notice_to_the_minute_and_are_told_it_in_hours():
    check_window(context(NOW), NOW + NOTICE)
    with pytest.raises(NotBookable) as refused:
        check_window(context(NOW), NOW + NOTICE - MINUTE)
    assert str(refused.value) == ("Online bookings need at least 24 hours' notice. Choose a later time, "
                                  "or call the clinic for anything sooner.")
    with pytest.raises(NotBookable, match="at least 36 hours' notice"):
        check_window(context(NOW, min_notice=timedelta(hours=36, minutes=59)), NOW + timedelta(hours=36))
    check_window(context(NOW), NOW + MINUTE, staff=True)  # the front desk books at short notice


def test_patients_book_up_to_the_horizon_and_are_told_it_in_days():
    check_window(context(NOW), NOW + HORIZON)
    with pytest.raises(NotBookable, match=r"^You can book up to 60 days ahead\. Please choose an earlier time\.$"):
        check_window(context(NOW), NOW + HORIZON + MINUTE)


def test_staff_go_past_the_horizon_only_once_they_confirm():
    check_window(context(NOW), NOW + HORIZON, staff=True)
    with pytest.raises(BeyondHorizon) as refused:
        check_window(context(NOW), NOW + HORIZON + MINUTE, staff=True)
    assert "60" in str(refused.value)
    check_window(context(NOW), NOW + HORIZON + MINUTE, staff=True, beyond_horizon=True)


@pytest.mark.parametrize("starts_at, actions", [
    (NOW + CUTOFF, PatientActions(cancel=True, reschedule=True, past_cutoff=False, cutoff_hours=24)),
    (NOW + CUTOFF - MINUTE, PatientActions(cancel=False, reschedule=False, past_cutoff=True, cutoff_hours=24)),
])
def test_the_manage_page_offers_changes_up_to_the_cut_off_and_a_phone_call_after(starts_at, actions):
    assert patient_actions(None, booking(starts_at), context(NOW)) == actions


@pytest.mark.parametrize("status", ["cancelled", "arrived", "completed", "no_show"])
def test_a_booking_no_longer_booked_offers_nothing_and_says_nothing_of_the_cut_off(status):
    far = NOW + timedelta(days=5)
    assert patient_actions(None, booking(far, status), context(NOW)) == PatientActions(False, False, False, 24)


def test_the_cut_off_is_told_in_whole_hours():
    ctx = context(NOW, cancel_cutoff=timedelta(hours=48, minutes=59))
    assert patient_actions(None, booking(NOW + timedelta(days=5)), ctx).cutoff_hours == 48
    with pytest.raises(NotAllowed, match=r"^Bookings can be changed online up to 48 hours before the appointment\."):
        cancel_booking(None, ctx, booking(NOW + timedelta(hours=30)))


def test_a_patient_cannot_move_or_cancel_past_the_cut_off_but_staff_can_cancel():
    late = booking(NOW + CUTOFF - MINUTE)
    with pytest.raises(NotAllowed, match="up to 24 hours before"):
        move_booking(None, context(NOW), late, starts_at=NOW + timedelta(days=3))
    with pytest.raises(NotAllowed, match="up to 24 hours before"):
        cancel_booking(None, context(NOW), late)


@pytest.mark.parametrize("status, words", [
    ("cancelled", "This booking has been cancelled, so it cannot be changed."),
    ("arrived", "This booking is marked arrived, so it cannot be cancelled."),
    ("no_show", "This booking is marked no-show, so it cannot be cancelled."),
])
def test_only_a_booked_booking_can_be_cancelled_and_the_refusal_says_why(status, words):
    with pytest.raises(NotAllowed, match=f"^{words}"):
        cancel_booking(None, context(NOW), booking(NOW + timedelta(days=3), status), actor=SimpleNamespace(id=1))


def test_a_manage_link_lives_a_set_time_after_the_consultation_or_the_cancellation():
    starts_at = NOW + timedelta(days=3)
    assert manage_link_expires_at(booking(starts_at), 30) == starts_at + timedelta(minutes=30, days=30)
    cancelled = booking(starts_at, "cancelled", cancelled_at=NOW)
    assert manage_link_expires_at(cancelled, 30) == NOW + timedelta(days=30)
    # A cancellation with no time recorded (an old row) falls back to the consultation's end.
    assert manage_link_expires_at(booking(starts_at, "cancelled"), 30) == starts_at + timedelta(minutes=30, days=30)
    assert manage_link_expires_at(booking(starts_at, "completed", cancelled_at=NOW), 30) == \
        starts_at + timedelta(minutes=30, days=30)


@pytest.mark.parametrize("status, wanted, words", [
    ("completed", "arrived", "A booking marked completed cannot be marked arrived."),
    ("no_show", "completed", "A booking marked no-show cannot be marked completed."),
    ("booked", UNDO, "A booking marked booked has no status change to undo."),
    ("booked", "cancelled", "That is not a status a booking can be given."),
    ("booked", "nonsense", "That is not a status a booking can be given."),
    ("arrived", "arrived", "A booking marked arrived cannot be marked arrived."),
    ("arrived", "no_show", "The patient has arrived, so the booking cannot be marked no-show."),
])
def test_the_front_desk_is_told_in_words_why_a_status_cannot_be_given(status, wanted, words):
    with pytest.raises(NotAllowed) as refused:
        set_status(None, context(NOW), booking(NOW - timedelta(hours=1), status), wanted, actor=None)
    assert str(refused.value) == words


@pytest.mark.parametrize("reason, busy", [
    ("database is locked", True), ("Database Is Busy", True), ("lock timeout", False), ("no such table: booking", False),
])
def test_only_a_locked_or_busy_database_counts_as_busy(reason, busy):
    assert lock_timed_out(SimpleNamespace(orig=Exception(reason))) is busy


def test_staff_are_told_what_holds_a_time_and_past_the_horizon_how_to_book_anyway():
    from booking.appointments.availability import Slot
    from booking.appointments.bookings import taken_message

    ten = utc(2030, 6, 5, 14, 0)  # 10:00 in New York
    slot = Slot(1, ten, ten + timedelta(minutes=30), ten + timedelta(minutes=40))
    same_start = [(ten + timedelta(minutes=20), ten + timedelta(minutes=50), 8), (ten, ten + timedelta(minutes=30), 9)]
    assert taken_message(slot, same_start, "America/New_York") == \
        "That time is already booked by another patient. Please choose another time."
    overlapped = [(ten + timedelta(minutes=35), ten + timedelta(hours=1), 8), (ten + timedelta(minutes=20),
                                                                                ten + timedelta(minutes=50), 9)]
    assert taken_message(slot, overlapped, "America/New_York") == \
        "That time overlaps the 10:20 consultation. Please choose another time."
    assert taken_message(slot, [(ten, ten + timedelta(minutes=30), 9)], "America/New_York", ignore_booking_id=9) is None
    assert taken_message(slot, [(ten + timedelta(minutes=40), ten + timedelta(hours=1), 8)], "America/New_York") is None
    assert str(BeyondHorizon(60)) == (
        "That time is beyond the booking horizon (60 days ahead), where patients cannot book and the schedule is "
        "usually not final. To book it anyway, tick \"Yes, book beyond the horizon\" and send again.")


def test_the_week_view_reads_the_booking_rule_from_all_four_columns():
    from booking.appointments.lookups import PatientState

    def allowed(status="submitted", decision=None, flag_level=None, cleared_at=None, blocks=True):
        return PatientState(status, decision, flag_level, cleared_at, None, None).booking_allowed(blocks)

    assert allowed() and not allowed(status="draft") and not allowed(decision="not_suitable")
    assert not allowed(flag_level="clearance") and allowed(flag_level="clearance", cleared_at=NOW)
    assert allowed(flag_level="clearance", blocks=False)


def test_a_booking_that_only_touches_the_slot_is_not_named_as_what_holds_it():
    from booking.appointments.availability import Slot
    from booking.appointments.bookings import taken_message

    ten = utc(2030, 6, 5, 14, 0)  # 10:00 in New York
    slot = Slot(1, ten, ten + timedelta(minutes=30), ten + timedelta(minutes=30))
    busy = [(ten - timedelta(minutes=30), ten, 7), (ten + timedelta(minutes=20), ten + timedelta(minutes=50), 8)]
    assert taken_message(slot, busy, "America/New_York") == \
        "That time overlaps the 10:20 consultation. Please choose another time."


def test_before_the_start_and_on_a_later_day_the_front_desk_is_told_when():
    soon = booking(NOW + timedelta(hours=2))
    with pytest.raises(NotAllowed) as refused:
        set_status(None, context(NOW), soon, "arrived", actor=None)
    assert str(refused.value) == "A booking can be marked arrived from 30 minutes before its start."
    yesterday = booking(NOW - timedelta(days=1), "no_show")
    yesterday.events = [BookingEvent(kind="no_show", at=NOW - timedelta(days=1))]
    with pytest.raises(NotAllowed) as refused:
        set_status(None, context(NOW), yesterday, UNDO, actor=None)
    assert str(refused.value) == "A status can only be undone on the day it was given."


def test_other_history_between_status_changes_does_not_hide_the_undo():
    from booking.appointments.statuses import undo_target

    arrived = booking(NOW - timedelta(minutes=10), "arrived")
    arrived.events = [BookingEvent(kind="created", at=NOW - timedelta(days=2)),
                      BookingEvent(kind="arrived", at=NOW - timedelta(minutes=15)),
                      BookingEvent(kind="moved", at=NOW - timedelta(minutes=5))]
    assert undo_target(arrived, context(NOW)) == "booked"


class FlushingSession:
    """A session whose flush raises `error`; it records whether it was rolled back."""

    def __init__(self, error=None):
        self.error, self.rolled_back = error, False

    def flush(self):
        if self.error is not None:
            raise self.error

    def rollback(self):
        self.rolled_back = True


def test_write_or_refuse_names_a_refusal_turns_a_lock_into_busy_and_lets_other_failures_through():
    from sqlalchemy.exc import IntegrityError, OperationalError

    from booking.appointments.bookings import Busy, write_or_refuse

    fine = FlushingSession()
    assert write_or_refuse(fine, fine.flush) is None
    refused = FlushingSession(IntegrityError("INSERT", {}, Exception("booking_no_overlap")))
    assert write_or_refuse(refused, refused.flush) == "integrity" and refused.rolled_back
    locked = FlushingSession(OperationalError("INSERT", {}, Exception("database is locked")))
    with pytest.raises(Busy):
        write_or_refuse(locked, locked.flush)
    assert locked.rolled_back
    gone = FlushingSession(OperationalError("INSERT", {}, Exception("server closed the connection")))
    with pytest.raises(OperationalError):
        write_or_refuse(gone, gone.flush)
    assert gone.rolled_back
