"""Clinician review of intakes: the queue at /staff/intakes, the detail page, decisions, clearing."""

from flask import Blueprint

bp = Blueprint("intake_review", __name__, url_prefix="/staff/intakes")

from booking.intake_review import views  # noqa: E402,F401
