"""Accounts: a new account defaults to the least privilege; admins correct names and emails, audited."""

import html
import re

import sqlalchemy as sa

from booking.models import StaffUser
from tests.staff_helpers import audit_rows


def test_a_new_accounts_role_defaults_to_receptionist(client, make_staff, login):
    login(make_staff("admin"))
    page = client.get("/staff/admin/staff").get_data(as_text=True)
    role_select = re.search(r'<select[^>]*name="role".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option selected value="([a-z]+)"', role_select) == ["receptionist"]


def test_an_admin_corrects_a_name_and_email_audited_without_the_values(client, db, make_staff, login):
    login(make_staff("admin"))
    person = make_staff("clinician", name="Dr Mispelt")
    response = client.post(f"/staff/admin/staff/{person.id}", data={
        "form": "edit", "edit-role": "clinician", "edit-active": "y", "edit-name": "Dr Misspelt",
        "edit-email": " Right.Address@Clinic.example "})
    assert response.status_code == 302
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "<h1>Dr Misspelt</h1>" in page and "right.address@clinic.example" in page
    db.session.expire_all()
    stored = db.session.get(StaffUser, person.id)
    assert (stored.name, stored.email, stored.active) == ("Dr Misspelt", "right.address@clinic.example", True)
    assert audit_rows(db.session, "change_staff")[-1].detail == "name corrected, email corrected"


def test_a_taken_email_is_refused_and_keeps_what_was_typed(client, db, make_staff, login):
    admin = make_staff("admin")
    login(admin)
    person = make_staff("receptionist", name="Rita Reception")
    response = client.post(f"/staff/admin/staff/{person.id}", data={
        "form": "edit", "edit-role": "receptionist", "edit-active": "y", "edit-name": "Rita Receptionist",
        "edit-email": admin.email})
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and "A staff account with that email already exists." in page
    assert 'value="Rita Receptionist"' in page
    db.session.expire_all()
    assert db.session.scalar(sa.select(StaffUser.name).where(StaffUser.id == person.id)) == "Rita Reception"
