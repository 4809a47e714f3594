"""The confirm page checks a time against hours, exceptions, rules and clinicians cached by the
plan version: a stream of bookings keeps them cached, and any change to them is seen at once."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_midnight
from booking.appointments.web import parse_slot
from booking.extensions import db as _db
from booking.models import ClinicianProfile, ClinicSettings, OutboxMessage, ScheduleException, StaffUser
from tests.booking_factories import ZONE, add_clinician, add_intake, first_free_time_fields
from tests.outbox_helpers import recipient_of
from tests.test_booking_queries import EVERY_DAY, counted

# What a booking is checked against besides the day's bookings: read once per plan version.
PLAN_TABLES = ("FROM clinic_settings", "FROM clinician_profile", "FROM opening_hours", "FROM recurring_block",
               "FROM schedule_exception")


def patients_of_one_clinician(app, count):
    """`count` browsers whose patients may book, all with one clinician open every day; and the clinician's id."""
    with app.app_context():
        clinician_id = add_clinician(_db.session, hours=EVERY_DAY)
        tokens = [add_intake(_db.session, app.config)[1] for _ in range(count)]
    browsers = []
    for token in tokens:
        browser = app.test_client()
        browser.get(f"/book/start/{token}")
        browsers.append(browser)
    return clinician_id, browsers


def confirm(browser, fields, name="Sam Example"):
    """POST the confirm form with `fields` (its hidden fields); the response."""
    return browser.post("/book/confirm", data={**fields, "name": name, "email": "sam@example.org"})


def test_a_second_booking_in_the_week_reads_only_the_days_bookings(app):
    _clinician, (first, second) = patients_of_one_clinician(app, 2)
    assert confirm(first, first_free_time_fields(first)).status_code == 302
    fields = first_free_time_fields(second)
    with app.app_context():
        engine = _db.engine
    with counted(engine) as statements:
        assert confirm(second, fields).status_code == 302
    assert [s for s in statements if any(table in s for table in PLAN_TABLES)] == []
    # The patient's own booking, if any: whether the time is free is the overlap guard's to say.
    assert sum("FROM booking" in s for s in statements) == 1
    # The clinician's name and address, for the note to them, come with the cached plan too.
    assert [s for s in statements if "FROM staff_user" in s] == []


def closed_day(starts_at):
    """The whole clinic closed on the clinic day holding `starts_at`."""
    day = clinic_day(starts_at, ZONE)
    return ScheduleException(clinician_id=None, kind="closed", starts_at=local_midnight(day, ZONE),
                             ends_at=local_midnight(day + timedelta(days=1), ZONE), note="Staff training")


@pytest.mark.parametrize("change, words", [
    ("closed", "The clinic is closed that day (Staff training)."),
    ("no bookings", "That time or clinician is not one we offer."),
    ("notice", "Online bookings need at least 700 hours' notice."),
])
def test_a_change_made_after_the_plan_was_cached_is_seen_by_the_next_booking(app, change, words):
    clinician_id, (first, second) = patients_of_one_clinician(app, 2)
    fields = first_free_time_fields(second)
    assert confirm(first, first_free_time_fields(first)).status_code == 302  # the week's plan is cached now
    starts_at = parse_slot(fields["start"])
    with app.app_context():
        if change == "closed":
            _db.session.add(closed_day(starts_at))
        elif change == "no bookings":
            _db.session.get(ClinicianProfile, clinician_id).accepts_bookings = False
        else:
            settings = _db.session.get(ClinicSettings, 1) or ClinicSettings(id=1)
            _db.session.add(settings)
            settings.min_notice_hours, settings.horizon_days, settings.cancel_cutoff_hours = 700, 365, 24
        _db.session.commit()
    response = confirm(second, fields)
    assert response.status_code == 400
    assert words in response.get_data(as_text=True).replace("&#39;", "'")


def test_a_time_freed_after_the_plan_was_cached_can_be_booked_again(app):
    # Each check adds the day's bookings to its own copy of the cached plan: a cancelled booking
    # (which leaves the plan version alone) holds nothing afterwards.
    _clinician, (first, second) = patients_of_one_clinician(app, 2)
    fields = first_free_time_fields(first)
    booked = confirm(first, fields)
    assert booked.status_code == 302
    token = booked.location.rsplit("/", 1)[1]
    assert confirm(second, fields).status_code == 409  # taken, as the day's bookings say
    assert first.post(f"/book/manage/{token}/cancel", data={"reason": ""}).status_code == 302
    assert confirm(second, fields).status_code == 302


def test_a_clinicians_address_corrected_after_the_plan_was_cached_gets_the_next_note(app, make_staff, login):
    desk = app.test_client()
    login(make_staff("admin"), test_client=desk)  # first: a new account changes the plan version too
    clinician_id, (first, second) = patients_of_one_clinician(app, 2)
    assert confirm(first, first_free_time_fields(first)).status_code == 302  # the plan and the address are cached
    with app.app_context():
        clinician = _db.session.get(StaffUser, clinician_id)
        name, old_address = clinician.name, clinician.email
    corrected = desk.post(f"/staff/admin/staff/{clinician_id}", data={
        "form": "edit", "edit-role": "clinician", "edit-active": "y", "edit-name": name,
        "edit-email": "new.address@clinic.example"})
    assert corrected.status_code == 302
    assert confirm(second, first_free_time_fields(second)).status_code == 302
    with app.app_context():
        notes = _db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "staff_booking_changed")
                                    .order_by(OutboxMessage.id)).all()
        assert [recipient_of(row) for row in notes] == [old_address, "new.address@clinic.example"]
