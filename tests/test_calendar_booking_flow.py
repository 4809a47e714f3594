"""End to end with the booking pages: book, move, move, cancel -> emails, invites and the .ics link."""

from datetime import time, timedelta

import icalendar
import sqlalchemy as sa

from booking.appointments.availability import Rules, free_slots
from booking.appointments.web import slot_value
from booking.models import Booking, OutboxMessage
from booking.timeutil import utcnow
from tests.booking_factories import ZONE, add_clinician, add_intake
from tests.libical import libical_problems, require_libical
from tests.outbox_helpers import body_of, ics_of, recipient_of

EVERY_DAY = {day: [(time(9), time(17))] for day in range(7)}


def free(db, clinician_id):
    today = utcnow().date()
    return free_slots(db.session, today + timedelta(days=2), today + timedelta(days=14), ZONE, now=utcnow(),
                      rules=Rules(), clinician_ids=[clinician_id])


def patient_invites(db):
    """(kind, METHOD, UID, SEQUENCE) of every patient email, oldest first."""
    db.session.expire_all()
    rows = [row for row in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
            if recipient_of(row) == "pat@example.org"]
    found = []
    for row in rows:
        calendar = icalendar.Calendar.from_ical(ics_of(row))
        event = calendar.walk("VEVENT")[0]
        assert row.ics_method == str(calendar["METHOD"])
        found.append((row.kind, row.ics_method, str(event["UID"]), int(event["SEQUENCE"])))
    return found, rows


def book_through_the_pages(app, client, db):
    """Pat books the first free time from an intake's link; (manage page path, the free slots)."""
    clinician = add_clinician(db.session, name="Dr Alice Adams", hours=EVERY_DAY)
    _intake, intake_token = add_intake(db.session, app.config, contact={"name": "Pat Example",
                                                                        "email": "pat@example.org", "phone": "555"})
    assert client.get(f"/book/start/{intake_token}").status_code == 302
    slots = free(db, clinician)
    response = client.post("/book/confirm", data={"clinician": str(clinician), "start": slot_value(slots[0].starts_at),
                                                  "name": "Pat Example", "email": "pat@example.org",
                                                  "phone": "555 0101", "tz": ""})
    assert response.status_code == 302
    return response.headers["Location"], slots


def test_book_move_move_cancel_through_the_pages(app, client, db):
    manage_path, slots = book_through_the_pages(app, client, db)
    token = manage_path.rsplit("/", 1)[1]
    confirmation_page = client.get(manage_path).get_data(as_text=True)
    assert f"/book/manage/{token}/invite.ics" in confirmation_page  # "Add to calendar" is offered
    for index in (3, 6):
        moved = client.post(f"{manage_path}/reschedule", data={"start": slot_value(slots[index].starts_at)})
        assert moved.status_code == 302
    assert client.post(f"{manage_path}/cancel", data={"reason": "Work clash"}).status_code == 302

    invites, rows = patient_invites(db)
    booking = db.session.scalars(sa.select(Booking)).one()
    uid = f"booking-{booking.id}@clinic.example"
    assert [(kind, method, found_uid) for kind, method, found_uid, _ in invites] == [
        ("booking_confirmation", "REQUEST", uid), ("booking_change", "REQUEST", uid),
        ("booking_change", "REQUEST", uid), ("booking_cancellation", "CANCEL", uid)]
    assert [sequence for *_, sequence in invites] == [0, 1, 2, 3]
    assert token in body_of(rows[0])  # the confirmation carries the manage link
    assert "Work clash" not in "".join(body_of(row) for row in rows)  # the reason stays on the booking
    # The staff side heard about each change.
    staff_kinds = [row.kind for row in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
                   if recipient_of(row) != "pat@example.org"]
    assert list(staff_kinds) == ["staff_booking_changed"] * 4

    download = client.get(f"/book/manage/{token}/invite.ics")
    calendar = icalendar.Calendar.from_ical(download.get_data())
    assert calendar["METHOD"] == "CANCEL" and calendar.walk("VEVENT")[0]["SEQUENCE"] == 3


def test_libical_accepts_the_emailed_request_and_cancel(app, client, db):
    require_libical()  # before the set-up: a missing libical skips only this check
    manage_path, _slots = book_through_the_pages(app, client, db)
    assert client.post(f"{manage_path}/cancel", data={}).status_code == 302
    invites, rows = patient_invites(db)
    assert [method for _kind, method, *_ in invites] == ["REQUEST", "CANCEL"]
    for row in rows:
        assert libical_problems(ics_of(row)) == []
