"""Email abuse closed and control characters refused (issue 10): one-line names, checked addresses,
booking and cancelling limited per address and per patient email, NUL bytes a 400 everywhere."""

import re
from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import Rules, free_slots
from booking.appointments.web import slot_value
from booking.extensions import db as _db
from booking.models import Booking, OutboxMessage, ScheduleException
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_booking, add_clinician, add_intake
from tests.intake_factories import form_data
from tests.outbox_helpers import recipient_of

EVERY_DAY = {day: [(time(9), time(12)), (time(13), time(17))] for day in range(7)}
CONTROL_PAGE = "held characters we cannot accept"


def open_slots(app, count, clinician):
    """`count` free start times with `clinician`, a few days ahead."""
    with app.app_context():
        today = utcnow().date()
        slots = free_slots(_db.session, today + timedelta(days=3), today + timedelta(days=9), ZONE, now=utcnow(),
                           rules=Rules(), clinician_ids=[clinician])
        return [slot.starts_at for slot in slots[:count]]


def patient(app, email="pat@example.org"):
    """A browser whose intake may book, and a clinician open every day."""
    with app.app_context():
        clinician = add_clinician(_db.session, hours=EVERY_DAY)
        _intake_id, token = add_intake(_db.session, app.config, contact={"name": "Pat", "email": email})
    client = app.test_client()
    assert client.get(f"/book/start/{token}").status_code == 302
    return client, clinician


def confirm(client, clinician, starts_at, environ=None, **fields):
    data = {"clinician": str(clinician), "start": slot_value(starts_at), "name": "Pat Example",
            "email": "pat@example.org", "phone": "555 0101", "tz": ""}
    return client.post("/book/confirm", data={**data, **fields}, environ_base=environ or {})


def bookings(app):
    with app.app_context():
        return _db.session.scalar(sa.select(sa.func.count()).select_from(Booking))


@pytest.mark.parametrize("name", ["Pat\r\nBcc: victim@example.org", "Pat\nExample", "Pat\u2028Example"])
def test_a_booking_name_is_one_line_with_a_message_on_the_field(app, name):
    client, clinician = patient(app)
    [starts_at] = open_slots(app, 1, clinician)
    response = confirm(client, clinician, starts_at, name=name)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(r'id="name-error"[^>]*>([^<]*)<', page)
    assert error and "one line" in error.group(1), page[page.find("error"):][:600]
    assert 'value="pat@example.org"' in page  # what was typed is kept
    assert bookings(app) == 0


def test_an_intake_name_is_one_line(app, client):
    client.post("/intake/start")
    response = client.post("/intake/step/1", data={**form_data("about"), "legal_name": "Jordan\r\nExample"})
    assert response.status_code == 422
    assert re.search(r'id="legal_name-error">[^<]*one line', response.get_data(as_text=True))


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "pat@example.org\r\nBcc: x@example.org", "@example.org"])
def test_the_booking_address_is_checked(app, email):
    client, clinician = patient(app)
    [starts_at] = open_slots(app, 1, clinician)
    response = confirm(client, clinician, starts_at, email=email)
    assert response.status_code == 400 and bookings(app) == 0
    with app.app_context():
        assert _db.session.scalars(sa.select(OutboxMessage)).all() == []


def test_booking_is_limited_per_client_address(make_app):
    app = make_app(BOOKING_ADDRESS_RATE_LIMIT="2 per hour")
    client, clinician = patient(app)
    slots = open_slots(app, 3, clinician)
    assert confirm(client, clinician, slots[0], name="").status_code == 400  # every attempt counts
    assert confirm(client, clinician, slots[0]).status_code == 302
    refused = confirm(client, clinician, slots[1], email="other@example.org")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60
    assert "Too many attempts" in refused.get_data(as_text=True)
    other, _ = patient(app, email="other@example.org")
    assert confirm(other, clinician, slots[2], email="other@example.org",
                   environ={"REMOTE_ADDR": "10.2.3.4"}).status_code == 302


def test_booking_and_cancelling_are_limited_per_patient_email(make_app):
    app = make_app(BOOKING_EMAIL_RATE_LIMIT="2 per day")
    client, clinician = patient(app)
    slots = open_slots(app, 2, clinician)
    booked = confirm(client, clinician, slots[0], email="Target@Example.org")
    token = booked.location.rsplit("/", 1)[1]
    assert client.post(f"/book/manage/{token}/cancel", data={"reason": ""}).status_code == 302
    # A third email to that address, from another browser and address, is refused.
    other, _ = patient(app, email="target@example.org")
    refused = confirm(other, clinician, slots[1], email="target@example.org", environ={"REMOTE_ADDR": "10.3.4.5"})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    with app.app_context():
        recipients = [recipient_of(row) for row in _db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind.like("booking_%")).order_by(OutboxMessage.id))]
    assert recipients == ["target@example.org", "target@example.org"]


def test_cancelling_is_limited_per_client_address(make_app):
    app = make_app(BOOKING_ADDRESS_RATE_LIMIT="2 per hour")
    with app.app_context():
        clinician = add_clinician(_db.session, hours=EVERY_DAY)
        tokens = [add_booking(_db.session, clinician, utcnow() + timedelta(days=5, hours=hour))[1]
                  for hour in range(3)]
    client = app.test_client()
    statuses = [client.post(f"/book/manage/{token}/cancel", data={"reason": ""}).status_code for token in tokens]
    assert statuses == [302, 302, 429]


def test_a_nul_byte_in_a_booking_name_or_a_cancel_reason_is_a_clear_400(app):
    client, clinician = patient(app)
    [starts_at] = open_slots(app, 1, clinician)
    response = confirm(client, clinician, starts_at, name="Pat\x00Example")
    assert response.status_code == 400 and CONTROL_PAGE in response.get_data(as_text=True)
    assert bookings(app) == 0
    token = confirm(client, clinician, starts_at).location.rsplit("/", 1)[1]
    response = client.post(f"/book/manage/{token}/cancel", data={"reason": "ill\x00"})
    assert response.status_code == 400 and CONTROL_PAGE in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalars(sa.select(Booking.status)).all() == ["booked"]


def test_a_nul_byte_in_an_exception_note_is_a_clear_400(app, client, make_staff, login):
    login(make_staff("admin"))
    day = (utcnow() + timedelta(days=10)).date().isoformat()
    response = client.post("/staff/schedule/hours/exceptions", data={
        "applies_to": "clinic", "kind": "closed", "first_day": day, "last_day": day, "note": "Holiday\x00"})
    assert response.status_code == 400 and CONTROL_PAGE in response.get_data(as_text=True)
    with app.app_context():
        assert _db.session.scalars(sa.select(ScheduleException)).all() == []


@pytest.mark.parametrize("request_args", [
    {"path": "/book/", "query_string": {"clinician": "1\x00"}},
    {"path": "/staff/login", "query_string": {"next": "/staff\r\n/x"}},
    {"path": "/guide/", "query_string": "q=a\x01b"},  # unescaped: the raw query string is checked
    {"path": "/guide/", "headers": {"X-Custom": "a\x01b"}},
    {"path": "/intake/resume/abc%00def"},
])
def test_control_characters_in_a_query_header_or_path_are_a_clear_400(client, request_args):
    response = client.get(**request_args)
    assert response.status_code == 400 and CONTROL_PAGE in response.get_data(as_text=True)


def test_newlines_and_tabs_in_long_text_are_fine(app):
    client, clinician = patient(app)
    [starts_at] = open_slots(app, 1, clinician)
    token = confirm(client, clinician, starts_at).location.rsplit("/", 1)[1]
    response = client.post(f"/book/manage/{token}/cancel", data={"reason": "Work\r\nclash\tsorry"})
    assert response.status_code == 302
    with app.app_context():
        assert _db.session.scalars(sa.select(Booking.cancel_reason)).one() == "Work\r\nclash\tsorry"
