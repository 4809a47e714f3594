"""The patient's session cookie: a cookie verified once is remembered, and still opens only what Flask would."""

import time

from flask import request

from booking.extensions import db as _db
from tests.booking_factories import add_intake

CHOOSE = "Choose a consultation time"
NO_INTAKE = "we ask you to fill in a short health questionnaire"


def booking_browser(app):
    """A test client holding a patient's booking session, and its cookie value."""
    with app.app_context():
        _intake, token = add_intake(_db.session, app.config)
    patient = app.test_client()
    patient.get(f"/book/start/{token}")
    return patient, patient.get_cookie("session").value


def test_a_remembered_cookie_is_refused_once_it_is_older_than_the_session_lifetime(app):
    patient, _cookie = booking_browser(app)
    assert CHOOSE in patient.get("/book/").get_data(as_text=True)  # verified and remembered
    lifetime = app.permanent_session_lifetime.total_seconds()
    interface = app.session_interface
    interface.clock = lambda: time.time() + lifetime - 60
    assert CHOOSE in patient.get("/book/").get_data(as_text=True)
    interface.clock = lambda: time.time() + lifetime + 60
    assert NO_INTAKE in patient.get("/book/").get_data(as_text=True)


def test_a_remembered_cookie_is_refused_after_the_key_changes_without_a_fallback(app):
    patient, _cookie = booking_browser(app)
    assert CHOOSE in patient.get("/book/").get_data(as_text=True)
    app.secret_key = "a-replacement-secret-key-0123456789-abcdefghijkl"
    assert NO_INTAKE in patient.get("/book/").get_data(as_text=True)


def test_a_forged_copy_of_a_remembered_cookie_opens_nothing(app):
    patient, cookie = booking_browser(app)
    assert CHOOSE in patient.get("/book/").get_data(as_text=True)
    forged = app.test_client()
    forged.set_cookie("session", cookie[:-4] + ("AAAA" if not cookie.endswith("AAAA") else "BBBB"))
    assert NO_INTAKE in forged.get("/book/").get_data(as_text=True)


def test_changing_a_list_inside_one_requests_session_leaves_the_next_request_its_own_copy(app):
    interface = app.session_interface
    cookie = interface.get_signing_serializer(app).dumps({"notes": ["first"]})

    def opened():
        with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
            return interface.open_session(app, request)

    opened()["notes"].append("changed in place")  # the second open is served from memory
    assert opened()["notes"] == ["first"]


def test_pages_that_read_the_session_tell_shared_caches_they_vary_by_cookie(app, client):
    # Guide pages may be kept by a shared cache (no `no-store`), and each holds the browser's own
    # CSRF token or flashed message: a cache must key them by cookie.
    assert "Cookie" in client.get("/guide/").headers.get("Vary", "")
    patient, _cookie = booking_browser(app)
    assert "Cookie" in patient.get("/book/").headers.get("Vary", "")
