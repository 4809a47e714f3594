"""Admin pages: staff accounts and the read-only audit log; the create-staff command."""

import sqlalchemy as sa

from booking.models import AuditEvent, StaffUser


def test_admin_creates_a_staff_account(client, make_staff, login, db):
    login(make_staff("admin"))
    response = client.post("/staff/admin/staff", data={
        "name": "New Person", "email": "New.Person@Clinic.example", "role": "clinician",
        "password": "a long enough password", "confirm": "a long enough password"})
    assert response.status_code == 302
    user = db.session.scalar(sa.select(StaffUser).where(StaffUser.email == "new.person@clinic.example"))
    assert user.role == "clinician" and user.check_password("a long enough password")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "change_staff"))
    assert event.target_id == str(user.id) and "password" not in (event.detail or "")


def test_bad_new_accounts_get_messages_and_keep_what_was_typed(client, make_staff, login):
    admin = make_staff("admin")
    login(admin)
    form = {"name": "X" * 10_000, "email": "not-an-email", "role": "clinician",
            "password": "short", "confirm": "short"}
    page = client.post("/staff/admin/staff", data=form).get_data(as_text=True)
    assert "Field cannot be longer than 120 characters." in page
    form.update(name="Someone", email=admin.email, password="a long enough password", confirm="a long enough password")
    page = client.post("/staff/admin/staff", data=form).get_data(as_text=True)
    assert "already exists" in page and 'value="Someone"' in page
    form.update(email="ok@clinic.example", role="superuser")
    assert "Not a valid choice" in client.post("/staff/admin/staff", data=form).get_data(as_text=True)


def test_admin_changes_a_role_and_deactivation_signs_the_person_out(app, client, make_staff, login):
    admin = make_staff("admin")
    receptionist = make_staff("receptionist")
    other = app.test_client()
    login(receptionist, test_client=other)
    assert other.get("/staff/").status_code == 200
    login(admin)
    response = client.post(f"/staff/admin/staff/{receptionist.id}", data={
        "form": "edit", "edit-role": "clinician", "edit-name": receptionist.name, "edit-email": receptionist.email})
    assert response.status_code == 302
    assert other.get("/staff/").status_code == 302  # deactivated (checkbox not sent) -> signed out
    from booking.extensions import db

    with app.app_context():
        stored = db.session.get(StaffUser, receptionist.id)
        assert stored.role == "clinician" and not stored.active
        details = db.session.scalars(sa.select(AuditEvent.detail).where(AuditEvent.action == "change_staff")).all()
        assert "role receptionist -> clinician, deactivated" in details


def test_admin_cannot_demote_themselves(client, make_staff, login):
    admin = make_staff("admin")
    login(admin)
    page = client.post(f"/staff/admin/staff/{admin.id}", data={"form": "edit", "edit-role": "receptionist", "edit-active": "y",
                                                              "edit-name": admin.name, "edit-email": admin.email})
    assert "cannot remove your own admin role" in page.get_data(as_text=True)


def test_admin_resets_a_password(app, client, make_staff, login):
    admin = make_staff("admin")
    clinician = make_staff("clinician")
    login(admin)
    mismatch = client.post(f"/staff/admin/staff/{clinician.id}", data={
        "form": "reset", "reset-password": "a new long password", "reset-confirm": "different"})
    assert "The passwords do not match." in mismatch.get_data(as_text=True)
    response = client.post(f"/staff/admin/staff/{clinician.id}", data={
        "form": "reset", "reset-password": "a new long password", "reset-confirm": "a new long password"})
    assert response.status_code == 302
    fresh = app.test_client()
    assert fresh.post("/staff/login", data={"email": clinician.email, "password": clinician.password}).status_code == 401
    assert fresh.post("/staff/login", data={"email": clinician.email, "password": "a new long password"}).status_code == 302


def test_the_audit_log_lists_and_filters_events(client, make_staff, login):
    admin = make_staff("admin")
    client.post("/staff/login", data={"email": admin.email, "password": "wrong password!"})
    login(admin)
    page = client.get("/staff/admin/audit").get_data(as_text=True)
    assert "sign in failed" in page and "sign in" in page and admin.email in page
    filtered = client.get("/staff/admin/audit?action=sign_in_failed").get_data(as_text=True)
    assert "sign in failed" in filtered and f"{admin.email} (admin)</td>\n      <td>sign in</td>" not in filtered
    bad_date = client.get("/staff/admin/audit?since=2026-02-31")
    assert bad_date.status_code == 200 and "Use a real date" in bad_date.get_data(as_text=True)
    assert client.get("/staff/admin/audit?page=-5&action=nonsense").status_code == 200


def test_no_route_edits_or_deletes_the_audit_log(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


def test_the_database_refuses_to_change_audit_rows(db, make_staff):
    import pytest
    from booking.audit import record_event

    record_event(db.session, action="sign_in")
    db.session.commit()
    for statement in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DatabaseError):
            db.session.execute(sa.text(statement))
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 1


def test_create_staff_command(runner, app):
    result = runner.invoke(args=["create-staff", "Cli@Clinic.example", "--name", "Cli User", "--role", "receptionist"],
                           input="a good long password\na good long password\n")
    assert result.exit_code == 0, result.output
    assert "Created receptionist cli@clinic.example." in result.output
    duplicate = runner.invoke(args=["create-staff", "cli@clinic.example", "--name", "X", "--role", "admin",
                                    "--password-stdin"], input="another long password\n")
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    short = runner.invoke(args=["create-staff", "s@clinic.example", "--name", "S", "--role", "admin",
                                "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 12" in short.output


def test_seed_demo_loads_once(runner, app):
    first = runner.invoke(args=["seed-demo"])
    assert "Demo data loaded." in first.output and "dr.patel@clinic.example" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert "already loaded" in second.output
    from booking.extensions import db

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffUser)) == 4


def test_absurd_ids_and_pages_are_not_found_rather_than_errors(client, make_staff, login):
    login(make_staff("admin"))
    assert client.get("/staff/admin/staff/" + "9" * 30).status_code == 404
    assert client.get("/staff/admin/staff/0").status_code == 404
    assert client.get("/staff/admin/staff/999999999").status_code == 404
    assert client.get("/staff/admin/audit?page=" + "9" * 30).status_code == 200
