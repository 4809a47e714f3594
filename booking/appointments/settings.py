"""Clinic booking settings: a one-row table edited by staff, defaults from configuration."""

from datetime import timedelta

from booking.appointments.availability import Rules
from booking.appointments.hours import opened
from booking.models import ClinicSettings

SETTINGS_ID = 1
LIMITS = {"min_notice_hours": (0, 720), "horizon_days": (1, 730), "cancel_cutoff_hours": (0, 720)}


class SettingsError(ValueError):
    """A setting out of range; the message is for the person editing."""


def defaults_from_config(config):
    """The settings configuration gives when staff have saved none."""
    return {"min_notice_hours": int(config.get("MIN_NOTICE_HOURS", 24)),
            "horizon_days": int(config.get("BOOKING_HORIZON_DAYS", 60)),
            "cancel_cutoff_hours": int(config.get("CANCEL_CUTOFF_HOURS", 24))}


def current_settings(session, config):
    """The saved settings, or the configured defaults, as a dict."""
    row = session.get(ClinicSettings, SETTINGS_ID)
    if row is None:
        return defaults_from_config(config)
    return {name: getattr(row, name) for name in LIMITS}


def rules_from(settings):
    """Rules for availability from a settings dict."""
    return Rules(min_notice=timedelta(hours=settings["min_notice_hours"]),
                 horizon=timedelta(days=settings["horizon_days"]),
                 cancel_cutoff=timedelta(hours=settings["cancel_cutoff_hours"]))


def load_rules(session, config):
    """The clinic's current Rules (one query)."""
    return rules_from(current_settings(session, config))


def save_settings(session, config, values, actor, *, now):
    """Store new settings (caller commits). Raises SettingsError for a value out of range.

    A longer horizon or a shorter notice opens times: the waitlist hears of it (hours.opened).
    """
    for name, (low, high) in LIMITS.items():
        value = values.get(name)
        if not isinstance(value, int) or not low <= value <= high:
            raise SettingsError(f"{name.replace('_', ' ').capitalize()} must be a whole number from {low} to {high}.")
    row = session.get(ClinicSettings, SETTINGS_ID)
    if row is None:
        row = ClinicSettings(id=SETTINGS_ID, **defaults_from_config(config))
        session.add(row)
    for name in LIMITS:
        setattr(row, name, values[name])
    row.updated_by_id = getattr(actor, "id", None)
    opened(session, now)
    return row
