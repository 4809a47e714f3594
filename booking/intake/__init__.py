"""The patient intake: a multi-step health history, screening and clinician review."""

from flask import Blueprint

bp = Blueprint("intake", __name__, url_prefix="/intake", cli_group=None)

from booking.intake import booking_link, cli, views  # noqa: E402,F401
