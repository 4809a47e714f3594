"""Helpers for the staff sign-in tests: a settable clock and cookie handling."""

import re
from datetime import timedelta

import pyotp
import sqlalchemy as sa

from booking.models import AuditEvent
from booking.staff import web_session
from booking.timeutil import utcnow


class Clock:
    """A clock the session code reads instead of the real one; `advance` moves it."""

    def __init__(self, monkeypatch):
        self.now = utcnow()
        monkeypatch.setattr(web_session, "utcnow", lambda: self.now)

    def advance(self, **delta):
        self.now += timedelta(**delta)


def staff_cookie(test_client):
    """The value of the staff session cookie the test client holds, or None."""
    cookie = test_client.get_cookie(web_session.COOKIE)
    return None if cookie is None else cookie.value


def client_with_cookie(app, token):
    """A fresh client (another browser) holding only a copy of the staff cookie."""
    other = app.test_client()
    other.set_cookie(web_session.COOKIE, token)
    return other


def audit_rows(session, action):
    """The audit rows of one action, oldest first."""
    return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def enrol(client, user):
    """Sign in with the password, read the secret from the enrolment page, confirm a code.

    Returns (secret, the enrolment page, the confirmation response with the recovery codes).
    """
    first = client.post("/staff/login", data={"email": user.email, "password": user.password})
    assert first.headers["Location"].startswith("/staff/login/enrol")
    page = client.get("/staff/login/enrol").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page).group(1)
    confirmed = client.post("/staff/login/enrol", data={"code": pyotp.TOTP(secret).now()})
    return secret, page, confirmed
