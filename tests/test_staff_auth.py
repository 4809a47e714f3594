"""Staff sign-in: passwords, lockout, idle timeout, rate limiting, CSRF and sessions."""

from datetime import timedelta

import sqlalchemy as sa

from booking.models import AuditEvent, StaffUser
from booking.staff.accounts import SignInPolicy, SignInRefused, StaffError, authenticate, create_staff
from booking.timeutil import utcnow


def sign_in(client, email, password):
    return client.post("/staff/login", data={"email": email, "password": password})


def test_sign_in_and_out(client, make_staff):
    user = make_staff("receptionist")
    response = sign_in(client, user.email, user.password)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    home = client.get("/staff/").get_data(as_text=True)
    assert f"Welcome, {user.name}" in home and f"Sign out {user.name}" in home
    response = client.post("/staff/logout", follow_redirects=True)
    assert "You are signed out." in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_wrong_password_keeps_the_email_and_says_so_without_revealing_accounts(client, make_staff):
    user = make_staff("clinician")
    wrong = sign_in(client, user.email, "not the password at all")
    unknown = sign_in(client, "nobody@clinic.example", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert "The email or password is not right." in wrong.get_data(as_text=True)
    assert "The email or password is not right." in unknown.get_data(as_text=True)
    assert f'value="{user.email}"' in wrong.get_data(as_text=True)


def test_five_failures_lock_the_account_even_for_the_right_password(client, make_staff, db):
    user = make_staff("clinician")
    for _ in range(4):
        assert sign_in(client, user.email, "wrong password 123").status_code == 401
    fifth = sign_in(client, user.email, "wrong password 123")
    assert "locked for 15 minutes" in fifth.get_data(as_text=True)
    locked = sign_in(client, user.email, user.password)
    assert locked.status_code == 401 and "locked" in locked.get_data(as_text=True)
    failures = db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "sign_in_failed"))
    assert failures == 6


def test_lock_expires_after_the_lockout(db):
    user = create_staff(db.session, email="a@clinic.example", name="A", role="admin", password="x" * 12)
    db.session.commit()
    now = utcnow()
    policy = SignInPolicy(max_failures=5, lockout=timedelta(minutes=15))
    for _ in range(5):
        try:
            authenticate(db.session, "a@clinic.example", "wrong", now=now, policy=policy)
        except SignInRefused:
            pass
    try:
        authenticate(db.session, "a@clinic.example", "x" * 12, now=now + timedelta(minutes=14), policy=policy)
        raise AssertionError("a locked account signed in")
    except SignInRefused as refused:
        assert "locked" in refused.message
    assert authenticate(db.session, "A@Clinic.example ", "x" * 12, now=now + timedelta(minutes=16), policy=policy) is user


def test_deactivated_accounts_cannot_sign_in(client, make_staff):
    user = make_staff("receptionist", active=False)
    response = sign_in(client, user.email, user.password)
    assert response.status_code == 401 and "deactivated" in response.get_data(as_text=True)


def test_idle_sessions_end_with_a_message(make_app, make_staff):
    app = make_app(STAFF_IDLE_TIMEOUT=timedelta(minutes=15))
    from tests.factories import create_staff_user
    from booking.extensions import db

    with app.app_context():
        user = create_staff_user(db.session, "admin")
    client = app.test_client()
    sign_in(client, user.email, user.password)
    assert client.get("/staff/").status_code == 200
    with client.session_transaction() as session:
        session["last_seen"] = (utcnow() - timedelta(minutes=16)).timestamp()
    response = client.get("/staff/admin/staff")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    page = client.get("/staff/login").get_data(as_text=True)
    assert "signed out after a period of inactivity" in page
    assert client.get("/staff/").status_code == 302


def test_activity_within_the_timeout_keeps_the_session(client, make_staff):
    user = make_staff("admin")
    sign_in(client, user.email, user.password)
    with client.session_transaction() as session:
        session["last_seen"] = (utcnow() - timedelta(minutes=14)).timestamp()
    assert client.get("/staff/admin/staff").status_code == 200


def test_sign_in_attempts_are_rate_limited_per_ip_with_a_friendly_page(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, "x@clinic.example", "whatever-password").status_code == 401
    response = sign_in(client, "x@clinic.example", "whatever-password")
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert client.get("/staff/login").status_code == 200  # only sign-in attempts (POST) are counted
    other_ip = client.post("/staff/login", data={"email": "x@clinic.example", "password": "p" * 12},
                           environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other_ip.status_code == 401


def test_an_unreachable_rate_limit_store_does_not_stop_sign_in(make_app, make_staff, caplog):
    # Nothing listens on port 1: the limit cannot be counted, so it is skipped and logged.
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")
    user = make_staff("receptionist")
    client = app.test_client()
    assert sign_in(client, user.email, "wrong-password-123").status_code == 401
    assert sign_in(client, user.email, user.password).status_code == 302
    assert "rate-limit store unavailable" in caplog.text


def test_a_post_without_a_csrf_token_is_refused(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/staff/login", data={"email": "x@clinic.example", "password": "p" * 12})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


def test_a_post_with_the_csrf_token_is_accepted(make_app):
    import re

    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/staff/login").get_data(as_text=True))
    response = client.post("/staff/login", data={"email": "x@clinic.example", "password": "p" * 12,
                                                 "csrf_token": token.group(1)})
    assert response.status_code == 401  # past CSRF, refused only for the credentials


def test_open_redirects_after_sign_in_are_ignored(client, make_staff):
    user = make_staff("admin")
    response = client.post("/staff/login?next=https://evil.example/", data={"email": user.email, "password": user.password})
    assert response.headers["Location"] == "/staff/"


def test_a_password_reset_signs_the_person_out_everywhere(client, app, make_staff):
    from booking.extensions import db
    from booking.staff.accounts import reset_password

    user = make_staff("receptionist")
    sign_in(client, user.email, user.password)
    assert client.get("/staff/").status_code == 200
    # No app context is held across requests here: each request must load the user afresh.
    with app.app_context():
        reset_password(db.session.get(StaffUser, user.id), "a brand new password")
        db.session.commit()
    assert client.get("/staff/").status_code == 302


def test_passwords_are_hashed_and_policy_enforced(db):
    user = create_staff(db.session, email="b@clinic.example", name="B", role="clinician", password="long enough pw")
    assert user.password_hash.startswith("scrypt:") and "long enough pw" not in user.password_hash
    for bad in ("short", ""):
        try:
            create_staff(db.session, email="c@clinic.example", name="C", role="clinician", password=bad)
            raise AssertionError("weak password accepted")
        except StaffError as error:
            assert "at least 12" in str(error)
