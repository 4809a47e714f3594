"""What the wrk benchmark sends, prepared in Python before any load: sessions, CSRF tokens, bodies.

Uses the app's own test client on the benchmark's database (the same configuration and
secret key as the served app, so its signed cookies are valid there).
"""

import re
from datetime import timedelta
from urllib.parse import urlencode

import sqlalchemy as sa

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _cookie(client):
    """The client's session cookie as a Cookie header value."""
    found = client.get_cookie("session")
    return f"session={found.value}" if found else ""


def _csrf(page):
    return CSRF_FIELD.search(page.get_data(as_text=True)).group(1)


def booking_posts(app, count):
    """`count` (method, path, cookie, body) booking POSTs of distinct free times, each with its own patient."""
    from booking.appointments.availability import clinic_day, free_slots
    from booking.appointments.settings import load_rules
    from booking.appointments.web import slot_value
    from booking.crypto import cipher_for
    from booking.extensions import db
    from booking.models import Intake, Patient
    from booking.timeutil import utcnow
    from booking.tokens import new_token, token_hash

    zone, now, posts = app.config["CLINIC_TIMEZONE"], utcnow(), []
    with app.app_context():
        today = clinic_day(now, zone)
        free = free_slots(db.session, today + timedelta(days=2), today + timedelta(days=120), zone, now=now,
                          rules=load_rules(db.session, app.config))
        slots = free[::max(1, len(free) // count)][:count]  # spread over the free times, as many as asked for
        tokens, contact = [], cipher_for(app.config).encrypt({"name": "Bench Patient", "email": "bench@example.org"})
        for _slot in slots:
            patient = Patient(contact_encrypted=contact, created_at=now, updated_at=now)
            token = new_token()
            db.session.add(Intake(status="submitted", booking_token_hash=token_hash(token), patient=patient))
            tokens.append(token)
        db.session.commit()
    for slot, token in zip(slots, tokens):
        client = app.test_client()
        assert client.get(f"/book/start/{token}").status_code == 302
        query = {"clinician": slot.clinician_id, "start": slot_value(slot.starts_at)}
        csrf = _csrf(client.get("/book/confirm?" + urlencode(query)))
        body = urlencode({**query, "csrf_token": csrf, "name": "Bench Patient", "email": "bench@example.org"})
        posts.append(("POST", "/book/confirm", _cookie(client), body))
    return posts


def week_cookie(app):
    """A session cookie of a patient who may book (for the week views)."""
    return booking_posts(app, 1)[0][2]


def step_posts(app, count):
    """`count` questionnaire step-2 POSTs, each for its own draft (step 1 saved), with its CSRF token."""
    from tests.intake_factories import form_data

    posts = []
    for _ in range(count):
        client = app.test_client()
        csrf = _csrf(client.get("/intake/start"))
        client.post("/intake/start", data={"csrf_token": csrf})
        csrf = _csrf(client.get("/intake/step/1"))
        assert client.post("/intake/step/1", data={**form_data("about"), "csrf_token": csrf}).status_code == 302
        csrf = _csrf(client.get("/intake/step/2"))
        posts.append(("POST", "/intake/step/2", _cookie(client),
                      urlencode({**form_data("seeking"), "csrf_token": csrf}, doseq=True)))
    return posts


def staff_cookie(app, role="clinician"):
    """A signed-in staff session cookie (second factor passed) for the first member with `role`."""
    from booking.extensions import db
    from booking.models import StaffUser
    from booking.staff.sessions import SqlSessionStore
    from booking.timeutil import utcnow

    with app.app_context():
        user = db.session.scalar(sa.select(StaffUser).where(StaffUser.role == role).order_by(StaffUser.id))
        token = SqlSessionStore(db.session).create(user, verified=True, now=utcnow(), ip="127.0.0.1",
                                                   user_agent="wrk")
        db.session.commit()
    return f"staff_session={token}"


def feed_path(app, clinician_id):
    """The path of a calendar feed for the clinician (a new feed token)."""
    from booking.calendar.feeds import issue_feed_token
    from booking.extensions import db
    from booking.models import StaffUser
    from booking.timeutil import utcnow

    with app.app_context():
        token = issue_feed_token(db.session, db.session.get(StaffUser, clinician_id), actor=None, now=utcnow())
        db.session.commit()
    return f"/calendar/feed/{token}.ics"
