"""Server-side staff sessions: the cookie is only a random id; the server decides when it ends."""

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from booking.extensions import db as _db
from booking.models import StaffSession, StaffUser
from booking.staff.accounts import reset_password
from booking.tokens import token_hash
from tests.conftest import require_or_skip
from tests.staff_helpers import Clock, audit_rows, client_with_cookie, staff_cookie

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


def test_the_cookie_holds_only_a_random_token_whose_hash_is_stored(app, client, make_staff, login):
    user = make_staff("admin")
    login(user)
    token = staff_cookie(client)
    assert token and str(user.id) not in token.split("-") and len(token) >= 43
    with app.app_context():
        stored = _db.session.scalars(sa.select(StaffSession.token_hash)).all()
    assert stored == [token_hash(token)]  # the token itself is nowhere on the server


def test_a_cookie_replayed_after_sign_out_is_refused(app, client, make_staff, login):
    admin = make_staff("admin")
    login(admin)
    stolen = client_with_cookie(app, staff_cookie(client))
    assert stolen.get("/staff/admin/audit").status_code == 200
    client.post("/staff/logout")
    replay = stolen.get("/staff/admin/audit")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/staff/login")
    assert stolen.post("/staff/admin/staff", data={"name": "Eve"}).status_code == 302


def test_a_copied_cookie_dies_at_the_idle_timeout_measured_on_the_server(make_app, make_staff, login, monkeypatch):
    app = make_app()
    clock = Clock(monkeypatch)
    user = make_staff("clinician")
    victim = app.test_client()
    login(user, test_client=victim)
    copy = client_with_cookie(app, staff_cookie(victim))
    for _ in range(20):  # the copy used every 5 seconds keeps the session alive, as activity should
        clock.advance(seconds=5)
        assert copy.get("/staff/").status_code == 200
    last_use = clock.now
    # last_seen is written at most once a minute, so it may trail the last use by under a minute;
    # the session must still end no later than the idle timeout after that last use.
    clock.now = last_use + app.config["STAFF_IDLE_TIMEOUT"]
    ended = copy.get("/staff/")
    assert ended.status_code == 302 and ended.headers["Location"] == "/staff/login"
    assert "signed out after a period of inactivity" in copy.get("/staff/login").get_data(as_text=True)
    assert victim.get("/staff/").status_code == 302  # the same session, so the original is over too


def test_activity_keeps_a_session_until_its_absolute_lifetime(make_app, make_staff, login, monkeypatch):
    app = make_app()
    clock = Clock(monkeypatch)
    signed_in_at = clock.now
    client = app.test_client()
    login(make_staff("receptionist"), test_client=client)
    lifetime = app.config["STAFF_SESSION_LIFETIME"]
    while clock.now + timedelta(minutes=10) < signed_in_at + lifetime:
        clock.advance(minutes=10)  # inside the idle timeout every time
        assert client.get("/staff/").status_code == 200
    clock.now = signed_in_at + lifetime + timedelta(seconds=1)
    assert client.get("/staff/").headers["Location"] == "/staff/login"
    assert "Your session has ended" in client.get("/staff/login").get_data(as_text=True)


def test_last_seen_is_written_at_most_once_a_minute(make_app, make_staff, login, monkeypatch):
    app = make_app()
    clock = Clock(monkeypatch)
    client = app.test_client()
    login(make_staff("receptionist"), test_client=client)

    def last_seen():
        with app.app_context():
            return _db.session.scalar(sa.select(StaffSession.last_seen_at))

    signed_in_at = last_seen()
    clock.advance(seconds=59)
    client.get("/staff/")
    assert last_seen() == signed_in_at
    clock.advance(seconds=2)
    client.get("/staff/")
    assert last_seen() == clock.now


@pytest.mark.parametrize("change", ["password reset", "deactivation"])
def test_a_reset_or_deactivation_ends_the_persons_sessions(app, make_staff, login, change):
    user = make_staff("receptionist")
    client = app.test_client()
    login(user, test_client=client)
    with app.app_context():
        row = _db.session.get(StaffUser, user.id)
        if change == "password reset":
            reset_password(_db.session, row, "a brand new password for rita")
        else:
            row.active = False
            row.session_version += 1
        _db.session.commit()
    assert client.get("/staff/").status_code == 302


def test_staff_see_their_sessions_and_end_the_others(app, make_staff, login):
    user = make_staff("receptionist")
    laptop, phone = app.test_client(), app.test_client()
    login(user, test_client=laptop)
    login(user, test_client=phone)
    page = laptop.get("/staff/account/sessions", headers={"User-Agent": "Laptop Browser"}).get_data(as_text=True)
    assert page.count("<tr>") == 3 and "This browser" in page  # a header row and two sessions
    with app.app_context():
        other = _db.session.scalar(sa.select(StaffSession.id).where(
            StaffSession.token_hash == token_hash(staff_cookie(phone))))
    response = laptop.post("/staff/account/sessions", data={"handle": str(other)}, follow_redirects=True)
    assert "That session is signed out." in response.get_data(as_text=True)
    assert phone.get("/staff/").status_code == 302
    assert laptop.get("/staff/").status_code == 200


def test_only_an_admin_may_end_someone_elses_session(app, make_staff, login):
    alice, bob, admin = make_staff("receptionist"), make_staff("receptionist"), make_staff("admin")
    clients = {name: app.test_client() for name in ("alice", "bob", "admin")}
    for name, user in (("alice", alice), ("bob", bob), ("admin", admin)):
        login(user, test_client=clients[name])
    with app.app_context():
        bobs = _db.session.scalar(sa.select(StaffSession.id).where(StaffSession.user_id == bob.id))
    assert clients["alice"].post("/staff/account/sessions", data={"handle": str(bobs)}).status_code == 403
    assert clients["bob"].get("/staff/").status_code == 200
    ended = clients["admin"].post("/staff/account/sessions", data={"handle": str(bobs)})
    assert ended.headers["Location"] == f"/staff/admin/staff/{bob.id}"
    assert clients["bob"].get("/staff/").status_code == 302
    with app.app_context():
        assert [row.target_id for row in audit_rows(_db.session, "end_session")] == [str(bob.id)]
        refused = audit_rows(_db.session, "access_refused")
        assert [(row.actor_id, row.detail) for row in refused] == [(alice.id, "POST staff.my_sessions")]


def test_an_admin_signs_someone_out_everywhere(app, make_staff, login):
    user, admin = make_staff("clinician"), make_staff("admin")
    doctor, desk = app.test_client(), app.test_client()
    login(user, test_client=doctor)
    login(admin, test_client=desk)
    assert "Where " + user.name + " is signed in" in desk.get(f"/staff/admin/staff/{user.id}").get_data(as_text=True)
    desk.post(f"/staff/admin/staff/{user.id}", data={"form": "sessions"})
    assert doctor.get("/staff/").status_code == 302
    with app.app_context():
        assert audit_rows(_db.session, "change_staff")[-1].detail == "all sessions ended"


@pytest.fixture
def redis_url():
    """A Redis database for this test (TEST_REDIS_URL), or a skip saying why."""
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL).ping()
    except redis.exceptions.RedisError as error:
        require_or_skip(f"Redis not available at {TEST_REDIS_URL}: {error}")
    return TEST_REDIS_URL


def test_sessions_can_live_in_redis(make_app, make_staff, login, redis_url):
    import redis

    prefix = f"test-{uuid.uuid4().hex}:"
    app = make_app(STAFF_SESSION_REDIS_URL=redis_url, STAFF_SESSION_REDIS_PREFIX=prefix)
    server = redis.Redis.from_url(redis_url)
    try:
        user = make_staff("admin")
        client = app.test_client()
        login(user, test_client=client)
        token = staff_cookie(client)
        assert server.get(prefix + token_hash(token)) is not None and server.get(prefix + token) is None
        with app.app_context():
            assert _db.session.scalar(sa.select(sa.func.count()).select_from(StaffSession)) == 0
        copy = client_with_cookie(app, token)
        assert copy.get("/staff/account/sessions").status_code == 200
        client.post("/staff/logout")
        assert copy.get("/staff/").status_code == 302
        assert server.get(prefix + token_hash(token)) is None
    finally:
        for key in server.scan_iter(prefix + "*"):
            server.delete(key)


def test_flask_logins_own_session_sign_in_and_remember_cookie_stay_unused(app, client, make_staff, login):
    # create_app takes out Flask-Login's after-request hook, which only refreshes or clears its
    # remember-me cookie for users signed in through `login_user`: nothing here may start doing so.
    import flask

    user = make_staff("receptionist")
    with client:
        response = login(user)
        assert "_user_id" not in flask.session and "_remember" not in flask.session
        assert client.get("/staff/").status_code in (200, 302)
        assert "_user_id" not in flask.session
    assert "remember_token" not in response.headers.get("Set-Cookie", "")
    assert client.get_cookie("remember_token") is None
    source = "".join(path.read_text() for path in Path(app.root_path).rglob("*.py"))
    assert "login_user(" not in source and "logout_user(" not in source
    assert not app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")
