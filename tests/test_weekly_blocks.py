"""Weekly blocks ("every Wednesday 13:00-17:00 until a date"), links on the bookings a block or
exception covers, and hours that open reaching the waitlist from the hours page itself."""

import re
from datetime import date, time, timedelta

import sqlalchemy as sa

from booking.appointments.availability import ClinicianPlan, clinic_day, free_slots, local_instant, weekly_blocks
from booking.appointments.web import slot_value
from booking.models import Booking, OutboxMessage, RecurringBlock, ScheduleException
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician, context
from tests.outbox_helpers import body_of, recipient_of
from tests.test_booking_availability import NY, OPEN_RULES, slots_on, wall_times
from tests.test_booking_staff import grid_cells, phone_form, staff, text  # noqa: F401 (staff is a fixture)
from tests.test_booking_week_cache import next_week, patient, shown, warm
from tests.test_waitlist import wait

EVERY_DAY = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}
# Every Wednesday afternoon in March 2027 (the 3rd to the 31st; DST starts on the 14th).
MARCH_WEDNESDAYS = (2, time(13), time(17), date(2027, 3, 3), date(2027, 3, 31), "Teaching")


def test_a_weekly_block_is_one_blocked_period_on_each_matching_day_inside_its_dates():
    periods = weekly_blocks([MARCH_WEDNESDAYS], NY, date(2027, 2, 22), date(2027, 4, 11))
    assert [(kind, start.astimezone().date().isoformat()) for kind, start, _end, _note in periods] == [
        ("blocked", day) for day in ("2027-03-03", "2027-03-10", "2027-03-17", "2027-03-24", "2027-03-31")]
    # Wall-clock times on both sides of the clock change (EST, then EDT): 18:00 UTC, then 17:00 UTC.
    assert [start.hour for _kind, start, _end, _note in periods] == [18, 18, 17, 17, 17]
    assert all(end - start == timedelta(hours=4) and note == "Teaching" for _kind, start, end, note in periods)
    # A window that starts mid-block sees only the days inside both.
    assert len(weekly_blocks([MARCH_WEDNESDAYS], NY, date(2027, 3, 18), date(2027, 3, 25))) == 1


def test_availability_leaves_out_the_blocked_afternoons_only_between_the_blocks_dates():
    plan = ClinicianPlan(1, weekly=EVERY_DAY,
                         exceptions=weekly_blocks([MARCH_WEDNESDAYS], NY, date(2027, 3, 1), date(2027, 4, 30)))
    assert wall_times(slots_on(plan, date(2027, 3, 17)), NY) == [
        "09:00 EDT", "09:30 EDT", "10:00 EDT", "10:30 EDT", "11:00 EDT", "11:30 EDT"]
    assert "13:00 EDT" in wall_times(slots_on(plan, date(2027, 3, 18)), NY)  # a Thursday
    assert "13:00 EDT" in wall_times(slots_on(plan, date(2027, 4, 7)), NY)  # the Wednesday after the last date
    assert "13:00 EST" in wall_times(slots_on(plan, date(2027, 2, 24)), NY)  # the Wednesday before the first


def block_form(staff, **fields):
    """The "Add a weekly block" form for Dr Alice Adams on the fixture's day's weekday, that day only."""
    return {"clinician": str(staff["alice"]), "weekday": str(staff["day"].weekday()), "start": "13:00",
            "end": "17:00", "first_day": staff["day"].isoformat(), "last_day": (staff["day"] + timedelta(days=14))
            .isoformat(), "note": "Teaching", "block": "y", **fields}


def test_a_block_added_on_the_hours_page_takes_its_times_away_for_patients_and_staff(client, db, staff):
    added = client.post("/staff/schedule/hours/blocks", data=block_form(staff))
    assert added.status_code == 302
    page = text(client.get(added.headers["Location"]))
    assert "Weekly block added: every" in page and "13:00–17:00" in page
    weekday = staff["day"].strftime("%A")
    assert re.search(rf"<td>{weekday}</td><td>13:00</td><td>17:00</td>", page)
    ctx = context(utcnow())
    starts = {slot.starts_at for slot in free_slots(db.session, staff["day"], staff["day"], ZONE, now=ctx.now,
                                                    rules=ctx.rules, clinician_ids=[staff["alice"]])}
    assert staff["at"](10) in starts and staff["at"](13) not in starts and staff["at"](16, 30) not in starts
    a_week_later = staff["day"] + timedelta(days=7)
    later = {slot.starts_at for slot in free_slots(db.session, a_week_later, a_week_later, ZONE, now=ctx.now,
                                                   rules=ctx.rules, clinician_ids=[staff["alice"]])}
    assert staff["at"](13, day=a_week_later) not in later
    cells = grid_cells(text(client.get(f"/staff/schedule?date={staff['day'].isoformat()}")))
    assert cells[("1:00 PM", 0)] == ("cell--blocked", "Blocked: Teaching") and cells[("1:00 PM", 1)][0] == "cell--free"
    # The front desk is refused too, with the reason.
    refused = client.post("/staff/schedule/book", data=phone_form(staff, hour=14))
    assert refused.status_code == 400 and "That time is blocked in the clinician's schedule." in text(refused)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    # Bob is not blocked.
    assert client.post("/staff/schedule/book", data=phone_form(staff, hour=14, clinician="bob")).status_code == 302


def test_a_block_over_bookings_names_each_with_a_link_to_its_page(client, db, staff):
    covered, _token = add_booking(db.session, staff["alice"], staff["at"](14), name="Wednesday Patient")
    add_booking(db.session, staff["alice"], staff["at"](10), name="Morning Patient")  # not in the block
    page = text(client.post("/staff/schedule/hours/blocks", data=block_form(staff), follow_redirects=True))
    flash = re.search(r'<p class="flash flash--warning">(.*?)</p>', page, re.S).group(1)
    assert re.search(rf'<a href="/staff/schedule/booking/{covered}">Wednesday Patient, [^<]*2:00 PM', flash)
    assert "Morning Patient" not in flash
    assert db.session.get(Booking, covered).status == "booked"  # a block cancels nothing


def test_an_exception_over_bookings_links_each_name_to_its_booking(client, db, staff):
    covered, _token = add_booking(db.session, staff["bob"], staff["at"](11), name="Linked Person")
    page = text(client.post("/staff/schedule/hours/exceptions", data={
        "clinician": staff["bob"], "applies_to": "clinician", "kind": "blocked", "first_day": staff["day"].isoformat(),
        "first_time": "10:00", "last_day": staff["day"].isoformat(), "last_time": "12:00"}, follow_redirects=True))
    assert re.search(rf'<a href="/staff/schedule/booking/{covered}">Linked Person, ', page)


def test_a_block_needs_a_last_date_within_a_year_past_the_horizon_and_keeps_the_typing(client, db, staff):
    no_end = client.post("/staff/schedule/hours/blocks", data=block_form(staff, last_day=""))
    assert no_end.status_code == 400 and "needs a first and a last date" in text(no_end)
    too_far = client.post("/staff/schedule/hours/blocks", data=block_form(
        staff, last_day=(clinic_day(utcnow(), ZONE) + timedelta(days=60 + 366)).isoformat(), note="Far off"))
    page = text(too_far)
    assert too_far.status_code == 400 and "at most a year past the booking horizon" in page
    assert 'id="block-note" name="note" maxlength="120" value="Far off"' in page
    assert 'id="start" name="start" value="09:00"' in page  # the weekly hours form keeps its own defaults
    backwards = client.post("/staff/schedule/hours/blocks", data=block_form(staff, start="17:00", end="13:00"))
    assert backwards.status_code == 400 and "end time must be after" in text(backwards)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RecurringBlock)) == 0


def test_removing_a_block_needs_the_confirmation_box(client, db, staff):
    client.post("/staff/schedule/hours/blocks", data=block_form(staff))
    block_id = db.session.scalars(sa.select(RecurringBlock.id)).one()
    unconfirmed = client.post(f"/staff/schedule/hours/blocks/{block_id}/delete", data={"clinician": staff["alice"]})
    assert unconfirmed.status_code == 400 and 'tick "Yes, remove"' in text(unconfirmed)
    assert db.session.get(RecurringBlock, block_id) is not None
    confirmed = client.post(f"/staff/schedule/hours/blocks/{block_id}/delete",
                            data={"clinician": staff["alice"], "confirm": "y"})
    assert confirmed.status_code == 302
    db.session.expire_all()
    assert db.session.get(RecurringBlock, block_id) is None
    assert client.post("/staff/schedule/hours/blocks/999999/delete",
                       data={"clinician": staff["alice"], "confirm": "y"}).status_code == 400


def waitlist_offers(db):
    """{recipient: body} of the waitlist offers queued so far."""
    db.session.expire_all()
    return {recipient_of(row): body_of(row) for row in db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "waitlist_offer"))}


def test_hours_added_on_the_hours_page_are_offered_to_a_waiting_patient(client, db, make_staff, login):
    nobody_free = add_clinician(db.session, name="Dr Nora Free", hours={})
    wait(db, "Wanda Waiting", "wanda@patient.example")
    login(make_staff("receptionist"))
    day = clinic_day(utcnow(), ZONE) + timedelta(days=5)
    assert waitlist_offers(db) == {}
    added = client.post("/staff/schedule/hours/weekly", data={"clinician": nobody_free, "weekday": day.weekday(),
                                                              "start": "10:00", "end": "11:00"})
    assert added.status_code == 302
    offers = waitlist_offers(db)
    assert list(offers) == ["wanda@patient.example"]
    assert "Dr Nora Free" in offers["wanda@patient.example"] and "/waitlist/offer/" in offers["wanda@patient.example"]


def test_removing_a_holiday_offers_the_times_it_held(client, db, staff):
    day = clinic_day(utcnow(), ZONE)
    for clinician in ("alice", "bob"):  # both away from today to past the booking horizon
        db.session.add(ScheduleException(clinician_id=staff[clinician], kind="closed", starts_at=staff["at"](0, day=day),
                                         ends_at=staff["at"](0, day=day + timedelta(days=90))))
    db.session.commit()
    wait(db, "Alice's Patient", "alice@patient.example", clinician_id=staff["alice"])
    alice_holiday, bob_holiday = db.session.scalars(sa.select(ScheduleException.id).order_by(
        ScheduleException.clinician_id.is_(None), ScheduleException.clinician_id != staff["alice"])).all()
    # Bob's times open: they do not suit a patient who waits for Alice.
    client.post(f"/staff/schedule/hours/exceptions/{bob_holiday}/delete", data={"clinician": staff["bob"], "confirm": "y"})
    assert waitlist_offers(db) == {}
    client.post(f"/staff/schedule/hours/exceptions/{alice_holiday}/delete",
                data={"clinician": staff["alice"], "confirm": "y"})
    offers = waitlist_offers(db)
    assert list(offers) == ["alice@patient.example"] and "Dr Alice Adams" in offers["alice@patient.example"]


def test_a_new_block_leaves_the_patients_cached_week_at_once(app, db, make_staff, login):
    clinician = add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
    viewer, reception = patient(app, db), app.test_client()
    login(make_staff("receptionist"), test_client=reception)
    week = next_week()
    before = warm(app, viewer, week)
    wednesday = week + timedelta(days=2)
    afternoon, morning = (slot_value(local_instant(wednesday, time(hour), ZONE)) for hour in (14, 10))
    assert afternoon in before and morning in before
    assert reception.post("/staff/schedule/hours/blocks", data={
        "clinician": clinician, "weekday": "2", "start": "13:00", "end": "17:00", "first_day": wednesday.isoformat(),
        "last_day": (wednesday + timedelta(days=28)).isoformat()}).status_code == 302
    after = shown(viewer, week)
    assert afternoon not in after and morning in after


def test_a_block_over_many_bookings_names_twenty_and_counts_the_rest_in_a_cookie_that_fits(client, db, staff):
    for week in range(25):  # one booking each Wednesday afternoon for 25 weeks
        add_booking(db.session, staff["alice"], staff["at"](14, day=staff["day"] + timedelta(days=7 * week)),
                    name=f"Patient With A Longish Name {week}")
    added = client.post("/staff/schedule/hours/blocks", data=block_form(
        staff, last_day=(staff["day"] + timedelta(days=7 * 25)).isoformat()))
    assert added.status_code == 302
    cookie = next(value for value in added.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert len(cookie) < 4000, len(cookie)  # browsers drop a larger cookie, and the message with it
    page = text(client.get(added.headers["Location"]))
    assert page.count('<a href="/staff/schedule/booking/') == 20 and "and 5 more (see the day lists)" in page


def test_taking_bookings_again_or_a_longer_horizon_offers_the_times_that_opened(client, db, make_staff, login):
    paused = add_clinician(db.session, name="Dr Paula Paused", hours=EVERY_DAY, accepts=False)
    far = add_clinician(db.session, name="Dr Fara Far", hours={})
    day = clinic_day(utcnow(), ZONE) + timedelta(days=75)  # past the default 60-day horizon
    db.session.add(ScheduleException(clinician_id=far, kind="extra", starts_at=local_instant(day, time(9), ZONE),
                                     ends_at=local_instant(day, time(10), ZONE)))
    db.session.commit()
    wait(db, "Pat For Paula", "paula@patient.example", clinician_id=paused)
    wait(db, "Fin For Fara", "fara@patient.example", clinician_id=far)
    login(make_staff("receptionist"))
    assert client.post("/staff/schedule/hours/profile", data={
        "clinician": paused, "consultation_minutes": "30", "buffer_minutes": "0", "accepts_bookings": "y"}
    ).status_code == 302
    assert list(waitlist_offers(db)) == ["paula@patient.example"]
    assert client.post("/staff/schedule/hours/settings", data={
        "min_notice_hours": "24", "horizon_days": "90", "cancel_cutoff_hours": "24"}).status_code == 302
    offers = waitlist_offers(db)
    assert sorted(offers) == ["fara@patient.example", "paula@patient.example"]
    assert "Dr Fara Far" in offers["fara@patient.example"]
