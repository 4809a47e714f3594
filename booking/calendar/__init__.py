"""The calendar feature: booking invites, clinician feeds and range exports."""

from flask import Blueprint

bp = Blueprint("calendar", __name__, cli_group=None)

from booking.calendar import views  # noqa: E402,F401
