"""Hours a receptionist can keep: edit in place, confirmed removal, holidays as dates, named bookings,
clinic-wide changes audited as clinic-wide."""

import html
import re
from datetime import time

import sqlalchemy as sa

from booking.models import OpeningHours, ScheduleException
from tests.staff_helpers import audit_rows
from tests.test_booking_staff import staff, text  # noqa: F401 (staff is a fixture)


def saturday_row(db, clinician_id):
    """The clinician's one Saturday interval (the fixture's clinicians work 09-12 and 13-17 every day)."""
    return db.session.scalars(sa.select(OpeningHours).where(OpeningHours.clinician_id == clinician_id,
                                                            OpeningHours.weekday == 5)
                              .order_by(OpeningHours.start_time)).first()


def test_weekly_hours_are_edited_in_place_and_a_refusal_keeps_the_typed_times(client, db, staff):
    row = saturday_row(db, staff["alice"])
    page = text(client.get(f"/staff/schedule/hours?clinician={staff['alice']}"))
    assert f'action="/staff/schedule/hours/weekly/{row.id}"' in page
    saved = client.post(f"/staff/schedule/hours/weekly/{row.id}", data={
        "clinician": staff["alice"], "edit_id": row.id, "start": "08:30", "end": "12:00"})
    assert saved.status_code == 302
    db.session.expire_all()
    assert (row.start_time, row.end_time) == (time(8, 30), time(12))
    refused = client.post(f"/staff/schedule/hours/weekly/{row.id}", data={
        "clinician": staff["alice"], "edit_id": row.id, "start": "08:30", "end": "13:30"})
    page = text(refused)
    assert refused.status_code == 400 and "That overlaps Saturday 13:00–17:00" in page
    assert re.search(rf'id="end-{row.id}"[^>]*value="13:30"', page)
    db.session.expire_all()
    assert row.end_time == time(12)


def test_removing_hours_or_an_exception_needs_the_confirmation_box(client, db, staff):
    row = saturday_row(db, staff["alice"])
    unconfirmed = client.post(f"/staff/schedule/hours/weekly/{row.id}/delete", data={"clinician": staff["alice"]})
    assert unconfirmed.status_code == 400 and 'tick "Yes, remove"' in text(unconfirmed)
    assert db.session.get(OpeningHours, row.id) is not None
    confirmed = client.post(f"/staff/schedule/hours/weekly/{row.id}/delete",
                            data={"clinician": staff["alice"], "confirm": "y"})
    assert confirmed.status_code == 302
    db.session.expire_all()
    assert db.session.get(OpeningHours, row.id) is None


def test_a_clinic_holiday_reads_as_a_date_and_is_audited_against_the_clinic(client, db, staff):
    client.post("/staff/schedule/hours/exceptions", data={
        "clinician": staff["alice"], "applies_to": "clinic", "kind": "closed", "first_day": "2030-12-06",
        "last_day": "2030-12-06", "note": "Staff day"})
    page = html.unescape(text(client.get(f"/staff/schedule/hours?clinician={staff['alice']}")))
    assert "<td>Friday 6 December</td><td>(that day)</td>" in page
    assert "12:00 AM" not in page
    [added] = [row for row in audit_rows(db.session, "change_settings") if "exception added" in row.detail]
    assert (added.target_type, added.target_id) == ("clinic", None)
    exception_id = db.session.scalars(sa.select(ScheduleException.id)).one()
    client.post(f"/staff/schedule/hours/exceptions/{exception_id}/delete",
                data={"clinician": staff["alice"], "confirm": "y"})
    removed = audit_rows(db.session, "change_settings")[-1]
    assert (removed.detail, removed.target_type) == ("schedule exception removed", "clinic")
