"""Every staff URL, requested as each role, answers as this table says (deny by default)."""

import pytest
from flask import Blueprint

from booking.extensions import db
from booking.staff.access import staff_only
from tests.booking_factories import add_booking, add_clinician, utc
from tests.intake_factories import create_intake

ROLES = ("anonymous", "receptionist", "clinician", "admin")
LOGIN = "login"  # redirected to the sign-in page

# url -> expected answer for (anonymous, receptionist, clinician, admin).
# Every GET rule under /staff must be listed here: a new page fails the completeness test
# until its access is written down.
MATRIX = {
    "/staff/": (LOGIN, 200, 200, 200),
    "/staff/login": (200, 302, 302, 302),
    "/staff/login/code": (LOGIN, 302, 302, 302),  # only between password and code
    "/staff/login/enrol": (LOGIN, 302, 302, 302),
    "/staff/account/password": (LOGIN, 200, 200, 200),
    "/staff/account/sessions": (LOGIN, 200, 200, 200),
    "/staff/admin/staff": (LOGIN, 403, 403, 200),
    "/staff/admin/staff/{admin_id}": (LOGIN, 403, 403, 200),
    "/staff/admin/audit": (LOGIN, 403, 403, 200),
    "/staff/calendar": (LOGIN, 200, 200, 200),
    "/staff/calendar/export": (LOGIN, 200, 200, 200),  # a clinician exports only their own (tests/test_clinician_hours.py)
    "/staff/outbox": (LOGIN, 403, 403, 200),
    "/staff/intakes": (LOGIN, 200, 200, 200),
    "/staff/intakes/{intake_id}": (LOGIN, 403, 200, 200),
    "/staff/schedule": (LOGIN, 200, 200, 200),
    "/staff/schedule/export?from=2026-03-02&to=2026-03-08": (LOGIN, 200, 200, 200),
    "/staff/schedule/book": (LOGIN, 200, 200, 200),  # a clinician may book (even a patient waiting for clearance)
    "/staff/schedule/booking/{booking_id}": (LOGIN, 200, 404, 200),  # a clinician sees only their own
    "/staff/schedule/hours": (LOGIN, 200, 200, 200),  # a clinician sees and changes only their own time off
    "/staff/patients?q=jordan": (LOGIN, 200, 200, 200),
    "/staff/waitlist": (LOGIN, 200, 200, 200),  # clinicians may book too
    "/staff/patients/new": (LOGIN, 200, 403, 200),
    "/staff/patients/{patient_id}": (LOGIN, 200, 200, 200),
    "/staff/patients/{patient_id}/export": (LOGIN, 403, 403, 200),
    "/staff/patients/{patient_id}/export.json": (LOGIN, 403, 403, 200),
}

# Rule patterns (with converters) for the completeness check, mapped to the URL above.
RULES = {
    "/staff/": "/staff/",
    "/staff/login": "/staff/login",
    "/staff/login/code": "/staff/login/code",
    "/staff/login/enrol": "/staff/login/enrol",
    "/staff/account/password": "/staff/account/password",
    "/staff/account/sessions": "/staff/account/sessions",
    "/staff/admin/staff": "/staff/admin/staff",
    "/staff/admin/staff/<id:user_id>": "/staff/admin/staff/{admin_id}",
    "/staff/admin/audit": "/staff/admin/audit",
    "/staff/calendar": "/staff/calendar",
    "/staff/calendar/export": "/staff/calendar/export",
    "/staff/outbox": "/staff/outbox",
    "/staff/intakes": "/staff/intakes",
    "/staff/intakes/<id:intake_id>": "/staff/intakes/{intake_id}",
    "/staff/schedule": "/staff/schedule",
    "/staff/waitlist": "/staff/waitlist",
    "/staff/schedule/export": "/staff/schedule/export?from=2026-03-02&to=2026-03-08",
    "/staff/schedule/book": "/staff/schedule/book",
    "/staff/schedule/booking/<id:booking_id>": "/staff/schedule/booking/{booking_id}",
    "/staff/schedule/hours": "/staff/schedule/hours",
    "/staff/patients": "/staff/patients?q=jordan",
    "/staff/patients/new": "/staff/patients/new",
    "/staff/patients/<id:patient_id>": "/staff/patients/{patient_id}",
    "/staff/patients/<id:patient_id>/export": "/staff/patients/{patient_id}/export",
    "/staff/patients/<id:patient_id>/export.json": "/staff/patients/{patient_id}/export.json",
}


def answers_as(response, want):
    """True if `response` is what the table wants: LOGIN, ALLOWED (past the role check) or a status."""
    to_login = response.status_code == 302 and "/staff/login" in response.headers.get("Location", "")
    if want == LOGIN:
        return to_login
    if want == ALLOWED:
        return response.status_code != 403 and not to_login and response.status_code < 500
    return response.status_code == want


@pytest.fixture
def signed_in(app, make_staff, login):
    """A test client per role, signed in (or not)."""
    users = {role: make_staff(role) for role in ROLES[1:]}
    clients = {"anonymous": app.test_client()}
    for role, user in users.items():
        clients[role] = app.test_client()
        login(user, test_client=clients[role])
    return clients, users


def test_every_staff_page_answers_each_role_as_the_table_says(app, signed_in):
    with app.app_context():
        intake = create_intake(db.session, app.config)
        intake_id, patient_id = intake.id, intake.patient_id
        other_clinician = add_clinician(db.session)  # not the signed-in clinician
        booking_id, _token = add_booking(db.session, other_clinician, utc(2026, 3, 3, 15))
    clients, users = signed_in
    failures = []
    for template, expected in MATRIX.items():
        url = template.format(admin_id=users["admin"].id, intake_id=intake_id, booking_id=booking_id,
                              patient_id=patient_id)
        for role, want in zip(ROLES, expected):
            response = clients[role].get(url)
            if not answers_as(response, want):
                failures.append(f"{role} GET {url}: got {response.status_code}, want {want}")
    assert not failures, "\n".join(failures)


def test_the_table_lists_every_staff_page(app):
    rules = {rule.rule for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/staff") and "GET" in rule.methods}
    assert rules == set(RULES), "add the new staff pages to MATRIX and RULES"


def test_a_staff_view_that_declares_no_roles_is_refused(make_app, make_staff, login):
    undeclared = Blueprint("undeclared", __name__)

    @undeclared.get("/staff/forgotten")
    def forgotten():
        return "secret"

    @undeclared.get("/staff/declared")
    @staff_only("admin")
    def declared():
        return "fine"

    app = make_app()
    app.register_blueprint(undeclared)
    from tests.factories import create_staff_user
    from booking.extensions import db

    with app.app_context():
        admin = create_staff_user(db.session, "admin")
    client = app.test_client()
    login(admin, test_client=client)
    assert client.get("/staff/forgotten").status_code == 403
    assert client.get("/staff/declared").get_data(as_text=True) == "fine"


def test_staff_only_rejects_unknown_roles():
    with pytest.raises(ValueError):
        staff_only("superuser")
    with pytest.raises(ValueError):
        staff_only()


ALLOWED = "allowed"  # past the role check: anything but 403 or the sign-in page (a 400 for the empty form)
# POST url -> (anonymous, receptionist, clinician, admin). Sign-in and sign-out are open to all.
POST_MATRIX = {
    "/staff/account/password": (LOGIN, ALLOWED, ALLOWED, ALLOWED),
    "/staff/account/sessions": (LOGIN, ALLOWED, ALLOWED, ALLOWED),
    "/staff/admin/staff": (LOGIN, 403, 403, ALLOWED),
    "/staff/admin/staff/{receptionist_id}": (LOGIN, 403, 403, ALLOWED),
    "/staff/calendar/rotate": (LOGIN, 403, ALLOWED, ALLOWED),
    "/staff/intakes/{intake_id}/clear": (LOGIN, 403, ALLOWED, 403),
    "/staff/intakes/{intake_id}/decision": (LOGIN, 403, ALLOWED, 403),
    "/staff/outbox/999999/retry": (LOGIN, 403, 403, ALLOWED),
    "/staff/patients/new": (LOGIN, ALLOWED, 403, ALLOWED),
    "/staff/patients/{patient_id}/notes": (LOGIN, ALLOWED, ALLOWED, ALLOWED),
    "/staff/patients/{patient_id}/merge": (LOGIN, ALLOWED, 403, ALLOWED),
    "/staff/patients/{patient_id}/erase": (LOGIN, 403, 403, ALLOWED),
    # Clinicians may book by phone too, even a patient waiting for their clearance.
    "/staff/schedule/book": (LOGIN, ALLOWED, ALLOWED, ALLOWED),
    "/staff/schedule/book/now": (LOGIN, ALLOWED, ALLOWED, ALLOWED),  # a walk-in: clinicians may book, as by phone
    "/staff/schedule/booking/{booking_id}/cancel": (LOGIN, ALLOWED, 403, ALLOWED),
    "/staff/schedule/booking/{booking_id}/move": (LOGIN, ALLOWED, 403, ALLOWED),
    "/staff/schedule/booking/{booking_id}/status": (LOGIN, ALLOWED, 403, ALLOWED),
    # A clinician enters their own time off and blocks (another's: 403, tests/test_clinician_hours.py).
    "/staff/schedule/hours/blocks": (LOGIN, ALLOWED, ALLOWED, ALLOWED),
    "/staff/schedule/hours/blocks/999999/delete": (LOGIN, ALLOWED, ALLOWED, ALLOWED),
    "/staff/schedule/hours/exceptions": (LOGIN, ALLOWED, ALLOWED, ALLOWED),
    "/staff/schedule/hours/exceptions/999999/delete": (LOGIN, ALLOWED, ALLOWED, ALLOWED),
    "/staff/schedule/hours/profile": (LOGIN, ALLOWED, 403, ALLOWED),
    "/staff/schedule/hours/settings": (LOGIN, ALLOWED, 403, ALLOWED),
    "/staff/schedule/hours/weekly": (LOGIN, ALLOWED, 403, ALLOWED),
    "/staff/schedule/hours/weekly/999999/delete": (LOGIN, ALLOWED, 403, ALLOWED),
    "/staff/schedule/hours/weekly/999999": (LOGIN, ALLOWED, 403, ALLOWED),
}
# The sign-in steps (password, authenticator code, enrolment) and sign-out are open to all.
OPEN_POSTS = {"/staff/login", "/staff/login/code", "/staff/login/enrol", "/staff/logout"}
POST_RULES = {
    "/staff/account/password": "/staff/account/password",
    "/staff/account/sessions": "/staff/account/sessions",
    "/staff/admin/staff": "/staff/admin/staff",
    "/staff/admin/staff/<id:user_id>": "/staff/admin/staff/{receptionist_id}",
    "/staff/calendar/rotate": "/staff/calendar/rotate",
    "/staff/intakes/<id:intake_id>/clear": "/staff/intakes/{intake_id}/clear",
    "/staff/intakes/<id:intake_id>/decision": "/staff/intakes/{intake_id}/decision",
    "/staff/outbox/<id:message_id>/retry": "/staff/outbox/999999/retry",
    "/staff/patients/new": "/staff/patients/new",
    "/staff/patients/<id:patient_id>/notes": "/staff/patients/{patient_id}/notes",
    "/staff/patients/<id:patient_id>/merge": "/staff/patients/{patient_id}/merge",
    "/staff/patients/<id:patient_id>/erase": "/staff/patients/{patient_id}/erase",
    "/staff/schedule/book": "/staff/schedule/book",
    "/staff/schedule/book/now": "/staff/schedule/book/now",
    "/staff/schedule/booking/<id:booking_id>/cancel": "/staff/schedule/booking/{booking_id}/cancel",
    "/staff/schedule/booking/<id:booking_id>/move": "/staff/schedule/booking/{booking_id}/move",
    "/staff/schedule/booking/<id:booking_id>/status": "/staff/schedule/booking/{booking_id}/status",
    "/staff/schedule/hours/blocks": "/staff/schedule/hours/blocks",
    "/staff/schedule/hours/blocks/<id:block_id>/delete": "/staff/schedule/hours/blocks/999999/delete",
    "/staff/schedule/hours/exceptions": "/staff/schedule/hours/exceptions",
    "/staff/schedule/hours/exceptions/<id:exception_id>/delete": "/staff/schedule/hours/exceptions/999999/delete",
    "/staff/schedule/hours/profile": "/staff/schedule/hours/profile",
    "/staff/schedule/hours/settings": "/staff/schedule/hours/settings",
    "/staff/schedule/hours/weekly": "/staff/schedule/hours/weekly",
    "/staff/schedule/hours/weekly/<id:hours_id>/delete": "/staff/schedule/hours/weekly/999999/delete",
    "/staff/schedule/hours/weekly/<id:hours_id>": "/staff/schedule/hours/weekly/999999",
}


def empty_posts(app, signed_in):
    """(role, url, wanted answer, response) of an empty POST to every staff form in POST_MATRIX, as each role."""
    with app.app_context():
        intake = create_intake(db.session, app.config)
        intake_id, patient_id = intake.id, intake.patient_id
        booking_id, _token = add_booking(db.session, add_clinician(db.session), utc(2026, 3, 3, 15))
    clients, users = signed_in
    for template, expected in POST_MATRIX.items():
        url = template.format(receptionist_id=users["receptionist"].id, intake_id=intake_id, booking_id=booking_id,
                              patient_id=patient_id)
        for role, want in zip(ROLES, expected):
            yield role, url, want, clients[role].post(url, data={})


def test_every_staff_post_answers_each_role_as_the_table_says(app, signed_in):
    failures = [f"{role} POST {url}: got {response.status_code}, want {want}"
                for role, url, want, response in empty_posts(app, signed_in) if not answers_as(response, want)]
    assert not failures, "\n".join(failures)


def test_the_post_table_lists_every_staff_form(app):
    posts = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/staff") and "POST" in rule.methods}
    assert posts - OPEN_POSTS == set(POST_RULES), "add the new staff forms to POST_MATRIX and POST_RULES"
    assert set(POST_RULES.values()) == set(POST_MATRIX)


def test_no_staff_form_answers_a_post_with_a_page(app, signed_in):
    """Post-redirect-get everywhere: a staff POST that saved redirects, one that was refused says so (4xx).

    A 200 would be a page that a reload posts again (issue 11 point 3).
    """
    pages = [f"{role} POST {url}: {response.status_code}" for role, url, want, response in empty_posts(app, signed_in)
             if want == ALLOWED and not 300 <= response.status_code < 500]
    assert not pages, "\n".join(pages)
