"""The staff schedule: day and week views, phone bookings, arrivals, moves, CSV export, hours."""

from flask import Blueprint

bp = Blueprint("schedule", __name__, url_prefix="/staff/schedule", cli_group=None)

from booking.schedule import bookings, hours, views  # noqa: E402,F401
