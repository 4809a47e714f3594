"""Passwords: changed by their owner (current one first), reset by an admin, never easy to guess."""

import pytest

from booking.extensions import db as _db
from booking.staff.accounts import PasswordPolicy, StaffError, check_password_policy
from tests.conftest import sign_in_with_code
from booking.models import StaffUser
from tests.staff_helpers import audit_rows, enrol


def test_an_easily_guessed_password_is_refused_however_long():
    for weak in ("password1234567", "qwertyuiopasdf", "aaaaaaaaaaaaaaaa"):
        with pytest.raises(StaffError, match="too easy to guess"):
            check_password_policy(weak)
    check_password_policy("violet harbour spoon 81")


def test_the_strength_threshold_is_a_setting_and_the_persons_name_counts_against_it():
    check_password_policy("qwertyuiopasdf", PasswordPolicy(min_score=0))
    with pytest.raises(StaffError, match="too easy"):
        check_password_policy("qwertyuiopasdf", PasswordPolicy(min_score=2))
    check_password_policy("ritareception!!")
    with pytest.raises(StaffError, match="too easy"):
        check_password_policy("ritareception!!", user_inputs=("rita.r@clinic.example", "Rita Reception"))


def test_staff_change_their_own_password_current_one_first(app, make_staff, login):
    user = make_staff("receptionist")
    here, elsewhere = app.test_client(), app.test_client()
    login(user, test_client=here)
    login(user, test_client=elsewhere)
    wrong = here.post("/staff/account/password", data={"current": "not it at all", "password": "violet harbour spoon 81",
                                                      "confirm": "violet harbour spoon 81"})
    assert wrong.status_code == 400 and "Your current password is not right." in wrong.get_data(as_text=True)
    weak = here.post("/staff/account/password", data={"current": user.password, "password": "password1234567",
                                                     "confirm": "password1234567"})
    assert "too easy to guess" in weak.get_data(as_text=True)
    done = here.post("/staff/account/password", data={"current": user.password, "password": "violet harbour spoon 81",
                                                     "confirm": "violet harbour spoon 81"}, follow_redirects=True)
    assert "Your password is changed" in done.get_data(as_text=True)
    assert here.get("/staff/").status_code == 200
    assert elsewhere.get("/staff/").status_code == 302
    assert sign_in_with_code(app.test_client(), user, "violet harbour spoon 81").headers["Location"] == "/staff/"
    with app.app_context():
        assert audit_rows(_db.session, "change_staff")[-1].detail == "password changed by its owner"


def test_an_admin_reset_forces_a_new_password_at_the_next_sign_in(app, make_staff, login):
    admin, doctor = make_staff("admin"), make_staff("clinician")
    desk = app.test_client()
    login(admin, test_client=desk)
    desk.post(f"/staff/admin/staff/{doctor.id}", data={"form": "reset", "reset-password": "maple quarry lantern 7",
                                                      "reset-confirm": "maple quarry lantern 7"})
    phone = app.test_client()
    signed_in = sign_in_with_code(phone, doctor, "maple quarry lantern 7")
    assert signed_in.status_code == 302
    for page in ("/staff/", "/staff/intakes", "/staff/account/sessions"):
        assert phone.get(page).headers["Location"] == "/staff/account/password"
    form = phone.get("/staff/account/password").get_data(as_text=True)
    assert "An administrator reset your password" in form
    phone.post("/staff/account/password", data={"current": "maple quarry lantern 7",
                                                "password": "cobalt meadow violin 44", "confirm": "cobalt meadow violin 44"})
    assert phone.get("/staff/intakes").status_code == 200


def test_the_demo_accounts_can_sign_in_and_enrol(app, runner, client):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    admin = StaffUser(email="admin@clinic.example")
    admin.password = "demo-admin-password"
    _secret, _page, confirmed = enrol(client, admin)
    assert confirmed.status_code == 200 and client.get("/staff/admin/audit").status_code == 200
