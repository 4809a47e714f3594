"""The patient's path: intake link, week view, confirm, manage, reschedule, cancel, bad input."""

import html
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import Rules, clinic_day, free_slots, local_instant, week_start
from booking.appointments.web import slot_value
from booking.models import Booking, BookingEvent, ClinicianProfile, ScheduleException
from booking.signals import booking_cancelled, booking_created, booking_moved
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake

EVERY_DAY = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}


def free(db, clinician_id=None, days=(1, 14)):
    """Free slots (default rules) between `days` from today."""
    today = utcnow().date()
    return free_slots(db.session, today + timedelta(days=days[0]), today + timedelta(days=days[1]), ZONE,
                      now=utcnow(), rules=Rules(), clinician_ids=None if clinician_id is None else [clinician_id])


@pytest.fixture
def clinic(app, db):
    """Two clinicians open every day, and a patient whose intake may book (signed in to /book/)."""
    alice = add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
    bob = add_clinician(db.session, name="Dr Bob Brown", hours=EVERY_DAY)
    intake_id, token = add_intake(db.session, app.config, contact={"name": "Pat Example", "email": "pat@example.org",
                                                                  "phone": "555 0101"})
    return {"alice": alice, "bob": bob, "intake_id": intake_id, "token": token}


def start(client, token):
    """Open the intake's booking link."""
    response = client.get(f"/book/start/{token}")
    assert response.status_code == 302 and response.headers["Location"].endswith("/book/")
    return response


def confirm(client, clinician, starts_at, **fields):
    """POST the confirm form."""
    data = {"clinician": str(clinician), "start": slot_value(starts_at) if starts_at else "", "name": "Pat Example",
            "email": "pat@example.org", "phone": "555 0101", "tz": ""}
    data.update(fields)
    return client.post("/book/confirm", data=data)


def test_book_without_intake_explains_the_questionnaire_comes_first(client):
    page = client.get("/book/").get_data(as_text=True)
    assert "health questionnaire" in page and "/intake/start" in page and "(555) 010-0100" in page


def test_booking_link_checks(client, app, db):
    assert client.get("/book/start/not-a-real-token").status_code == 404
    assert client.get("/book/start/" + "x" * 300).status_code == 404
    flagged, flagged_token = add_intake(db.session, app.config, flag_level="clearance")
    response = client.get(f"/book/start/{flagged_token}")
    assert response.status_code == 403 and "clearance" in response.get_data(as_text=True)
    assert "First available" not in client.get("/book/").get_data(as_text=True)
    _cleared, cleared_token = add_intake(db.session, app.config, flag_level="clearance", cleared=True)
    start(client, cleared_token)


def test_book_confirm_and_manage(client, db, clinic):
    sent = []
    receiver = booking_created.connect(lambda sender, **kw: sent.append(kw), weak=False)
    try:
        start(client, clinic["token"])
        week = client.get("/book/").get_data(as_text=True)
        assert "First available" in week and "Dr Alice Adams" in week
        slot = free(db, clinic["alice"])[0]
        page = client.get(f"/book/confirm?clinician={clinic['alice']}&start={slot_value(slot.starts_at)}"
                          "&tz=Europe/London").get_data(as_text=True)
        assert 'value="Pat Example"' in page and 'value="pat@example.org"' in page  # pre-filled from the intake
        assert "Your time:" in page and "Europe/London" in page
        response = confirm(client, clinic["alice"], slot.starts_at, tz="Europe/London")
        assert response.status_code == 302
        manage_path = response.headers["Location"]
        token = manage_path.rsplit("/", 1)[1]
        page = client.get(manage_path).get_data(as_text=True)
    finally:
        booking_created.disconnect(receiver)
    assert "Your booking is confirmed" in page
    assert "Dr Alice Adams" in page and "100 Main Street" in page and "photo ID" in page
    assert f"http://localhost/book/manage/{token}" in page  # the page links to the site being used
    booking = db.session.scalars(sa.select(Booking)).one()
    assert booking.starts_at == slot.starts_at and booking.intake_id == clinic["intake_id"]
    assert booking.manage_token_hash != token and len(booking.manage_token_hash) == 64
    assert booking.patient_timezone == "Europe/London" and booking.sequence == 0 and booking.source == "online"
    assert [e.kind for e in booking.events] == ["created"]
    assert len(sent) == 1 and sent[0]["link"].endswith(token) and sent[0]["booking"].id == booking.id
    # A second visit is the plain manage page, and the intake cannot book twice.
    assert "Your booking is confirmed" not in client.get(manage_path).get_data(as_text=True)
    week = client.get("/book/").get_data(as_text=True)
    assert "You already have a booking on" in week and "with Dr Alice Adams" in week and "Show times" not in week
    other = free(db, clinic["bob"])[3]
    response = confirm(client, clinic["bob"], other.starts_at)
    assert "You already have a booking" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


def test_a_patient_booked_already_hears_so_even_for_a_time_just_taken(client, clinic, db):
    # Booked in another tab; this tab still offers a time someone else has since taken. The
    # answer is the patient's own booking, not "that time has just gone" with other times to pick.
    start(client, clinic["token"])
    mine, taken = free(db, clinic["alice"])[2], free(db, clinic["bob"])[4]
    assert confirm(client, clinic["alice"], mine.starts_at).status_code == 302
    add_booking(db.session, clinic["bob"], taken.starts_at)
    response = confirm(client, clinic["bob"], taken.starts_at, name="Pat Changed")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "You already have a booking" in page and "just taken" not in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 2


def test_browsing_weeks_does_not_rewrite_the_session_cookie(client, clinic):
    # Only the booking link writes the patient's session; pages that merely read it must not
    # send a new cookie (nor any staff sign-in keys) with every response.
    assert "session=" in start(client, clinic["token"]).headers.get("Set-Cookie", "")
    for path in ("/book/", "/book/?week=2099-01-05", "/guide/"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, path
    assert "Sign out" not in client.get("/book/").get_data(as_text=True)


def test_the_week_page_opens_on_the_first_week_with_a_free_time(client, db, clinic):
    start(client, clinic["token"])
    first = week_start(clinic_day(utcnow() + timedelta(hours=24), ZONE))
    # The whole clinic is closed for the first bookable week (as a weekend visit to a weekday clinic).
    db.session.add(ScheduleException(kind="closed", starts_at=local_instant(first, time(0), ZONE),
                                     ends_at=local_instant(first + timedelta(days=7), time(0), ZONE), note="Holiday"))
    db.session.commit()
    page = client.get("/book/").get_data(as_text=True)
    assert f'name="week" value="{(first + timedelta(days=7)).isoformat()}"' in page and 'class="slot"' in page
    assert "Previous week" not in page  # no link to a week without a bookable time (issue 12)
    asked = client.get(f"/book/?week={first.isoformat()}").get_data(as_text=True)
    assert "No free times this week" in asked  # a week asked for is shown as it is


def test_first_available_books_a_free_clinician(client, db, clinic):
    start(client, clinic["token"])
    slot = free(db)[0]
    add_booking(db.session, clinic["alice"], slot.starts_at)  # Alice is taken at that time
    response = confirm(client, "any", slot.starts_at)
    assert response.status_code == 302
    booking = db.session.scalars(sa.select(Booking).where(Booking.intake_id == clinic["intake_id"])).one()
    assert booking.clinician_id == clinic["bob"]


def test_taken_time_gives_the_nearest_free_times(client, db, clinic):
    start(client, clinic["token"])
    slot = free(db, clinic["alice"])[2]
    add_booking(db.session, clinic["alice"], slot.starts_at)
    response = confirm(client, clinic["alice"], slot.starts_at)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "That time was just taken" in page and "The nearest free times" in page
    assert page.count('class="slot"') == 5
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


@pytest.mark.parametrize("case, message", [
    ("past", "already passed"),
    ("notice", "hours' notice"),
    ("horizon", "days ahead"),
    ("outside", "not one of Dr Alice Adams's consultation times"),
    ("holiday", "closed that day (Clinic holiday)"),
    ("not_offered", "does not take bookings"),
    ("made_up_time", "not one we offer"),
    ("made_up_clinician", "not one we offer"),
    ("odd_minute", "consultation times"),
])
def test_bad_booking_input_gets_a_clear_message_and_changes_nothing(client, db, clinic, case, message):
    start(client, clinic["token"])
    slot = free(db, clinic["alice"], days=(3, 3))[0]
    clinician, starts_at, extra = clinic["alice"], slot.starts_at, {}
    if case == "past":
        starts_at = slot.starts_at - timedelta(days=10)
    elif case == "notice":
        today = utcnow().date()
        soon = free_slots(db.session, today, today + timedelta(days=2), ZONE, now=utcnow(),
                          rules=Rules(min_notice=timedelta(hours=1)), clinician_ids=[clinic["alice"]])
        starts_at = soon[0].starts_at  # within a day: clinic hours are never 23 hours apart
    elif case == "horizon":
        starts_at = slot.starts_at + timedelta(days=70)
    elif case == "outside":
        starts_at = slot.starts_at - timedelta(hours=6)  # 3 a.m.
    elif case == "holiday":
        db.session.add(ScheduleException(kind="closed", starts_at=slot.starts_at - timedelta(hours=12),
                                         ends_at=slot.starts_at + timedelta(hours=12), note="Clinic holiday"))
        db.session.commit()
    elif case == "not_offered":
        db.session.get(ClinicianProfile, clinic["alice"]).accepts_bookings = False
        db.session.commit()
        response = confirm(client, clinic["alice"], starts_at)
        assert "not one we offer" in response.get_data(as_text=True)
        return
    elif case == "made_up_time":
        extra = {"start": "2026-02-30T25:00Z"}
    elif case == "made_up_clinician":
        clinician = 99999
    elif case == "odd_minute":
        starts_at = slot.starts_at + timedelta(minutes=7)
    response = confirm(client, clinician, starts_at, **extra)
    assert response.status_code in (400, 409)
    assert message in html.unescape(response.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_overlong_and_invalid_fields_keep_what_was_typed(client, db, clinic):
    start(client, clinic["token"])
    slot = free(db, clinic["alice"])[0]
    response = confirm(client, clinic["alice"], slot.starts_at, name="N" * 500, email="not-an-email")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Enter an email address like" in page and "not-an-email" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def booked(client, db, clinic, index=0):
    """Book through the pages; returns (token, slot)."""
    start(client, clinic["token"])
    slot = free(db, clinic["alice"])[index]
    response = confirm(client, clinic["alice"], slot.starts_at)
    return response.headers["Location"].rsplit("/", 1)[1], slot


def test_reschedule_moves_in_one_step_and_releases_the_old_time(client, db, clinic):
    token, slot = booked(client, db, clinic)
    moves = []
    receiver = booking_moved.connect(lambda sender, **kw: moves.append(kw), weak=False)
    try:
        page = client.get(f"/book/manage/{token}/reschedule").get_data(as_text=True)
        assert "Move your booking" in page and 'class="slot"' in page
        target = free(db, clinic["alice"])[4]
        page = client.get(f"/book/manage/{token}/reschedule?start={slot_value(target.starts_at)}").get_data(as_text=True)
        assert "Move it to" in page
        response = client.post(f"/book/manage/{token}/reschedule", data={"start": slot_value(target.starts_at)})
        assert response.status_code == 302
    finally:
        booking_moved.disconnect(receiver)
    booking = db.session.scalars(sa.select(Booking)).one()
    assert booking.starts_at == target.starts_at and booking.sequence == 1
    assert [e.kind for e in booking.events] == ["created", "moved"]
    assert moves[0]["previous_starts_at"] == slot.starts_at
    assert slot.starts_at in {s.starts_at for s in free(db, clinic["alice"])}  # the old time is free again
    assert "has been moved" in client.get(f"/book/manage/{token}").get_data(as_text=True)


def test_reschedule_opens_on_a_week_with_another_time_when_the_booking_is_its_weeks_only_one(client, app, db):
    # One consultation a week (Wednesday 9:00): each week's only free time is that one.
    carol = add_clinician(db.session, name="Dr Carol Cole", hours={2: [(time(9), time(9, 30))]})
    _intake, intake_token = add_intake(db.session, app.config)
    start(client, intake_token)
    first, following = free(db, carol, days=(0, 21))[:2]
    token = confirm(client, carol, first.starts_at).headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/book/manage/{token}/reschedule").get_data(as_text=True)
    assert "No free times this week" not in page
    assert f"start={slot_value(following.starts_at)}" in page  # the next week, with its Wednesday
    assert f"start={slot_value(first.starts_at)}" not in page
    own_week = client.get(f"/book/manage/{token}/reschedule?week={first.starts_at.date().isoformat()}")
    assert "No free times this week" in own_week.get_data(as_text=True)  # asked for: shown, and empty


def test_reschedule_to_another_clinician_in_one_step(client, db, clinic):
    token, slot = booked(client, db, clinic)
    page = client.get(f"/book/manage/{token}/reschedule").get_data(as_text=True)
    assert "Dr Alice Adams (your clinician now)" in page and f"clinician={clinic['alice']}&amp;start=" in page
    own = f"start={slot_value(slot.starts_at)}"
    assert own not in page  # the booking's own time is not offered with the same clinician...
    bob = f"/book/manage/{token}/reschedule?clinician={clinic['bob']}&week={slot.starts_at.date().isoformat()}"
    assert own in client.get(bob).get_data(as_text=True)  # ...but is with a clinician free then
    page = client.get(f"/book/manage/{token}/reschedule?clinician={clinic['bob']}").get_data(as_text=True)
    assert f'<option value="{clinic["bob"]}" selected>' in page and f"clinician={clinic['bob']}&amp;start=" in page
    target = free(db, clinic["bob"])[2]
    page = client.get(f"/book/manage/{token}/reschedule?clinician={clinic['bob']}&start={slot_value(target.starts_at)}")
    assert "with Dr Bob Brown?" in page.get_data(as_text=True)
    response = client.post(f"/book/manage/{token}/reschedule",
                           data={"start": slot_value(target.starts_at), "clinician": str(clinic["bob"])})
    assert response.status_code == 302
    booking = db.session.scalars(sa.select(Booking)).one()
    assert (booking.clinician_id, booking.starts_at, booking.sequence) == (clinic["bob"], target.starts_at, 1)
    assert slot.starts_at in {s.starts_at for s in free(db, clinic["alice"])}  # Alice's time is free again
    assert "Dr Bob Brown" in client.get(f"/book/manage/{token}").get_data(as_text=True)


@pytest.mark.parametrize("clinician", ["999999", "not-a-number", "off"])
def test_reschedule_to_a_clinician_who_does_not_take_bookings_changes_nothing(client, db, clinic, clinician):
    token, slot = booked(client, db, clinic)
    if clinician == "off":
        db.session.get(ClinicianProfile, clinic["bob"]).accepts_bookings = False
        db.session.commit()
        clinician = str(clinic["bob"])
    target = free(db, clinic["alice"])[2]
    response = client.post(f"/book/manage/{token}/reschedule",
                           data={"start": slot_value(target.starts_at), "clinician": clinician})
    assert response.status_code == 409
    assert "That clinician is not available for booking" in response.get_data(as_text=True)
    booking = db.session.scalars(sa.select(Booking)).one()
    db.session.refresh(booking)
    assert (booking.clinician_id, booking.starts_at, booking.sequence) == (clinic["alice"], slot.starts_at, 0)


# A NUL (clinician=%00) is refused before any view with a 400: tests/test_email_abuse.py.
@pytest.mark.parametrize("query", ["clinician=" + "9" * 40, "clinician=-1", "clinician=any",
                                   "week=9999-99-99", "week=0001-01-01&clinician=", "start=x&clinician=1e9",
                                   "start=2026-02-30T10:00Z", "week=" + "1" * 500])
def test_odd_reschedule_addresses_get_a_page_not_an_error(client, db, clinic, query):
    token, _slot = booked(client, db, clinic)
    response = client.get(f"/book/manage/{token}/reschedule?{query}")
    assert response.status_code in (200, 409)
    assert "Move your booking" in response.get_data(as_text=True)


def test_reschedule_onto_a_taken_time_changes_nothing(client, db, clinic):
    token, slot = booked(client, db, clinic)
    target = free(db, clinic["alice"])[3]
    add_booking(db.session, clinic["alice"], target.starts_at)
    response = client.post(f"/book/manage/{token}/reschedule", data={"start": slot_value(target.starts_at)})
    assert response.status_code == 409 and "That time was just taken" in response.get_data(as_text=True)
    for bad in ("garbage", slot_value(target.starts_at - timedelta(days=40))):
        response = client.post(f"/book/manage/{token}/reschedule", data={"start": bad})
        assert response.status_code == 409
    booking = db.session.scalars(sa.select(Booking).where(Booking.intake_id.is_not(None))).one()
    assert booking.starts_at == slot.starts_at and booking.sequence == 0


def test_cancel_frees_the_time_and_the_token_then_changes_nothing(client, db, clinic):
    token, slot = booked(client, db, clinic)
    cancelled = []
    receiver = booking_cancelled.connect(lambda sender, **kw: cancelled.append(kw), weak=False)
    try:
        response = client.post(f"/book/manage/{token}/cancel", data={"reason": "Work clash"})
    finally:
        booking_cancelled.disconnect(receiver)
    assert response.status_code == 302
    booking = db.session.scalars(sa.select(Booking)).one()
    assert booking.status == "cancelled" and booking.cancel_reason == "Work clash" and booking.sequence == 1
    assert cancelled[0]["reason"] == "Work clash"
    assert slot.starts_at in {s.starts_at for s in free(db, clinic["alice"])}
    page = client.get(f"/book/manage/{token}").get_data(as_text=True)
    assert "This booking is cancelled" in page and "Cancel this booking" not in page
    again = client.post(f"/book/manage/{token}/cancel", data={})
    assert again.status_code == 400 and "has been cancelled" in again.get_data(as_text=True)
    move = client.post(f"/book/manage/{token}/reschedule", data={"start": slot_value(slot.starts_at)})
    assert "has been cancelled" in move.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).sequence == 1
    # The intake may book again now that its booking is cancelled.
    assert confirm(client, clinic["alice"], slot.starts_at).status_code == 302


def test_unknown_manage_tokens_are_refused(client, db, clinic):
    token, _slot = booked(client, db, clinic)
    for bad in ("nope", token[:-1] + ("A" if token[-1] != "A" else "B")):
        assert client.get(f"/book/manage/{bad}").status_code == 404
        assert client.post(f"/book/manage/{bad}/cancel").status_code == 404
    assert client.post("/book/manage/%00/cancel").status_code == 400  # a NUL is refused before any view
    assert db.session.scalars(sa.select(Booking)).one().status == "booked"


def test_cut_off_stops_online_changes(client, db, clinic, app):
    _id, token = add_booking(db.session, clinic["alice"], utcnow() + timedelta(hours=3), intake_id=clinic["intake_id"])
    page = client.get(f"/book/manage/{token}").get_data(as_text=True)
    assert "call" in page and "Cancel this booking" not in page
    response = client.post(f"/book/manage/{token}/cancel", data={})
    assert "up to 24 hours before" in response.get_data(as_text=True)
    assert db.session.scalars(sa.select(Booking)).one().status == "booked"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BookingEvent)) == 1


def test_extreme_weeks_and_times_are_messages_not_errors(client, db, clinic):
    start(client, clinic["token"])
    for week in ("9999-12-31", "0001-01-01", "2026-02-30", "x" * 500):
        assert client.get(f"/book/?week={week}").status_code == 200
    for when in ("9999-12-31T23:59Z", "0001-01-01T00:00Z"):
        assert confirm(client, clinic["alice"], None, start=when).status_code == 400
