"""Clearer booking pages (issue 12): zone names, who each first-available time is with, week
links, focus on errors, cancelling asks once more, the calendar update, honest 'emailed'."""

import re
from datetime import datetime, time, timedelta, timezone

import pytest
import sqlalchemy as sa

from booking.appointments.availability import clinic_day, local_instant, week_start
from booking.appointments.web import format_in_zone, slot_value
from booking.models import Booking, OutboxMessage, ScheduleException
from booking.timeutil import zone_label
from tests.booking_factories import ZONE, add_booking
from tests.test_booking_patient import booked, clinic, confirm, free, start  # noqa: F401  (clinic: a fixture)


@pytest.mark.parametrize("name, label", [
    ("America/New_York", "Eastern Time (New York)"),
    ("America/Los_Angeles", "Pacific Time (Los Angeles)"),
    ("America/Toronto", "Eastern Time (Toronto)"),
    ("Europe/London", "UK Time (London)"),
    ("Australia/Sydney", "Australian Eastern Time (Sydney)"),
    ("UTC", "UTC"),
    ("Europe/Paris", "Paris time"),
    ("America/Argentina/Buenos_Aires", "Buenos Aires time"),
    ("Etc/GMT+5", "Etc/GMT+5"),
])
def test_zone_label_names_zones_as_people_say_them(name, label):
    assert zone_label(name) == label


@pytest.mark.parametrize("moment, zone, text", [
    (datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc), "UTC", "Tuesday 1 December, 3:00 PM UTC"),
    # Both sides of daylight saving time: 3 PM in New York is 19:00 UTC in July, 20:00 UTC in December.
    (datetime(2026, 7, 1, 19, 0, tzinfo=timezone.utc), "America/New_York",
     "Wednesday 1 July, 3:00 PM Eastern Time (New York)"),
    (datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc), "America/New_York",
     "Tuesday 1 December, 3:00 PM Eastern Time (New York)"),
])
def test_a_time_in_a_zone_reads_plainly_never_utc_twice(moment, zone, text):
    assert format_in_zone(moment, zone) == text


def test_the_week_says_the_clinic_zone_by_its_friendly_name(client, db, clinic):
    start(client, clinic["token"])
    page = client.get("/book/").get_data(as_text=True)
    assert "Times are in the clinic's time zone: Eastern Time (New York)." in page
    assert "America/New York" not in page


def test_first_available_names_the_clinician_of_each_time_and_books_with_them(client, db, clinic):
    start(client, clinic["token"])
    slot = free(db, clinic["alice"])[0]
    add_booking(db.session, clinic["alice"], slot.starts_at)  # at this time only Bob is free
    page = client.get("/book/").get_data(as_text=True)
    link = re.search(rf'<a class="slot" data-slot="{slot_value(slot.starts_at)}" href="([^"]*)">([^<]*)'
                     r'<span class="slot-who"> · ([^<]*)</span>', page)
    assert link.group(3) == "Dr Bob Brown"
    assert f"clinician={clinic['bob']}" in link.group(1)
    confirm_page = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "<dt>Clinician</dt><dd>Dr Bob Brown</dd>" in confirm_page
    one_clinician = client.get(f"/book/?clinician={clinic['alice']}").get_data(as_text=True)
    assert 'class="slot-who"' not in one_clinician  # the name is said once, in the filter


def test_week_links_skip_weeks_without_a_free_time_and_repeat_at_the_bottom(client, db, clinic):
    start(client, clinic["token"])
    # The week of the first free time: it has a time (late on a Saturday, the current week may not),
    # and no earlier week does.
    first = week_start(clinic_day(free(db, days=(0, 14))[0].starts_at, ZONE))
    closed = first + timedelta(days=7)
    db.session.add(ScheduleException(kind="closed", starts_at=local_instant(closed, time(0), ZONE),
                                     ends_at=local_instant(closed + timedelta(days=7), time(0), ZONE), note="Away"))
    db.session.commit()
    page = client.get(f"/book/?week={first.isoformat()}").get_data(as_text=True)
    after = closed + timedelta(days=7)
    links = re.findall(r'href="[^"]*week=([0-9-]+)">([^<]*)</a>', page)
    assert {target for target, _words in links} == {after.isoformat()}  # never the closed week
    assert len(links) == 2 and page.count('<nav class="week-nav') == 2  # top and bottom
    assert f"Week of {after.strftime('%-d %B')}" in links[0][1]  # not called "Next week": it is not
    back = client.get(f"/book/?week={after.isoformat()}").get_data(as_text=True)
    assert re.search(rf'week={first.isoformat()}">&larr; Week of', back)


def test_a_failed_submit_puts_focus_on_the_error_summary(client, db, clinic):
    start(client, clinic["token"])
    slot = free(db, clinic["alice"])[0]
    page = confirm(client, clinic["alice"], slot.starts_at, name="").get_data(as_text=True)
    assert re.search(r'<div class="error-summary"[^>]*id="error-summary" autofocus>', page)


def test_cancelling_asks_once_more_on_a_page_that_needs_no_javascript(client, db, clinic):
    token, _slot = booked(client, db, clinic)
    manage = client.get(f"/book/manage/{token}").get_data(as_text=True)
    assert f'action="/book/manage/{token}/cancel"' not in manage  # no one-click cancel on this page
    assert f'href="/book/manage/{token}/cancel"' in manage
    question = client.get(f"/book/manage/{token}/cancel")
    page = question.get_data(as_text=True)
    assert question.status_code == 200 and "<h1>Cancel your booking?</h1>" in page
    assert "Yes, cancel my booking" in page and f'href="/book/manage/{token}">No, keep my booking' in page
    assert db.session.scalars(sa.select(Booking)).one().status == "booked"  # asking changed nothing
    assert client.post(f"/book/manage/{token}/cancel", data={}).status_code == 302
    db.session.expire_all()
    assert db.session.scalars(sa.select(Booking)).one().status == "cancelled"


def test_a_cancelled_booking_offers_the_calendar_update(client, db, clinic):
    token, _slot = booked(client, db, clinic)
    client.post(f"/book/manage/{token}/cancel", data={})
    page = client.get(f"/book/manage/{token}").get_data(as_text=True)
    href = re.search(r'<a class="button button--secondary" href="([^"]*)" id="calendar-update">', page).group(1)
    assert "METHOD:CANCEL" in client.get(href).get_data(as_text=True)


def test_emailed_is_said_only_when_a_confirmation_is_queued(client, db, clinic):
    token, _slot = booked(client, db, clinic)
    page = client.get(f"/book/manage/{token}").get_data(as_text=True)
    assert "Your booking is confirmed" in page
    assert re.search(r'id="emailed">[^<]*on its way to pat@example.org', page)


def test_no_emailed_words_when_no_confirmation_was_queued(client, db, clinic):
    start(client, clinic["token"])
    slot = free(db, clinic["alice"])[0]
    response = confirm(client, clinic["alice"], slot.starts_at)
    db.session.execute(sa.delete(OutboxMessage))  # as if no message had been queued
    db.session.commit()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your booking is confirmed" in page and 'id="emailed"' not in page and "emailed" not in page


def test_a_failed_confirmation_email_is_not_called_sent(client, db, clinic):
    start(client, clinic["token"])
    slot = free(db, clinic["alice"])[0]
    response = confirm(client, clinic["alice"], slot.starts_at)
    db.session.execute(sa.update(OutboxMessage).values(status="failed"))
    db.session.commit()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="emailed"' not in page
