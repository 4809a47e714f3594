"""Invites and feeds parse back with icalendar, carry the RFC 5545/5546 properties, and pass libical."""

import re
from datetime import datetime, timedelta, timezone

import icalendar
import pytest

from booking.calendar.ical import (PRODID, Clinic, FeedEvent, _invite_description, booking_uid, build_feed,
                                   build_invite, draft_invite, event_title, fold, invite_method)
from tests.libical import libical_problems

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
START = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
CLINIC = Clinic(name="Riverside Infusion Clinic", domain="clinic.example", email="hello@clinic.example",
                address="100 Main Street, Suite 2, Springfield", phone="(555) 010-0100")


def invite(status="booked", sequence=0, starts_at=START, **extra):
    """Build an invite with test defaults."""
    return build_invite(booking_id=42, sequence=sequence, status=status, starts_at=starts_at,
                        ends_at=starts_at + timedelta(minutes=30), now=NOW, clinic=CLINIC,
                        attendee_email="jordan@patient.example", attendee_name="Jordan Rivers",
                        manage_link="https://book.clinic.example/book/manage/tok", **extra)


def only_event(text):
    """Parse `text` and return (calendar, its single VEVENT)."""
    calendar = icalendar.Calendar.from_ical(text)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1
    return calendar, events[0]


def test_request_invite_has_every_property_a_client_needs():
    method, text = invite()
    calendar, event = only_event(text)
    assert method == "REQUEST" and calendar["METHOD"] == "REQUEST"
    assert str(calendar["VERSION"]) == "2.0" and calendar["PRODID"]
    assert str(event["UID"]) == "booking-42@clinic.example"
    assert event["SEQUENCE"] == 0
    assert event["DTSTAMP"].dt == NOW and event["DTSTAMP"].to_ical() == b"20261120T120000Z"
    assert event["DTSTART"].to_ical() == b"20261201T150000Z"
    assert event["DTEND"].dt == START + timedelta(minutes=30)
    assert str(event["ORGANIZER"]) == "mailto:hello@clinic.example"
    assert event["ORGANIZER"].params["CN"] == CLINIC.name
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:jordan@patient.example"
    assert attendee.params["PARTSTAT"] == "ACCEPTED" and attendee.params["RSVP"] == "FALSE"
    assert str(event["LOCATION"]) == CLINIC.address
    assert str(event["SUMMARY"]) == "Consultation at Riverside Infusion Clinic"
    assert "book/manage/tok" in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    alarms = event.walk("VALARM")
    assert len(alarms) == 1 and alarms[0]["TRIGGER"].dt == timedelta(hours=-1)


def test_cancel_invite_is_method_cancel_with_status_cancelled_and_no_alarm():
    method, text = invite(status="cancelled", sequence=1)
    calendar, event = only_event(text)
    assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == "booking-42@clinic.example" and event["SEQUENCE"] == 1
    assert event.walk("VALARM") == []


def test_no_health_words_in_title_or_description():
    _, text = invite()
    _, event = only_event(text)
    words = (str(event["SUMMARY"]) + str(event["DESCRIPTION"])).lower()
    for word in ("ketamine", "infusion therapy", "depression", "intake", "phq", "urgent"):
        assert word not in words


def test_naive_or_reversed_times_are_refused():
    with pytest.raises(ValueError):
        invite(starts_at=datetime(2026, 12, 1, 15, 0))
    with pytest.raises(ValueError):
        build_invite(booking_id=1, sequence=0, status="booked", starts_at=START, ends_at=START, now=NOW,
                     clinic=CLINIC, attendee_email="a@b.example")


def test_dst_change_day_is_written_in_utc():
    # 1 November 2026: New York falls back at 02:00. 9:00 local that morning is 14:00 UTC.
    _, text = invite(starts_at=datetime(2026, 11, 1, 14, 0, tzinfo=timezone.utc))
    _, event = only_event(text)
    assert event["DTSTART"].to_ical() == b"20261101T140000Z"


@pytest.mark.parametrize("status", ["booked", "cancelled"])
def test_libical_accepts_request_and_cancel(status):
    _, text = invite(status=status, sequence=3)
    assert libical_problems(text) == []


def test_libical_checker_catches_an_invite_without_organizer():
    # The design's "updates that duplicate" bug: an iTIP message without ORGANIZER.
    _, text = invite()
    broken = "\r\n".join(line for line in text.split("\r\n") if not line.startswith("ORGANIZER"))
    assert any("ORGANIZER" in line for line in libical_problems(broken))


def object_model_invite(*, booking_id, sequence, status, starts_at, ends_at, now, clinic, attendee_email,
                        attendee_name=None, manage_link=None, alarm_minutes=60):
    """The invite as icalendar's object model builds it (how build_invite wrote it until it wrote
    its lines directly): the reference the direct writer is compared with."""
    method = invite_method(status)
    calendar = icalendar.Calendar()
    for name, value in (("prodid", PRODID), ("version", "2.0"), ("calscale", "GREGORIAN"), ("method", method)):
        calendar.add(name, value)
    event = icalendar.Event()
    for name, value in (("uid", booking_uid(booking_id, clinic.domain)), ("sequence", sequence), ("dtstamp", now),
                        ("dtstart", starts_at), ("dtend", ends_at), ("summary", event_title(clinic)),
                        ("description", _invite_description(clinic, manage_link, method)),
                        ("location", clinic.address), ("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED"),
                        ("transp", "OPAQUE")):
        event.add(name, value)
    if manage_link:
        event.add("url", manage_link)
    organizer = icalendar.vCalAddress(f"mailto:{clinic.email}")
    organizer.params["CN"] = clinic.name
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{attendee_email}")
    if attendee_name:
        attendee.params["CN"] = attendee_name
    attendee.params.update(ROLE="REQ-PARTICIPANT", CUTYPE="INDIVIDUAL", RSVP="FALSE",
                           PARTSTAT="DECLINED" if method == "CANCEL" else "ACCEPTED")
    event.add("attendee", attendee)
    if method == "REQUEST" and alarm_minutes:
        alarm = icalendar.Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", event_title(clinic))
        alarm.add("trigger", timedelta(minutes=-alarm_minutes))
        event.add_component(alarm)
    calendar.add_component(event)
    return method, calendar.to_ical().decode("utf-8")


def parsed(text):
    """Each component of `text` as icalendar reads it: its name and its properties with their parameters."""
    return [(component.name, sorted((name, value.to_ical(), sorted(getattr(value, "params", {}).items()))
                                    for name, value in component.property_items(recursive=False)
                                    if name not in ("BEGIN", "END")))
            for component in icalendar.Calendar.from_ical(text).walk()]


AWKWARD_CLINIC = Clinic(name='Smith; Jones, "Care" ^ Clinic: Zoë Łódź ' * 3, domain="care.example",
                        email="desk@care.example", address="Unit 4; Mill Lane\nBack door, \\ yard", phone="")
AWKWARD_NAMES = ['Zoë "Jo" O\'Brien; Jr., x: y ^ z ' * 3, "Two\nlines\r\nand\ra tab\there"]


@pytest.mark.parametrize("clinic", [CLINIC, AWKWARD_CLINIC])
@pytest.mark.parametrize("name", [None, "Jordan Rivers", *AWKWARD_NAMES])
@pytest.mark.parametrize("status", ["booked", "cancelled"])
@pytest.mark.parametrize("link", [None, "https://book.clinic.example/book/manage/tok,en;x"])
def test_the_written_invite_reads_as_the_object_models_does(clinic, name, status, link):
    # Quoting, RFC 6868's escapes in a name, TEXT escaping and folding, and the alarm's trigger
    # all come back from the parser as they do from icalendar's own serialisation.
    booking = dict(booking_id=42, sequence=3, status=status, starts_at=START, ends_at=START + timedelta(minutes=45),
                   now=NOW, clinic=clinic, attendee_email="jordan@patient.example", attendee_name=name,
                   manage_link=link)
    method, text = build_invite(**booking)
    assert (method, parsed(text)) == (object_model_invite(**booking)[0], parsed(object_model_invite(**booking)[1]))
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


def test_a_control_character_in_a_name_never_reaches_the_invite():
    # No parameter value may hold one (RFC 5545 3.2); a line break becomes RFC 6868's ^n.
    _, text = build_invite(booking_id=7, sequence=1, status="booked", starts_at=START, ends_at=START + HOUR, now=NOW,
                           clinic=CLINIC, attendee_email="jordan@patient.example", attendee_name="Jo\x07\x1b\nRivers")
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)
    assert only_event(text)[1]["ATTENDEE"].params["CN"] == "Jo\nRivers"


@pytest.mark.parametrize("status", ["booked", "cancelled"])
def test_libical_accepts_an_invite_whose_names_need_quoting_and_escaping(status):
    _, text = build_invite(booking_id=7, sequence=1, status=status, starts_at=START, ends_at=START + HOUR, now=NOW,
                           clinic=AWKWARD_CLINIC, attendee_email="jordan@patient.example",
                           attendee_name=AWKWARD_NAMES[0] + AWKWARD_NAMES[1] + "\x07\x1b",
                           manage_link="https://x.example/a,b")
    assert libical_problems(text) == []


LONG_NAME = "Zoë O'Brien-Łukasiewicz; Jr., the \\ one with a very long name " * 2


def escaped_feed():
    """Three events whose titles and descriptions need escaping and folding, and the feed of them."""
    events = [FeedEvent(uid=f"booking-{n}@clinic.example", sequence=n, starts_at=START + timedelta(hours=n),
                        ends_at=START + timedelta(hours=n, minutes=30), title=f"Consultation: {LONG_NAME}",
                        description="Line one\nLine two, with; punctuation", location=CLINIC.address)
              for n in range(3)]
    return events, build_feed(events, name="Dr Patel · Riverside", now=NOW, zone="America/New_York")


def test_feed_round_trips_through_icalendar_with_escaping_and_folding():
    events, text = escaped_feed()
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    calendar = icalendar.Calendar.from_ical(text)
    parsed = calendar.walk("VEVENT")
    assert [str(e["UID"]) for e in parsed] == [e.uid for e in events]
    assert str(parsed[0]["SUMMARY"]) == f"Consultation: {LONG_NAME}"
    assert str(parsed[0]["DESCRIPTION"]) == "Line one\nLine two, with; punctuation"
    assert parsed[2]["SEQUENCE"] == 2 and parsed[2]["DTSTART"].dt == START + timedelta(hours=2)
    assert "METHOD" not in calendar


def test_libical_accepts_a_feed_with_escaping_and_folding():
    _events, text = escaped_feed()
    assert libical_problems(text) == []


def test_fold_never_splits_a_multibyte_character():
    line = "SUMMARY:" + "é" * 100
    folded = fold(line)
    assert folded.replace("\r\n ", "") == line
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))


@pytest.mark.parametrize("length", [75, 76, 149, 150, 223, 224, 1000])
def test_fold_fills_each_line_to_75_octets(length):
    for line in ("D" * length, "DESCRIPTION:" + "Caf\u00e9 " * length):
        line = line[:length]
        physical = fold(line).split("\r\n")
        assert "".join(part[1:] if index else part for index, part in enumerate(physical)) == line
        sizes = [len(part.encode()) for part in physical]
        assert all(size <= 75 for size in sizes)
        # Every line but the last is full, less at most the octets of one character cut off.
        assert all(size >= 75 - (0 if line.isascii() else 1) for size in sizes[:-1])
        assert all(part.startswith(" ") for part in physical[1:])


def test_an_empty_feed_is_still_a_calendar_with_the_clinics_zone():
    text = build_feed([], name="Dr Patel · Riverside", now=NOW, zone="America/New_York")
    calendar = icalendar.Calendar.from_ical(text)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    assert calendar.walk("VEVENT") == []


def test_libical_accepts_an_empty_feed():
    text = build_feed([], name="Dr Patel · Riverside", now=NOW, zone="America/New_York")
    assert libical_problems(text) == []  # the checker also refuses a VCALENDAR with no component


@pytest.mark.parametrize("booking_id", [7, 10 ** 12])
def test_an_invite_drafted_before_the_booking_has_an_id_is_finished_with_its_uid_folded(booking_id):
    # A new booking's invite is written before its INSERT and given its UID after it. A domain long
    # enough to fold the UID line shows the line is folded as written, not where the draft was cut.
    clinic = Clinic(name="Clinic", domain="appointments." + "very-long-subdomain-" * 3 + "clinic.example",
                    email="desk@clinic.example", address="1 Main Street")
    fields = dict(sequence=0, status="booked", starts_at=START, ends_at=START + HOUR, now=NOW, clinic=clinic,
                  attendee_email="jordan@patient.example", attendee_name="Jordan Rivers")
    text = draft_invite(**fields).for_booking(booking_id)
    assert parsed(text) == parsed(object_model_invite(booking_id=booking_id, **fields)[1])
    assert str(only_event(text)[1]["UID"]) == booking_uid(booking_id, clinic.domain)
    assert len(f"UID:{booking_uid(booking_id, clinic.domain)}") > 75
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert libical_problems(text) == []
