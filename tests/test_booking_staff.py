"""The receptionist's schedule: grid, day list actions, phone bookings, moves, export, hours."""

import csv
import html
import io
import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_instant
from booking.extensions import db as _db
from booking.models import (AuditEvent, Booking, ClinicianProfile, ClinicSettings, OpeningHours, OutboxMessage,
                            ScheduleException)
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake, earlier_today
from tests.outbox_helpers import body_of, recipient_of
from tests.patient_factories import make_patient

EVERY_DAY = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}


def grid_cells(page):
    """{(row time, column index): (the cell's class, its words)} of the first grid on the page."""
    grid = page[page.index('<table class="grid">'):]
    grid = grid[:grid.index("</table>")]
    cells = {}
    for wall, row in re.findall(r'<th scope="row">([^<]+)</th>(.*?)</tr>', grid, re.S):
        for index, (css, inner) in enumerate(re.findall(r'<td class="([^"]+)">(.*?)</td>', row, re.S)):
            words = re.sub(r'<span class="visually-hidden">.*?</span>', "", inner, flags=re.S)
            cells[(wall, index)] = (css, " ".join(re.sub(r"<[^>]+>", " ", words).split()))
    return cells


def grid_heads(page):
    """The column headings of the first grid on the page."""
    grid = page[page.index('<table class="grid">'):]
    head = grid[:grid.index("</thead>")]
    return re.findall(r'<th scope="col">([^<]+)</th>', head)[1:]  # after "Time"


def text(response):
    """The response body with entities decoded."""
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def staff(app, db, make_staff, login, client):
    """Two clinicians open every day, a signed-in receptionist, and dates to work with."""
    alice = add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
    bob = add_clinician(db.session, name="Dr Bob Brown", hours=EVERY_DAY)
    reception = make_staff("receptionist")
    login(reception)
    caller = make_patient(db.session, name="Phone Patient", phone="555 0199", email="phone@example.org").id
    second = make_patient(db.session, name="Second Caller", phone="555 0198").id
    db.session.commit()
    future_day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    return {"alice": alice, "bob": bob, "reception": reception, "day": future_day, "caller": caller,
            "second": second,
            "at": lambda hour, minute=0, day=future_day: local_instant(day, time(hour, minute), ZONE)}


def test_nav_and_roles(app, make_staff, login):
    # No `db` fixture here: its app context would carry one user's sign-in (in `g`) into another client.
    with app.app_context():
        add_clinician(_db.session, name="Dr Alice Adams")
    reception_client, doctor_client, anonymous = app.test_client(), app.test_client(), app.test_client()
    login(make_staff("receptionist"), test_client=reception_client)
    home = text(reception_client.get("/staff/"))
    assert "/staff/schedule" in home and "/staff/schedule/hours" in home
    login(make_staff("clinician"), test_client=doctor_client)
    # A clinician opens the hours page for their own time off: no clinic rules, no one else's hours.
    own_hours = text(doctor_client.get("/staff/schedule/hours"))
    assert "Add a weekly block" in own_hours and "Clinic booking rules" not in own_hours
    assert "Dr Alice Adams" not in own_hours
    # A clinician may book by phone (even a patient waiting for their clearance); who, comes first.
    assert doctor_client.post("/staff/schedule/book", data={}).status_code == 400
    assert doctor_client.get("/staff/schedule").status_code == 200
    assert "/staff/schedule/hours" in text(doctor_client.get("/staff/"))
    assert anonymous.get("/staff/schedule").status_code == 302


def test_day_grid_shows_free_booked_blocked_and_past_in_words(client, db, staff):
    add_booking(db.session, staff["alice"], staff["at"](10), name="Jamie Grid")
    db.session.add(ScheduleException(clinician_id=staff["bob"], kind="blocked", starts_at=staff["at"](9),
                                     ends_at=staff["at"](10), note="Training"))
    db.session.commit()
    page = text(client.get(f"/staff/schedule?date={staff['day'].isoformat()}"))
    assert "Dr Alice Adams" in page and "Dr Bob Brown" in page
    # The cell itself (its class and words), not the page: the intro and legend name every state.
    cells = grid_cells(page)
    assert cells[("10:00 AM", 0)][0] == "cell--booked" and "Jamie Grid" in cells[("10:00 AM", 0)][1]
    assert "Booked" in cells[("10:00 AM", 0)][1]
    assert cells[("10:15 AM", 0)] == ("cell--booked", "↳ continued")
    assert cells[("9:00 AM", 1)] == ("cell--blocked", "Blocked: Training")
    assert cells[("12:00 PM", 0)] == ("cell--off", "Not working")
    assert cells[("9:00 AM", 0)][0] == "cell--free" and cells[("9:00 AM", 0)][1].startswith("Free")
    assert "/staff/schedule/book?clinician=" in page  # free cells lead to a phone booking
    yesterday = (clinic_day(utcnow(), ZONE) - timedelta(days=1)).isoformat()
    past = grid_cells(text(client.get(f"/staff/schedule?date={yesterday}")))
    assert past[("9:00 AM", 0)] == ("cell--past cell--past", "Past")
    week = text(client.get(f"/staff/schedule?date={staff['day'].isoformat()}&view=week&clinician={staff['alice']}"))
    assert "Week of" in week and "Jamie Grid" in week and "Dr Bob Brown</caption>" not in week
    assert client.get("/staff/schedule?date=2026-02-30").status_code == 200  # impossible date: today instead


def test_a_clinician_sees_only_their_own_schedule(app, make_staff, login):
    doctor = make_staff("clinician")
    day = clinic_day(utcnow(), ZONE) + timedelta(days=3)
    nine = local_instant(day, time(9), ZONE)
    with app.app_context():
        alice = add_clinician(_db.session, name="Dr Alice Adams")
        _db.session.add(ClinicianProfile(clinician_id=doctor.id))
        _db.session.add(OpeningHours(clinician_id=doctor.id, weekday=day.weekday(), start_time=time(9),
                                     end_time=time(12)))
        _db.session.commit()
        own, _ = add_booking(_db.session, doctor.id, nine, name="Own Patient")
        other, _ = add_booking(_db.session, alice, nine, name="Someone Else")
    doctor_client = app.test_client()
    login(doctor, test_client=doctor_client)
    page = text(doctor_client.get(f"/staff/schedule?date={day.isoformat()}&clinician={alice}"))
    assert "Own Patient" in page and "Someone Else" not in page
    assert doctor_client.get(f"/staff/schedule/booking/{own}").status_code == 200
    assert doctor_client.get(f"/staff/schedule/booking/{other}").status_code == 404
    csv_text = doctor_client.get(f"/staff/schedule/export?from={day}&to={day}").get_data(as_text=True)
    assert "Own Patient" in csv_text and "Someone Else" not in csv_text


def phone_form(staff, hour=10, minute=0, clinician="alice", patient="caller", **extra):
    """A phone booking form for one of the fixture's patients."""
    data = {"clinician": str(staff[clinician]), "date": staff["day"].isoformat(), "time": f"{hour:02d}:{minute:02d}",
            "patient": str(staff[patient])}
    data.update(extra)
    return data


def test_phone_booking_and_its_refusals(client, db, staff):
    response = client.post("/staff/schedule/book", data=phone_form(staff))
    assert response.status_code == 302
    booking = db.session.scalars(sa.select(Booking)).one()
    assert booking.source == "phone" and booking.starts_at == staff["at"](10)
    assert booking.events[0].actor_id == staff["reception"].id
    page = text(client.get(response.headers["Location"]))
    assert "Phone Patient" in page and "created" in page and staff["reception"].name in page
    # A patient with no questionnaire is sent one tied to their record (not the public start page).
    confirmation = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "booking_confirmation")).one()
    assert recipient_of(confirmation) == "phone@example.org" and "/intake/invited/" in body_of(confirmation)
    assert "/intake/start" not in body_of(confirmation)
    taken = client.post("/staff/schedule/book", data=phone_form(staff, patient="second"))
    assert taken.status_code == 409 and "already booked by another patient" in text(taken)
    assert "Second Caller" in text(taken)  # still booking the same patient
    # One upcoming consultation per patient: a second is refused with a link to the first.
    again = client.post("/staff/schedule/book", data=phone_form(staff, hour=11))
    assert again.status_code == 409 and "already has an upcoming consultation" in text(again)
    assert f"/staff/schedule/booking/{booking.id}" in text(again)
    for bad in (phone_form(staff, patient="second", date="2026-02-30"), phone_form(staff, patient="second", time="25:99"),
                phone_form(staff, patient="second", hour=3), phone_form(staff, patient="second", clinician="reception"),
                {**phone_form(staff), "patient": "99999"}):
        response = client.post("/staff/schedule/book", data=bad)
        assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
    # Staff may book inside the minimum notice, but never in the past.
    past = client.post("/staff/schedule/book", data=phone_form(staff, patient="second", date=(
        clinic_day(utcnow(), ZONE) - timedelta(days=1)).isoformat()))
    assert "already passed" in text(past)


def test_status_move_cancel_and_history(client, db, staff):
    today = clinic_day(utcnow(), ZONE)
    today_id, _ = add_booking(db.session, staff["alice"], earlier_today(5), name="Here Today")
    future_id, _ = add_booking(db.session, staff["alice"], staff["at"](10), name="Later Patient")
    listing = text(client.get(f"/staff/schedule?date={today.isoformat()}"))
    assert "Here Today" in listing and "Mark arrived" in listing
    # The grid and the list link the booking, and its buttons post to its own status address.
    assert listing.count(f'<a href="/staff/schedule/booking/{today_id}">Here Today</a>') == 2
    assert f'<form method="post" action="/staff/schedule/booking/{today_id}/status"' in listing
    response = client.post(f"/staff/schedule/booking/{today_id}/status", data={"status": "arrived"})
    assert response.status_code == 302
    assert db.session.get(Booking, today_id).status == "arrived"
    client.post(f"/staff/schedule/booking/{future_id}/status", data={"status": "arrived"})
    db.session.expire_all()
    assert db.session.get(Booking, future_id).status == "booked"  # not on its day yet
    client.post(f"/staff/schedule/booking/{today_id}/status", data={"status": "bogus"})
    moved = client.post(f"/staff/schedule/booking/{future_id}/move",
                        data={"clinician": str(staff["bob"]), "date": staff["day"].isoformat(), "time": "14:00"})
    assert moved.status_code == 302
    db.session.expire_all()
    booking = db.session.get(Booking, future_id)
    assert booking.clinician_id == staff["bob"] and booking.starts_at == staff["at"](14) and booking.sequence == 1
    add_booking(db.session, staff["alice"], staff["at"](15), name="Blocker")
    refused = client.post(f"/staff/schedule/booking/{future_id}/move",
                          data={"clinician": str(staff["alice"]), "date": staff["day"].isoformat(), "time": "15:00"})
    assert refused.status_code == 409 and "already booked by another patient" in text(refused)
    client.post(f"/staff/schedule/booking/{future_id}/cancel", data={"reason": "Called to cancel"})
    db.session.expire_all()
    booking = db.session.get(Booking, future_id)
    assert booking.status == "cancelled" and booking.sequence == 2
    page = text(client.get(f"/staff/schedule/booking/{future_id}"))
    assert [e.kind for e in booking.events] == ["created", "moved", "cancelled"]
    assert "moved" in page and "cancelled" in page and staff["reception"].name in page
    audit = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action == "change_booking")).all()
    assert len(audit) == 3


def test_the_day_grid_shows_a_booking_from_the_night_before_that_runs_past_midnight(client, db, staff):
    late = add_clinician(db.session, name="Dr Night Owl", hours={day: [(time(0), time(2)), (time(22), time(23, 59))]
                                                                   for day in range(7)})
    evening = staff["day"] - timedelta(days=1)
    add_booking(db.session, late, staff["at"](23, 30, day=evening), minutes=60, name="Late Caller")
    add_booking(db.session, late, staff["at"](22, day=evening), name="Early Evening")  # over by 22:30
    cells = grid_cells(text(client.get(f"/staff/schedule?date={staff['day']}&clinician={late}")))
    assert cells[("12:00 AM", 0)] == ("cell--booked", "↳ continued")
    assert cells[("12:15 AM", 0)] == ("cell--booked", "↳ continued")
    assert cells[("12:30 AM", 0)][0] == "cell--free"


def test_csv_export_is_audited_and_formula_safe(client, db, staff):
    add_booking(db.session, staff["alice"], staff["at"](10), name="=HYPERLINK(\"http://evil\")")
    add_booking(db.session, staff["bob"], staff["at"](11), name="Plain Name")
    day = staff["day"].isoformat()
    response = client.get(f"/staff/schedule/export?from={day}&to={day}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["booking_id", "date", "start"]
    names = [row[6] for row in rows[1:]]
    assert names == ["'=HYPERLINK(\"http://evil\")", "Plain Name"]
    assert rows[1][2] == "10:00"
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export")).detail.startswith("schedule CSV")
    assert client.get("/staff/schedule/export?from=2026-01-01&to=2025-01-01").status_code == 302
    assert client.get("/staff/schedule/export?from=junk").status_code == 302


def test_csv_export_quotes_what_needs_quoting_as_the_csv_module_does(client, db, staff):
    # The export writes its lines itself (the csv module looked at every character of 10 MB); a
    # spreadsheet must still read back exactly what was typed, and the file must be the one the
    # csv module would have written.
    tricky = make_patient(db.session, name='Lee, "Jo"', email="jo@example.org", phone="+1 (555) 0100").id
    ann = make_patient(db.session, name="Ann\nMarie", phone="555 0101").id
    db.session.commit()
    first, _ = add_booking(db.session, staff["alice"], staff["at"](9), patient_id=tricky)
    comma = add_clinician(db.session, name="Okafor, Ada", hours=EVERY_DAY)
    second, _ = add_booking(db.session, comma, staff["at"](9, 30), patient_id=ann, status="cancelled")
    day = staff["day"].isoformat()
    exported = client.get(f"/staff/schedule/export?from={day}&to={day}").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    assert rows[1:] == [
        [str(first), day, "09:00", "09:30", ZONE, "Dr Alice Adams", 'Lee, "Jo"', "jo@example.org", "'+1 (555) 0100",
         "booked", "online"],
        [str(second), day, "09:30", "10:00", ZONE, "Okafor, Ada", "Ann\nMarie", "", "555 0101", "cancelled", "online"]]
    written = io.StringIO()
    csv.writer(written).writerows(rows)
    assert exported == written.getvalue()


def test_hours_editing(client, db, staff):
    page = text(client.get(f"/staff/schedule/hours?clinician={staff['alice']}"))
    assert "Weekly hours" in page and "Dr Alice Adams" in page
    client.post("/staff/schedule/hours/weekly", data={"clinician": staff["alice"], "weekday": "5", "start": "18:00",
                                                      "end": "20:00"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OpeningHours)
                             .where(OpeningHours.start_time == time(18))) == 1
    overlap = client.post("/staff/schedule/hours/weekly", data={"clinician": staff["alice"], "weekday": "5",
                                                                "start": "19:00", "end": "21:00"},
                          follow_redirects=True)
    assert "That overlaps Saturday 18:00–20:00" in text(overlap)
    backwards = client.post("/staff/schedule/hours/weekly", data={"clinician": staff["alice"], "weekday": "1",
                                                                  "start": "17:00", "end": "09:00"},
                            follow_redirects=True)
    assert "end time must be after" in text(backwards)
    add_booking(db.session, staff["alice"], staff["at"](10), name="Held Over")
    closed = client.post("/staff/schedule/hours/exceptions", data={
        "clinician": staff["alice"], "applies_to": "clinic", "kind": "closed", "first_day": staff["day"].isoformat(),
        "last_day": staff["day"].isoformat(), "note": "Holiday"}, follow_redirects=True)
    assert "These bookings fall in that period and were not cancelled:" in text(closed)
    assert re.search(r'<a href="/staff/schedule/booking/\d+">Held Over, ', text(closed))
    row = db.session.scalars(sa.select(ScheduleException)).one()
    assert row.clinician_id is None and row.starts_at == staff["at"](0) and row.ends_at - row.starts_at >= timedelta(hours=23)
    saved = client.post("/staff/schedule/hours/settings", data={"min_notice_hours": "2", "horizon_days": "30",
                                                                "cancel_cutoff_hours": "6"})
    assert saved.status_code == 302
    assert db.session.get(ClinicSettings, 1).min_notice_hours == 2
    wrong = client.post("/staff/schedule/hours/settings", data={"min_notice_hours": "-1", "horizon_days": "x",
                                                                "cancel_cutoff_hours": "6"}, follow_redirects=True)
    assert "must be a whole number" in text(wrong)
    profile = client.post("/staff/schedule/hours/profile", data={"clinician": staff["alice"],
                                                                 "consultation_minutes": "45", "buffer_minutes": "15",
                                                                 "accepts_bookings": "y"})
    assert profile.status_code == 302
    assert client.post("/staff/schedule/hours/weekly/99999/delete", data={}).status_code == 400


def test_a_refused_hours_change_keeps_what_was_typed(client, db, staff):
    response = client.post("/staff/schedule/hours/exceptions", data={
        "clinician": staff["alice"], "applies_to": "clinic", "kind": "blocked", "first_day": "2026-12-24",
        "first_time": "13:00", "last_day": "2026-12-20", "note": "Staff party"})
    page = text(response)
    assert response.status_code == 400 and "Nothing was saved" in page
    assert 'value="Staff party"' in page and 'value="2026-12-24"' in page and 'value="2026-12-20"' in page
    assert 'value="13:00"' in page and '<option value="blocked" selected>' in page
    assert '<option value="clinic" selected>' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScheduleException)) == 0
    wrong = client.post("/staff/schedule/hours/settings", data={"clinician": staff["alice"], "min_notice_hours": "-1",
                                                                "horizon_days": "45", "cancel_cutoff_hours": "7"})
    assert wrong.status_code == 400 and 'value="-1"' in text(wrong) and 'value="45"' in text(wrong)


def test_extreme_dates_are_messages_not_errors(client, db, staff):
    for path in ("/staff/schedule?date=9999-12-31", "/staff/schedule?date=0001-01-01&view=week",
                 "/staff/schedule/export?from=0001-01-01&to=9999-12-31"):
        assert client.get(path).status_code in (200, 302)
    response = client.post("/staff/schedule/book", data=phone_form(staff, date="9999-12-31"))
    assert response.status_code == 400 and "Write the date as YYYY-MM-DD" in text(response)
    response = client.post("/staff/schedule/hours/exceptions", data={
        "clinician": staff["alice"], "applies_to": "clinician", "kind": "closed", "first_day": "9999-12-30",
        "last_day": "9999-12-31"}, follow_redirects=True)
    assert "Write dates as YYYY-MM-DD" in text(response)


def test_a_clinicians_day_list_links_each_patients_questionnaire(app, client, db, make_staff, login):
    doctor = make_staff("clinician")
    login(doctor)
    intake_id, _ = add_intake(db.session, app.config, contact={"name": "Quinn Questionnaire", "email": "q@example.org"})
    booking_id, _ = add_booking(db.session, doctor.id, earlier_today(0) + timedelta(days=1), intake_id=intake_id)
    listing = text(client.get(f"/staff/schedule?date={clinic_day(utcnow(), ZONE) + timedelta(days=1)}"))
    assert f'<a href="/staff/intakes/{intake_id}">Open the questionnaire' in listing
    assert f'<a href="/staff/schedule/booking/{booking_id}">Quinn Questionnaire</a>' in listing


def test_record_links_give_the_address_url_for_gives(app):
    from flask import url_for

    from booking.templating import RecordLinks

    with app.test_request_context("/staff/schedule"):
        for endpoint, argument in (("schedule.booking", "booking_id"), ("schedule.booking_status", "booking_id"),
                                   ("intake_review.detail", "intake_id")):
            link = RecordLinks(endpoint, argument)
            assert [link(record_id) for record_id in (1, 42, "907")] == \
                [url_for(endpoint, **{argument: record_id}) for record_id in (1, 42, 907)]
        assert RecordLinks("schedule.booking_status", "booking_id")(5) == "/staff/schedule/booking/5/status"


def test_one_clinicians_schedule_still_offers_every_clinician_to_switch_to(client, db, staff):
    page = text(client.get(f"/staff/schedule?date={staff['day']}&clinician={staff['bob']}"))
    choice = page[page.index('<select id="clinician" name="clinician">'):]
    choice = choice[:choice.index("</select>")]
    assert re.findall(r'<option value="([^"]+)"( selected)?>([^<]+)</option>', choice) == [
        ("all", "", "All clinicians"), (str(staff["alice"]), "", "Dr Alice Adams"),
        (str(staff["bob"]), " selected", "Dr Bob Brown")]
    assert grid_heads(page) == ["Dr Bob Brown"]  # the grid is only theirs


def test_the_front_desks_bookings_and_moves_take_the_rules_and_hours_from_the_cache(client, db, staff):
    # As a patient's booking does: one read of the plan version, not the clinic's rules, its
    # clinicians and the clinician's profile, hours and exceptions on every phone booking and move.
    from tests.test_booking_queries import counted

    plan_tables = ("FROM clinic_settings", "FROM recurring_block", "FROM schedule_exception", "FROM clinician_profile")
    assert client.post("/staff/schedule/book", data=phone_form(staff)).status_code == 302  # the week's plan cached
    with counted(db.engine) as booking_statements:
        assert client.post("/staff/schedule/book", data=phone_form(staff, patient="second", hour=11)).status_code == 302
    second = db.session.scalars(sa.select(Booking).where(Booking.patient_id == staff["second"])).one()
    with counted(db.engine) as move_statements:
        moved = client.post(f"/staff/schedule/booking/{second.id}/move", data={
            "clinician": str(staff["alice"]), "date": staff["day"].isoformat(), "time": "14:00"})
    assert moved.status_code == 302
    for statements in (booking_statements, move_statements):
        assert not any(table in s for s in statements for table in plan_tables)
    db.session.expire_all()
    assert db.session.get(Booking, second.id).starts_at == staff["at"](14)


def test_the_front_desks_changes_read_nothing_after_their_commit(client, db, staff):
    # The words of the message and the page to go back to were read from the booking after the
    # commit had expired it: one or two statements more (round trips on PostgreSQL) for each.
    from tests.test_booking_queries import COMMIT, counted

    with counted(db.engine, commits=True) as booked:
        response = client.post("/staff/schedule/book", data=phone_form(staff))
    booking_id = db.session.scalars(sa.select(Booking.id)).one()
    assert response.headers["Location"] == f"/staff/schedule/booking/{booking_id}"
    assert "Booked Phone Patient with Dr Alice Adams." in text(client.get(response.headers["Location"]))
    today_id, _token = add_booking(db.session, staff["bob"], earlier_today(5), name="Here Today")
    with counted(db.engine, commits=True) as arrived:
        response = client.post(f"/staff/schedule/booking/{today_id}/status", data={"status": "arrived"})
    assert response.headers["Location"] == f"/staff/schedule/booking/{today_id}"
    assert "Here Today: arrived." in text(client.get(response.headers["Location"]))
    with counted(db.engine, commits=True) as undone:
        response = client.post(f"/staff/schedule/booking/{today_id}/status", data={"status": "undo"})
    assert "Here Today: booked (undone)." in text(client.get(response.headers["Location"]))
    with counted(db.engine, commits=True) as moved:
        response = client.post(f"/staff/schedule/booking/{booking_id}/move", data={
            "clinician": str(staff["bob"]), "date": staff["day"].isoformat(), "time": "14:00"})
    assert response.headers["Location"] == f"/staff/schedule/booking/{booking_id}"
    with counted(db.engine, commits=True) as cancelled:
        response = client.post(f"/staff/schedule/booking/{booking_id}/cancel", data={"reason": ""})
    assert response.headers["Location"] == f"/staff/schedule/booking/{booking_id}"
    for statements in (booked, arrived, undone, moved, cancelled):
        assert statements[-1] == COMMIT
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).status == "cancelled"
