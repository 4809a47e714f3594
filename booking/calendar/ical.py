"""Pure iCalendar serialisation (RFC 5545 / RFC 5546). No database, no Flask: explicit arguments only.

`build_invite` turns one booking's current state into an iTIP message: METHOD:REQUEST for a
new or moved booking, METHOD:CANCEL with STATUS:CANCELLED for a cancelled one, with the same
UID for the life of the booking and the booking's SEQUENCE (`draft_invite` writes all but the
UID, for a booking not yet written). Times are written in UTC, which
every client reads the same way across daylight-saving changes (no VTIMEZONE needed).
`build_feed` writes a subscribable calendar of many events quickly, without iTIP methods.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import icalendar

from booking.timeutil import as_utc

PRODID = "-//Open clinic booking//Calendar//EN"
_ZERO = timedelta(0)
CANCELLED = "cancelled"


@dataclass(frozen=True)
class Clinic:
    """What a calendar file says about the clinic (the organizer and the place)."""

    name: str
    domain: str
    email: str
    address: str
    phone: str = ""

    @classmethod
    def from_config(cls, config):
        """The clinic's details from an app's configuration mapping."""
        return cls(name=config["CLINIC_NAME"], domain=config["CLINIC_DOMAIN"], email=config["CLINIC_EMAIL"],
                   address=config["CLINIC_ADDRESS"], phone=config.get("CLINIC_PHONE", ""))


def booking_uid(booking_id, domain):
    """The UID of a booking's event, the same for its whole life."""
    return f"booking-{booking_id}@{domain}"


def invite_method(status):
    """The iTIP method for a booking in `status`: CANCEL once cancelled, else REQUEST."""
    return "CANCEL" if status == CANCELLED else "REQUEST"


def event_title(clinic):
    """An event title with no health information in it."""
    return f"Consultation at {clinic.name}"


@dataclass(frozen=True)
class InviteDraft:
    """An invite written but for its UID, which needs the booking's id: a new booking's invite is
    written before the booking's INSERT (outside SQLite's one write turn), and finished after it."""

    method: str
    before_uid: str
    after_uid: str
    domain: str

    def for_booking(self, booking_id):
        """The invite's text, with the UID of booking `booking_id`."""
        return f"{self.before_uid}{fold('UID:' + booking_uid(booking_id, self.domain))}\r\n{self.after_uid}"


def build_invite(*, booking_id, **fields):
    """Return (method, ics_text) for one booking (the fields of `draft_invite`). Raises ValueError
    for naive or reversed times."""
    draft = draft_invite(**fields)
    return draft.method, draft.for_booking(booking_id)


def draft_invite(*, sequence, status, starts_at, ends_at, now, clinic, attendee_email, attendee_name=None,
                 manage_link=None, alarm_minutes=60):
    """The iTIP message for one booking but for its UID (an InviteDraft). Raises ValueError for
    naive or reversed times.

    Written directly, as the feeds are (escaping and folding per RFC 5545 3.1 and 3.3.11, a
    parameter's value per RFC 5545 3.2 and RFC 6868): through icalendar's object model an invite
    cost about 1.1 ms, a fifteenth of a booking POST, which writes one. The tests parse it back
    with icalendar, compare it with the invite icalendar's object model builds for the same
    booking, and run libical's iTIP checker on it."""
    starts_at, ends_at = as_utc(starts_at), as_utc(ends_at)
    if ends_at <= starts_at:
        raise ValueError("an event must end after it starts")
    method = invite_method(status)
    # The patient chose this time, so they have accepted it; no reply is asked of them.
    attendee = (f";CN={param_value(attendee_name)}" if attendee_name else "") + (
        f";CUTYPE=INDIVIDUAL;PARTSTAT={'DECLINED' if method == 'CANCEL' else 'ACCEPTED'};ROLE=REQ-PARTICIPANT"
        f";RSVP=FALSE:mailto:{attendee_email}")
    before = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", f"METHOD:{method}",
              "BEGIN:VEVENT"]
    lines = [  # after the UID
        f"SEQUENCE:{int(sequence)}",
        f"DTSTAMP:{format_utc(as_utc(now))}",
        f"DTSTART:{format_utc(starts_at)}",
        f"DTEND:{format_utc(ends_at)}",
        _text_line("SUMMARY", event_title(clinic)),
        fold(f"DESCRIPTION:{escape_text(_invite_description(clinic, manage_link, method))}"),
        _text_line("LOCATION", clinic.address),
        "STATUS:CANCELLED" if method == "CANCEL" else "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
    ]
    if manage_link:
        lines.append(fold(f"URL:{manage_link}"))
    lines.append(fold(f"ORGANIZER;CN={param_value(clinic.name)}:mailto:{clinic.email}"))
    lines.append(fold("ATTENDEE" + attendee))
    # RFC 5546 allows no VALARM in a CANCEL: the event is going away.
    if method == "REQUEST" and alarm_minutes:
        lines += ["BEGIN:VALARM", "ACTION:DISPLAY", _text_line("DESCRIPTION", event_title(clinic)),
                  f"TRIGGER:-PT{int(alarm_minutes)}M", "END:VALARM"]
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return InviteDraft(method, "\r\n".join(before) + "\r\n", "\r\n".join(lines) + "\r\n", clinic.domain)


def invite_for(booking, *, config, now, contact, link=None):
    """(method, ics) for a booking object in its current state, with the clinic from `config` and
    the attendee from `contact` (the patient's decrypted details)."""
    draft = invite_draft_for(booking, config=config, now=now, contact=contact, link=link)
    return draft.method, draft.for_booking(booking.id)


def invite_draft_for(booking, *, config, now, contact, link=None):
    """The InviteDraft of a booking object (its id may not be known yet): as `invite_for`, but for the UID."""
    return draft_invite(sequence=booking.sequence, status=booking.status, starts_at=booking.starts_at,
                        ends_at=booking.ends_at, now=now, clinic=Clinic.from_config(config),
                        attendee_email=contact["email"], attendee_name=contact["name"], manage_link=link)


def _invite_description(clinic, manage_link, method):
    """The event's description: how to reach the clinic and change the booking, nothing clinical."""
    if method == "CANCEL":
        lines = [f"This consultation at {clinic.name} has been cancelled."]
    else:
        lines = [f"Your consultation at {clinic.name}.", f"Address: {clinic.address}"]
        if manage_link:
            lines.append(f"To cancel or reschedule: {manage_link}")
    if clinic.phone:
        lines.append(f"Questions: {clinic.phone}")
    return "\n".join(lines)


# --- Feeds -------------------------------------------------------------------------------
# A clinician's feed can hold thousands of events and is fetched every few minutes by
# calendar apps, so it is written directly (escaping and folding per RFC 5545 3.1 and
# 3.3.11) rather than through icalendar's object model; the tests parse it back with
# icalendar and run libical's checker on it.

@dataclass(frozen=True)
class FeedEvent:
    """One event of a feed."""

    uid: str
    sequence: int
    starts_at: object
    ends_at: object
    title: str
    description: str = ""
    location: str = ""
    status: str = "CONFIRMED"


_NEEDS_ESCAPE = re.compile(r"[\\;,\r\n]")


@lru_cache(maxsize=4096)
def escape_text(value):
    """Escape a TEXT value (RFC 5545 3.3.11). Cached: a feed repeats the same few strings."""
    if not _NEEDS_ESCAPE.search(value):
        return value
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


_PARAM_ESCAPES = {"^": "^^", "\r\n": "^n", "\n": "^n", "\r": "^n", '"': "^'"}
_PARAM_ESCAPE = re.compile(r'\^|\r\n|\n|\r|"')
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def param_value(value):
    """A parameter's value (a CN: a name) as a quoted string (RFC 5545 3.2): any value may be
    quoted, and inside quotes `,`, `;` and `:` need nothing more. The caret, the double quote and
    line breaks are written as RFC 6868 says (^^, ^' and ^n); other control characters, which
    no parameter may hold, are dropped."""
    return '"' + _PARAM_ESCAPE.sub(lambda found: _PARAM_ESCAPES[found.group()], _CONTROL.sub("", value)) + '"'


def fold(line):
    """Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 3.1)."""
    if line.isascii():  # a character is an octet: cut by position
        if len(line) <= 75:
            return line
        # Continuation lines start with a space, so they hold 74 octets of the line.
        return "\r\n ".join([line[:75], *(line[start:start + 74] for start in range(75, len(line), 74))])
    parts, current, size, limit = [], [], 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size, limit = [], 0, 74  # continuation lines start with a space
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def format_utc(moment):
    """An instant as an RFC 5545 UTC DATE-TIME, e.g. 20261203T150000Z."""
    if moment.utcoffset() != _ZERO:
        moment = as_utc(moment)
    # %-formatting of the fields is several times faster than strftime, and feeds format thousands.
    return "%04d%02d%02dT%02d%02d%02dZ" % (moment.year, moment.month, moment.day,
                                           moment.hour, moment.minute, moment.second)


@lru_cache(maxsize=4096)
def _text_line(name, value):
    """`NAME:value`, escaped and folded (cached for the strings a feed repeats)."""
    return fold(f"{name}:{escape_text(value)}")


@lru_cache(maxsize=16)
def vtimezone(zone, year):
    """The VTIMEZONE of the IANA `zone` for the years around `year` (its transitions, as libical reads them)."""
    from datetime import date

    component = icalendar.Timezone.from_tzid(zone, first_date=date(year - 1, 1, 1), last_date=date(year + 3, 1, 1))
    component.pop("COMMENT", None)  # libical's iTIP check allows no COMMENT in a VTIMEZONE
    return component.to_ical().decode().rstrip("\r\n")


def build_feed(events, *, name, now, zone, refresh_minutes=15):
    """Return the text of a subscribable calendar (no METHOD) holding `events`.

    The clinic zone's VTIMEZONE comes first: events are written in UTC, but RFC 5545 wants at
    least one component in a calendar, and an empty feed or export must still be one every
    reader accepts (ical.js, for one, refuses a VCALENDAR with none).
    """
    stamp = format_utc(now)
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
        fold(f"X-WR-CALNAME:{escape_text(name)}"),
        f"REFRESH-INTERVAL;VALUE=DURATION:PT{int(refresh_minutes)}M",
        f"X-PUBLISHED-TTL:PT{int(refresh_minutes)}M",
        vtimezone(zone, now.year),
    ]
    append = lines.append
    for event in events:
        append(f"BEGIN:VEVENT\r\n{fold('UID:' + event.uid)}\r\nSEQUENCE:{int(event.sequence)}\r\n"
               f"DTSTAMP:{stamp}\r\nDTSTART:{format_utc(event.starts_at)}\r\nDTEND:{format_utc(event.ends_at)}")
        append(_text_line("SUMMARY", event.title))
        if event.description:
            append(_text_line("DESCRIPTION", event.description))
        if event.location:
            append(_text_line("LOCATION", event.location))
        append(f"STATUS:{event.status}\r\nEND:VEVENT")
    append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"
