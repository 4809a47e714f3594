"""Patients: one record per person (search, record page, merge, export, erase) under /staff/patients."""

from flask import Blueprint

bp = Blueprint("patients", __name__, url_prefix="/staff/patients", cli_group=None)

from booking.patients import cli, views  # noqa: E402,F401
