"""Clinician feeds, token rotation, range exports and the booking .ics route."""

import re
from datetime import timedelta

import icalendar
import sqlalchemy as sa

from booking.models import AuditEvent, StaffUser
from booking.timeutil import utcnow
from tests.calendar_factories import add_booking
from tests.libical import libical_problems, require_libical


def new_feed_link(client):
    """Press "Create/Replace my feed link" and return the https feed path shown once."""
    response = client.post("/staff/calendar/rotate")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/calendar#")
    page = client.get("/staff/calendar").get_data(as_text=True)
    assert "shown only once" in page
    assert re.search(r'href="webcal://[^"]+/calendar/feed/[A-Za-z0-9_-]{43}\.ics"', page)
    return re.search(r'value="http://[^/]+(/calendar/feed/[A-Za-z0-9_-]{43}\.ics)"', page).group(1)


def seeded(db, clinician_id, now):
    """Bookings around `now`: in the window, too old, cancelled, and another clinician's."""
    add_booking(db.session, clinician_id, starts_at=now + timedelta(days=2), patient_name="Jordan Rivers")
    add_booking(db.session, clinician_id, starts_at=now - timedelta(days=10), status="completed",
                patient_name="Alex Old")
    add_booking(db.session, clinician_id, starts_at=now - timedelta(days=40), patient_name="Too Old")
    add_booking(db.session, clinician_id, starts_at=now + timedelta(days=3), status="cancelled",
                patient_name="Cancelled Person")
    db.session.commit()


def feed_events(response):
    calendar = icalendar.Calendar.from_ical(response.get_data())
    return calendar.walk("VEVENT")


def fetch_own_feed(db, client, make_staff, login):
    """A clinician with `seeded` bookings (and a colleague's) makes a feed link; (clinician, the feed fetched)."""
    clinician = make_staff("clinician")
    other = make_staff("clinician")
    now = utcnow()
    seeded(db, clinician.id, now)
    add_booking(db.session, other.id, starts_at=now + timedelta(days=2), patient_name="Not Yours")
    db.session.commit()
    login(clinician)
    path = new_feed_link(client)
    client.post("/staff/logout")
    return clinician, client.get(path)  # calendar apps fetch without signing in


def test_clinician_feed_lists_their_bookings_without_names_and_is_audited(db, client, make_staff, login):
    clinician, response = fetch_own_feed(db, client, make_staff, login)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    events = feed_events(response)
    assert len(events) == 2  # the future booking and last week's completed one
    assert {str(e["SUMMARY"]) for e in events} == {"Consultation"}
    text = response.get_data(as_text=True)
    for name in ("Jordan", "Alex Old", "Too Old", "Cancelled", "Not Yours"):
        assert name not in text
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "feed_fetch")).all()
    assert [(a.target_id, a.detail, a.actor_id) for a in audit] == [(str(clinician.id), "served", clinician.id)]


def test_libical_accepts_a_clinician_feed(db, client, make_staff, login):
    require_libical()  # before the set-up: a missing libical skips only this check
    _clinician, response = fetch_own_feed(db, client, make_staff, login)
    assert len(feed_events(response)) == 2
    assert libical_problems(response.get_data(as_text=True)) == []


def test_names_appear_only_when_the_clinic_turns_them_on(make_app, make_staff, login):
    app = make_app(FEED_SHOW_PATIENT_NAMES=True)
    from booking.extensions import db as database
    from tests.factories import create_staff_user

    with app.app_context():
        clinician = create_staff_user(database.session, "clinician")
        add_booking(database.session, clinician.id, starts_at=utcnow() + timedelta(days=1))
        database.session.commit()
    client = app.test_client()
    login(clinician, test_client=client)
    path = new_feed_link(client)
    [event] = feed_events(client.get(path))
    assert str(event["SUMMARY"]) == "Consultation: Jordan Rivers"


def test_rotation_kills_the_old_link_at_once(db, client, make_staff, login):
    clinician = make_staff("clinician")
    login(clinician)
    old = new_feed_link(client)
    assert client.get(old).status_code == 200
    new = new_feed_link(client)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    refused = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "feed_fetch",
                                                             AuditEvent.detail.like("refused%"))).all()
    assert len(refused) == 1 and refused[0].target_id is None


def test_wrong_malformed_and_deactivated_tokens_get_404(db, client, make_staff, login):
    clinician = make_staff("clinician")
    login(clinician)
    path = new_feed_link(client)
    assert client.get("/calendar/feed/" + "A" * 43 + ".ics").status_code == 404
    assert client.get("/calendar/feed/" + "%27%3B--" + ".ics").status_code == 404
    assert client.get("/calendar/feed/" + "x" * 500 + ".ics").status_code == 404
    db.session.get(StaffUser, clinician.id).active = False
    db.session.commit()
    assert client.get(path).status_code == 404


def test_admin_rotates_any_clinicians_link_and_receptionist_cannot(client, app, make_staff, login):
    # No `db` fixture here: its app context would share `g` (and Flask-Login's cached user)
    # between the two clients' requests.
    clinician = make_staff("clinician", name="Dr Okafor")
    admin = make_staff("admin")
    login(admin)
    page = client.get("/staff/calendar").get_data(as_text=True)
    assert "Dr Okafor" in page and "Create link" in page
    response = client.post("/staff/calendar/rotate", data={"clinician_id": clinician.id}, follow_redirects=True)
    assert response.status_code == 200 and "New feed link for Dr Okafor" in response.get_data(as_text=True)
    assert client.post("/staff/calendar/rotate", data={"clinician_id": admin.id}).status_code == 400
    assert client.post("/staff/calendar/rotate", data={"clinician_id": "nope"}).status_code == 400
    assert client.post("/staff/calendar/rotate", data={"clinician_id": "9" * 30}).status_code == 400
    receptionist_client = app.test_client()
    login(make_staff("receptionist"), test_client=receptionist_client)
    assert receptionist_client.post("/staff/calendar/rotate", data={"clinician_id": clinician.id}).status_code == 403


def test_reloading_after_creating_a_feed_link_neither_replaces_it_nor_shows_it_again(db, client, make_staff,
                                                                                   login):
    from booking.models import FeedToken

    login(make_staff("clinician"))
    path = new_feed_link(client)
    stored = db.session.scalars(sa.select(FeedToken.token_hash)).all()
    reloaded = client.get("/staff/calendar").get_data(as_text=True)  # the browser's reload is this GET
    assert "shown only once" not in reloaded and path not in reloaded
    db.session.expire_all()
    assert db.session.scalars(sa.select(FeedToken.token_hash)).all() == stored
    assert client.get(path).status_code == 200  # the link just copied still works


def test_a_clinician_rotates_only_their_own_link(db, client, make_staff, login):
    mine = make_staff("clinician")
    theirs = make_staff("clinician")
    login(mine)
    client.post("/staff/calendar/rotate", data={"clinician_id": theirs.id})
    from booking.models import FeedToken

    assert [row.clinician_id for row in db.session.scalars(sa.select(FeedToken))] == [mine.id]


def export_a_range(db, client, make_staff, login):
    """A receptionist exports 60 days either side of today for a clinician with `seeded` bookings."""
    clinician = make_staff("clinician")
    now = utcnow()
    seeded(db, clinician.id, now)
    login(make_staff("receptionist"))
    start = (now - timedelta(days=60)).date().isoformat()
    end = (now + timedelta(days=60)).date().isoformat()
    return clinician, start, client.get(f"/staff/calendar/export?clinician={clinician.id}&start={start}&end={end}")


def test_receptionist_exports_a_range_and_it_is_audited(db, client, make_staff, login):
    clinician, start, response = export_a_range(db, client, make_staff, login)
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert len(feed_events(response)) == 3  # every active booking in range, the old one included
    [audit] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert audit.target_id == str(clinician.id) and start in audit.detail


def test_libical_accepts_a_range_export(db, client, make_staff, login):
    require_libical()  # before the set-up: a missing libical skips only this check
    _clinician, _start, response = export_a_range(db, client, make_staff, login)
    assert len(feed_events(response)) == 3
    assert libical_problems(response.get_data(as_text=True)) == []


def test_bad_export_ranges_get_clear_messages(db, client, make_staff, login):
    clinician = make_staff("clinician")
    login(make_staff("admin"))
    cases = [
        (f"clinician={clinician.id}&start=2026-01-01&end=2035-12-31", "at most 366 days"),
        (f"clinician={clinician.id}&start=2026-03-01&end=2026-02-01", "end date is before the start date"),
        (f"clinician={clinician.id}&start=2026-02-30&end=2026-03-01", "real date"),
        (f"clinician={clinician.id}&start=&end=2026-03-01", "Enter the start date"),
        ("clinician=999999&start=2026-01-01&end=2026-01-31", "Choose a clinician"),
        ("clinician=abc&start=" + "9" * 300 + "&end=2026-01-31", "Choose a clinician"),
        ("clinician=" + "9" * 20 + "&start=2026-01-01&end=2026-01-31", "Choose a clinician"),
    ]
    for query, message in cases:
        response = client.get(f"/staff/calendar/export?{query}")
        assert response.status_code == 400, query
        page = response.get_data(as_text=True)
        assert message in page, query
        assert 'aria-invalid="true"' in page
    # What was typed is kept.
    page = client.get(f"/staff/calendar/export?clinician={clinician.id}&start=2026-03-01&end=2026-02-01")
    assert 'value="2026-03-01"' in page.get_data(as_text=True)


def test_booking_ics_follows_the_booking_and_refuses_other_tokens(db, client, make_staff):
    clinician = make_staff("clinician")
    booking, token = add_booking(db.session, clinician.id, starts_at=utcnow() + timedelta(days=5))
    db.session.commit()
    response = client.get(f"/book/manage/{token}/invite.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8; method=REQUEST"
    calendar = icalendar.Calendar.from_ical(response.get_data())
    event = calendar.walk("VEVENT")[0]
    assert str(event["UID"]) == f"booking-{booking.id}@clinic.example"
    assert f"/book/manage/{token}" in str(event["URL"])
    booking.status, booking.sequence = "cancelled", 1
    db.session.commit()
    response = client.get(f"/book/manage/{token}/invite.ics")
    calendar = icalendar.Calendar.from_ical(response.get_data())
    assert calendar["METHOD"] == "CANCEL" and calendar.walk("VEVENT")[0]["SEQUENCE"] == 1
    assert client.get(f"/book/manage/{token[:-1]}x/invite.ics").status_code == 404
    assert client.get("/book/manage/not-a-token!/invite.ics").status_code == 404


def test_guessing_feed_tokens_is_rate_limited(make_app):
    app = make_app(FEED_RATE_LIMIT="3 per minute")
    client = app.test_client()
    answers = [client.get(f"/calendar/feed/guess{number}.ics").status_code for number in range(4)]
    assert answers == [404, 404, 404, 429]
