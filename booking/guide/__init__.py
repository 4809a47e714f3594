"""The public guide to the therapy: the first step of every patient's journey."""

from flask import Blueprint

bp = Blueprint("guide", __name__)

from booking.guide import views  # noqa: E402,F401
