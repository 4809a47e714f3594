"""Two-factor sign-in: TOTP enrolment with a server-drawn QR code, one use per code, recovery codes."""

import re

import pyotp
import sqlalchemy as sa

from booking.extensions import db as _db
from booking.models import RecoveryCode, StaffUser
from tests.factories import create_staff_user
from tests.staff_helpers import audit_rows, enrol


def new_user(app, role, enrol_now=False):
    with app.app_context():
        return create_staff_user(_db.session, role, enrol=enrol_now)


def test_clinicians_enrol_at_first_sign_in_with_a_qr_code_drawn_here(app, client):
    user = new_user(app, "clinician")
    assert client.get("/staff/").status_code == 302
    secret, page, confirmed = enrol(client, user)
    assert "<svg" in page and "QR code for your authenticator app" in page and "<img" not in page
    assert confirmed.status_code == 200
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", confirmed.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/staff/").status_code == 200
    with app.app_context():
        stored = _db.session.get(StaffUser, user.id)
        assert stored.totp_confirmed_at is not None and secret not in stored.totp_secret  # encrypted at rest
        hashes = _db.session.scalars(sa.select(RecoveryCode.code_hash)).all()
    assert len(hashes) == 10 and not set(codes) & set(hashes)


def test_a_wrong_code_does_not_confirm_enrolment_and_the_staff_pages_stay_shut(app, client):
    user = new_user(app, "admin")
    client.post("/staff/login", data={"email": user.email, "password": user.password})
    client.get("/staff/login/enrol")
    wrong = client.post("/staff/login/enrol", data={"code": "000000"})
    assert wrong.status_code == 400 and "That code is not right" in wrong.get_data(as_text=True)
    assert client.get("/staff/admin/audit").headers["Location"] == "/staff/login/code"


def test_the_password_alone_opens_nothing_for_a_role_that_needs_a_code(app, client, make_staff):
    user = make_staff("clinician")
    first = client.post("/staff/login", data={"email": user.email, "password": user.password})
    assert first.headers["Location"].startswith("/staff/login/code")
    assert client.get("/staff/intakes").headers["Location"] == "/staff/login/code"


def test_a_code_cannot_be_used_twice(app, make_staff):
    user = make_staff("clinician")
    code = pyotp.TOTP(user.totp).now()
    first, second = app.test_client(), app.test_client()
    for browser in (first, second):
        browser.post("/staff/login", data={"email": user.email, "password": user.password})
    assert first.post("/staff/login/code", data={"code": code}).status_code == 302
    replay = second.post("/staff/login/code", data={"code": code})
    assert replay.status_code == 400 and "already used" in replay.get_data(as_text=True)
    assert second.get("/staff/").status_code == 302


def test_a_recovery_code_works_once(app, client):
    user = new_user(app, "clinician")
    _secret, _page, confirmed = enrol(client, user)
    code = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", confirmed.get_data(as_text=True))[3]
    client.post("/staff/logout")
    for attempt in range(2):
        client.post("/staff/login", data={"email": user.email, "password": user.password})
        answer = client.post("/staff/login/code", data={"code": code.upper()})
        assert answer.status_code == (302 if attempt == 0 else 400)
        client.post("/staff/logout")


def test_receptionists_need_a_code_only_when_the_clinic_says_so(make_app):
    for required in (False, True):
        app = make_app(STAFF_TOTP_FOR_RECEPTIONISTS=required)
        user = new_user(app, "receptionist")
        answer = app.test_client().post("/staff/login", data={"email": user.email, "password": user.password})
        assert answer.headers["Location"] == ("/staff/login/enrol" if required else "/staff/")


def test_wrong_codes_count_towards_the_lockout(make_app):
    app = make_app(STAFF_MAX_FAILED_LOGINS=3)
    with app.app_context():
        user = create_staff_user(_db.session, "clinician")
    client = app.test_client()
    client.post("/staff/login", data={"email": user.email, "password": user.password})
    for _ in range(2):
        assert client.post("/staff/login/code", data={"code": "123456"}).status_code == 400
    third = client.post("/staff/login/code", data={"code": "123456"})
    assert third.headers["Location"] == "/staff/login"
    assert "Too many wrong codes" in client.get("/staff/login").get_data(as_text=True)
    again = client.post("/staff/login", data={"email": user.email, "password": user.password})
    assert "locked" in again.get_data(as_text=True)


def test_an_admin_resets_a_second_factor_and_it_is_audited(app, make_staff, login):
    admin, doctor = make_staff("admin"), make_staff("clinician")
    desk, phone = app.test_client(), app.test_client()
    login(admin, test_client=desk)
    login(doctor, test_client=phone)
    response = desk.post(f"/staff/admin/staff/{doctor.id}", data={"form": "factor"}, follow_redirects=True)
    assert "Two-factor sign-in reset for" in response.get_data(as_text=True)
    assert phone.get("/staff/").status_code == 302  # signed out at once
    again = phone.post("/staff/login", data={"email": doctor.email, "password": doctor.password})
    assert again.headers["Location"].startswith("/staff/login/enrol")
    with app.app_context():
        row = audit_rows(_db.session, "change_staff")[-1]
        assert (row.actor_id, row.target_id, row.detail) == (admin.id, str(doctor.id), "second factor reset")


def test_create_staff_makes_an_account_that_enrols_at_first_sign_in(app, runner, client):
    result = runner.invoke(args=["create-staff", "new.doctor@clinic.example", "--name", "New Doctor",
                                 "--role", "clinician", "--password-stdin"], input="violet harbour spoon 81\n")
    assert result.exit_code == 0 and "authenticator app" in result.output
    user = StaffUser(email="new.doctor@clinic.example")
    user.password = "violet harbour spoon 81"  # what enrol() needs: an email and a password
    _secret, _page, confirmed = enrol(client, user)
    assert confirmed.status_code == 200 and client.get("/staff/intakes").status_code == 200
