"""Front desk statuses: when each may be given, arrived excludes no-show, and a same-day undo."""

import html
import re
from datetime import timedelta

import pytest

from booking.appointments.availability import clinic_day
from booking.appointments.bookings import NotAllowed
from booking.appointments.statuses import UNDO, set_status, status_changes, undo_target
from booking.models import Booking, BookingEvent
from tests.booking_factories import ZONE, add_booking, add_clinician, context, earlier_today, utc
from tests.staff_helpers import audit_rows

START = utc(2030, 6, 3, 14, 0)  # a Monday, 10:00 in New York


def booking_at(status="booked", history=()):
    """A booking starting at START with status events (kind, minutes after START) in its history."""
    events = [BookingEvent(kind=kind, at=START + timedelta(minutes=minutes)) for kind, minutes in history]
    return Booking(starts_at=START, ends_at=START + timedelta(minutes=30), status=status, events=events)


@pytest.mark.parametrize("minutes, allowed", [
    (-31, ()),  # 09:29 for a 10:00 consultation: nothing yet (once, "completed" was accepted at 05:36)
    (-30, ("arrived",)),  # patients may be welcomed from half an hour before
    (-1, ("arrived",)),
    (0, ("arrived", "completed", "no_show")),
    (60 * 24 * 3, ("arrived", "completed", "no_show")),  # a forgotten status can still be set later
])
def test_statuses_open_at_the_start_and_arrived_half_an_hour_before(minutes, allowed):
    assert status_changes(booking_at(), context(START + timedelta(minutes=minutes))) == allowed


def test_arrived_excludes_no_show_and_says_why():
    booking = booking_at("arrived", [("arrived", -5)])
    now = context(START + timedelta(minutes=10))
    assert status_changes(booking, now) == ("completed", UNDO)
    with pytest.raises(NotAllowed, match="has arrived, so the booking cannot be marked no-show"):
        set_status(None, now, booking, "no_show", actor=None)


def test_refusals_before_the_start_say_when_it_opens():
    with pytest.raises(NotAllowed, match="from 30 minutes before its start"):
        set_status(None, context(START - timedelta(hours=4)), booking_at(), "arrived", actor=None)
    with pytest.raises(NotAllowed, match="marked completed once its start time has come"):
        set_status(None, context(START - timedelta(minutes=10)), booking_at(), "completed", actor=None)


def test_undo_restores_the_status_before_and_walks_back_the_chain():
    completed = booking_at("completed", [("arrived", -5), ("completed", 30)])
    assert undo_target(completed, context(START + timedelta(hours=1))) == "arrived"
    once_undone = booking_at("arrived", [("arrived", -5), ("completed", 30), ("undone", 40)])
    assert undo_target(once_undone, context(START + timedelta(hours=1))) == "booked"
    assert undo_target(booking_at("no_show", [("no_show", 5)]), context(START + timedelta(hours=1))) == "booked"


def test_undo_only_on_the_day_the_status_was_given():
    booking = booking_at("no_show", [("no_show", 5)])
    next_morning = context(START + timedelta(hours=20))  # 06:00 the next day in New York
    assert UNDO not in status_changes(booking, next_morning)
    with pytest.raises(NotAllowed, match="only be undone on the day it was given"):
        set_status(None, next_morning, booking, UNDO, actor=None)
    assert UNDO not in status_changes(booking_at("cancelled"), context(START))


def status_buttons(page):
    """The (status value, button words) of every status form on a page."""
    found = re.findall(r'name="status" value="([a-z_]+)">.*?<button[^>]*>([^<]+)<', page, re.S)
    return [(value, words.strip()) for value, words in found]


def test_a_receptionist_marks_arrived_and_undoes_it_audited_and_in_the_history(client, db, make_staff, login):
    doctor = add_clinician(db.session)
    login(make_staff("receptionist"))
    booking_id, _ = add_booking(db.session, doctor, earlier_today(1), name="Una Undo")
    page = f"/staff/schedule/booking/{booking_id}"
    client.post(f"{page}/status", data={"status": "arrived"})
    shown = html.unescape(client.get(page).get_data(as_text=True))
    assert status_buttons(shown) == [("completed", "Mark completed"), ("undo", "Undo arrived")]
    undone = client.post(f"{page}/status", data={"status": "undo"})
    assert undone.status_code == 302  # a redirect: reloading the page never repeats the undo
    shown = html.unescape(client.get(page).get_data(as_text=True))
    assert '<span class="badge">Booked</span>' in shown
    assert "undone" in shown and "arrived undone; back to booked" in shown
    assert [("arrived", "Mark arrived"), ("completed", "Mark completed"), ("no_show", "Mark no-show")] \
        == status_buttons(shown)
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).status == "booked"
    assert [row.detail for row in audit_rows(db.session, "change_booking")][-2:] == \
        ["status booked to arrived", "status arrived to booked"]


def test_a_future_booking_shows_no_status_buttons_and_a_post_is_refused_with_the_reason(client, db, make_staff,
                                                                                        login):
    doctor = add_clinician(db.session)
    login(make_staff("receptionist"))
    starts_at = earlier_today(0) + timedelta(days=2)
    booking_id, _ = add_booking(db.session, doctor, starts_at, name="Fay Future")
    day = html.unescape(client.get(f"/staff/schedule?date={clinic_day(starts_at, ZONE)}").get_data(as_text=True))
    assert "Fay Future" in day and status_buttons(day) == []
    refused = client.post(f"/staff/schedule/booking/{booking_id}/status", data={"status": "arrived"},
                          follow_redirects=True)
    assert "from 30 minutes before its start" in html.unescape(refused.get_data(as_text=True))
