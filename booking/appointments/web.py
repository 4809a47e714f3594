"""Helpers shared by the patient and staff booking views: context, time parsing, display."""

import re
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, url_for

from booking.appointments import bookings, statuses
from booking.appointments.bookings import Context
from booking.appointments.settings import load_rules
from booking.extensions import db
from booking.timeutil import clock_label, to_zone, utcnow, zone_label

SLOT_FORMAT = "%Y-%m-%dT%H:%MZ"  # how a slot's start travels in links and forms: UTC, to the minute
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")


def booking_context(now=None, rules=None, plans=None, clinicians=None):
    """The rules Context for this request: now, the clinic's zone and its current rules (given or
    read); `plans` (a week_cache.plan_source) to check a time against cached hours, and
    `clinicians` (a plan Snapshot's) to name a new booking's clinician without a read."""
    return Context(now=now or utcnow(), zone=current_app.config["CLINIC_TIMEZONE"],
                   rules=rules or load_rules(db.session, current_app.config), plans=plans, clinicians=clinicians)


def slot_value(moment):
    """A slot's start as it travels in a URL or form."""
    utc = moment.astimezone(timezone.utc)  # by hand: strftime is slow, and this runs for every slot shown
    return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}Z"


def parse_slot(text):
    """The aware UTC instant in `text`, or None if it is not exactly our format."""
    try:
        return datetime.strptime((text or "")[:40], SLOT_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        return None


@lru_cache(maxsize=512)
def valid_zone(name):
    """`name` if it is an IANA zone this server knows, else None."""
    if not name or len(name) > 64 or not _ZONE_NAME.match(name):
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def patient_zone(name):
    """The patient's zone if valid and different from the clinic's, else None."""
    name = valid_zone(name)
    return name if name and name != current_app.config["CLINIC_TIMEZONE"] else None


def format_in_zone(moment, zone_name, pattern="%A %-d %B, %-I:%M %p"):
    """An instant as wall-clock time in `zone_name`, with the zone's friendly name ("Eastern Time (New York)")."""
    if moment is None or not zone_name:
        return ""
    return f"{to_zone(moment, zone_name).strftime(pattern)} {zone_label(zone_name)}"


def clock(moment, zone_name=None):
    """Just the wall-clock time (e.g. '9:30 AM'; '1:30 AM EST' on a day the clocks change) in the clinic's
    or the given zone."""
    return clock_label(moment, zone_name or current_app.config["CLINIC_TIMEZONE"])


def manage_link(token):
    """The absolute private manage link for emails and signals."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("appointments.manage", token=token)


def calendar_link(token):
    """The calendar feature's .ics link for this booking, if that feature is installed."""
    if "calendar.booking_ics" in current_app.view_functions:
        return url_for("calendar.booking_ics", token=token)
    return None


def init_filters(state):
    """Register the booking template filters on the app (a blueprint record callback)."""
    state.app.add_template_filter(format_in_zone, "in_zone")
    state.app.add_template_filter(clock, "clock")
    state.app.add_template_filter(slot_value, "slot_value")
    # Templates ask the rules module, never re-derive a rule.
    state.app.add_template_global(staff_status_changes, "status_changes")
    state.app.add_template_global(status_action_label, "status_action_label")
    state.app.add_template_global(patient_actions, "patient_actions")
    state.app.add_template_global(bookings.may_change, "may_change")


def staff_status_changes(booking):
    """statuses.status_changes for this request: the status buttons staff get for `booking` now."""
    # Only now and the zone matter here: not reading the clinic's rules keeps the day list one query.
    return statuses.status_changes(booking, Context(now=utcnow(), zone=current_app.config["CLINIC_TIMEZONE"],
                                                    rules=None))


def status_action_label(booking, action):
    """The words of a status button: "Mark arrived", or "Undo arrived" for statuses.UNDO."""
    if action == statuses.UNDO:
        return f"Undo {bookings.STATUS_LABELS[booking.status].lower()}"
    return f"Mark {bookings.STATUS_LABELS[action].lower()}"


def patient_actions(booking, ctx=None):
    """bookings.patient_actions for this request: what the manage page offers the patient."""
    return bookings.patient_actions(db.session, booking, ctx or booking_context())
