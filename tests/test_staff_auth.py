"""Staff sign-in: the same answer for every failure, lockout per account and address, limits, CSRF."""

from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from booking.models import AuditEvent
from booking.staff.accounts import SignInPolicy, SignInRefused, authenticate, create_staff
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


def test_unknown_wrong_locked_and_deactivated_get_the_same_answer(make_app, make_staff):
    app = make_app(STAFF_MAX_FAILED_LOGINS=2)
    client = app.test_client()
    known, gone, locked = make_staff("clinician"), make_staff("receptionist", active=False), make_staff("clinician")
    for _ in range(2):
        sign_in(client, locked.email, "not the password at all")
    answers = [sign_in(client, email, "not the password at all")
               for email in ("nobody@clinic.example", known.email, locked.email, gone.email, "not an email")]
    assert {answer.status_code for answer in answers} == {401}
    bodies = [answer.get_data(as_text=True) for answer in answers]
    assert all("The email or password is not right." in body for body in bodies)
    assert not any("locked" in body or "deactivated" in body for body in bodies)
    assert f'value="{known.email}"' in bodies[1]


def test_lock_and_deactivation_are_said_only_after_the_right_password(make_app, make_staff):
    app = make_app(STAFF_MAX_FAILED_LOGINS=2)
    client = app.test_client()
    gone, locked = make_staff("receptionist", active=False), make_staff("clinician")
    for _ in range(2):
        sign_in(client, locked.email, "not the password at all")
    assert "deactivated" in sign_in(client, gone.email, gone.password).get_data(as_text=True)
    refused = sign_in(client, locked.email, locked.password)
    assert refused.status_code == 401 and "locked after too many failed attempts" in refused.get_data(as_text=True)


def test_a_stranger_cannot_lock_a_clinician_out(client, make_staff, db):
    user = make_staff("clinician")
    stranger = {"REMOTE_ADDR": "203.0.113.66"}
    for _ in range(12):
        client.post("/staff/login", data={"email": user.email, "password": "guessing 123456"}, environ_base=stranger)
    at_clinic = client.post("/staff/login", data={"email": user.email, "password": user.password},
                            environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert at_clinic.status_code == 302 and at_clinic.headers["Location"].startswith("/staff/login/code")
    from_stranger = client.post("/staff/login", data={"email": user.email, "password": user.password},
                                environ_base=stranger)
    assert "locked" in from_stranger.get_data(as_text=True)
    failures = db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "sign_in_failed"))
    assert failures == 13


def test_many_addresses_together_lock_the_account_everywhere(make_app, make_staff):
    app = make_app(STAFF_MAX_FAILED_LOGINS=5, STAFF_MAX_ACCOUNT_FAILED_LOGINS=8)
    client = app.test_client()
    user = make_staff("receptionist")
    for n in range(8):
        client.post("/staff/login", data={"email": user.email, "password": "guessing 123456"},
                    environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
    fresh_address = client.post("/staff/login", data={"email": user.email, "password": user.password},
                                environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert fresh_address.status_code == 401 and "locked" in fresh_address.get_data(as_text=True)


def test_lock_expires_after_the_lockout(db):
    user = create_staff(db.session, email="a@clinic.example", name="A", role="admin", password="plum kettle orbit 42")
    db.session.commit()
    now = utcnow()
    policy = SignInPolicy(max_failures=5, lockout=timedelta(minutes=15))
    for _ in range(5):
        with pytest.raises(SignInRefused):
            authenticate(db.session, "a@clinic.example", "wrong", ip="10.0.0.1", now=now, policy=policy)
    with pytest.raises(SignInRefused, match="locked"):
        authenticate(db.session, "a@clinic.example", "plum kettle orbit 42", ip="10.0.0.1",
                     now=now + timedelta(minutes=14), policy=policy)
    assert authenticate(db.session, "A@Clinic.example ", "plum kettle orbit 42", ip="10.0.0.1",
                        now=now + timedelta(minutes=16), policy=policy) is user


def test_an_unknown_email_costs_a_password_hash_too(db, monkeypatch):
    from booking.staff import accounts

    checked = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda *args: checked.append(args[0]) or real(*args))
    with pytest.raises(SignInRefused):
        authenticate(db.session, "nobody@clinic.example", "some password", ip="10.0.0.1", now=utcnow())
    assert len(checked) == 1 and checked[0].startswith("scrypt:")


def test_every_refused_staff_request_is_audited(client, make_staff, db):
    user = make_staff("receptionist")
    sign_in(client, user.email, user.password)
    assert client.get("/staff/admin/audit").status_code == 403
    assert client.post("/staff/schedule/book", data={}).status_code != 403  # receptionists may book
    rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "access_refused")).all()
    assert [(row.actor_id, row.detail) for row in rows] == [(user.id, "GET staff.audit_log")]


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


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/staff", "/staff/%0d%0a"])
def test_unsafe_next_targets_after_sign_in_are_ignored(client, make_staff, target):
    user = make_staff("receptionist")
    response = client.post("/staff/login", query_string={"next": target},
                           data={"email": user.email, "password": user.password})
    assert response.status_code == 302 and response.headers["Location"] in ("/staff/", target)
    assert "\n" not in response.headers["Location"] and "evil" not in response.headers["Location"]


@pytest.mark.parametrize("target", ["/staff/\nLocation: x", "/staff/\x00"])
def test_a_next_with_control_characters_is_refused_before_sign_in(client, make_staff, target):
    user = make_staff("receptionist")
    response = client.post("/staff/login", query_string={"next": target},
                           data={"email": user.email, "password": user.password})
    assert response.status_code == 400 and "Location" not in response.headers
    assert "That request held characters we cannot accept" in response.get_data(as_text=True)


def test_a_safe_next_survives_the_code_step(client, make_staff):
    user = make_staff("clinician")
    first = client.post("/staff/login?next=/staff/intakes", data={"email": user.email, "password": user.password})
    second = client.post(first.headers["Location"], data={"code": pyotp.TOTP(user.totp).now()})
    assert second.headers["Location"] == "/staff/intakes"


def test_passwords_are_hashed(db):
    user = create_staff(db.session, email="b@clinic.example", name="B", role="clinician", password="long enough pw")
    assert user.password_hash.startswith("scrypt:") and "long enough pw" not in user.password_hash
