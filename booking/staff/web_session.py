"""The staff session as the web sees it: the cookie, the store for this app, the current record.

The cookie `staff_session` carries only a random token (HttpOnly, SameSite, Secure outside
development); a browser without it (every patient's) costs no lookup at all. Each staff request costs one read by the token's hash;
last_seen is written at most once a minute (`SessionPolicy.touch_every`).
"""

from flask import current_app, g, request

from booking.cookies import cookie
from booking.extensions import db
from booking.staff.sessions import RedisSessionStore, SessionPolicy, SqlSessionStore, due_for_touch, end_reason
from booking.timeutil import utcnow

COOKIE = "staff_session"
COOKIE_PATH = "/"  # patient pages show a signed-in staff member their header too
EXTENSION = "booking_staff_sessions"


def now():
    """The clock every session decision uses (tests replace `utcnow` here)."""
    return utcnow()


def init_app(app):
    """Connect to the Redis session store if one is configured (otherwise the table is used)."""
    url = app.config.get("STAFF_SESSION_REDIS_URL")
    if url:
        import redis

        app.extensions[EXTENSION] = redis.Redis.from_url(url)


def policy():
    """This app's SessionPolicy."""
    return SessionPolicy.from_config(current_app.config)


def store():
    """The session store of this app."""
    client = current_app.extensions.get(EXTENSION)
    if client is None:
        return SqlSessionStore(db.session)
    return RedisSessionStore(client, db.session, policy(), prefix=current_app.config["STAFF_SESSION_REDIS_PREFIX"])


def has_cookie():
    """True if this request carries a staff session cookie (cheap: no lookup)."""
    return cookie(request, COOKIE) is not None


def start_request():
    """before_request: forget a user loaded by an earlier request that shared this app context.

    (`g` belongs to the app context, which a test holding one, or a streamed response,
    shares between requests; the staff session must be read from each request's own cookie.)
    """
    context = g._get_current_object()  # noqa: SLF001  one context lookup, not one per attribute
    context.pop("_login_user", None)
    context.pop("staff_session", None)
    context.pop("staff_session_ended", None)


def current():
    """(SessionRecord, StaffUser) for this request's cookie, or None. Loaded once per request.

    A session past its idle timeout or lifetime, or revoked, is deleted here and
    `g.staff_session_ended` says why.
    """
    if "staff_session" in g:
        return g.staff_session
    g.staff_session = None
    token = cookie(request, COOKIE)
    if not token:
        return None
    sessions, moment, rules = store(), now(), policy()
    found = sessions.find(token)
    if found is None:
        return None
    record, user = found
    reason = end_reason(record, user, moment, rules)
    if reason is not None:
        sessions.end(record)
        db.session.commit()
        g.staff_session_ended = reason
        return None
    if due_for_touch(record, moment, rules):
        sessions.touch(record, moment)
        db.session.commit()
    g.staff_session = (record, user)
    return g.staff_session


def load_user_from_request(_request):
    """Flask-Login's request loader: the staff member of a fully signed-in session."""
    found = current()
    if found is None or not found[0].verified:
        return None
    return found[1]


def open_session(response, user, verified):
    """Start a server-side session for `user` and put its token in the cookie on `response`."""
    sessions = store()
    sessions.purge(now(), policy())
    token = sessions.create(user, verified=verified, now=now(), ip=request.remote_addr,
                            user_agent=request.user_agent.string)
    config = current_app.config
    response.set_cookie(COOKIE, token, path=COOKIE_PATH, httponly=True, secure=config["SESSION_COOKIE_SECURE"],
                        samesite=config["SESSION_COOKIE_SAMESITE"])
    return token


def close_session(response):
    """End this request's session (if any) on the server and drop the cookie."""
    found = current()
    if found is not None:
        store().end(found[0])
    g.staff_session = None
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
