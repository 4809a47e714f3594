"""The calendar feature."""

from flask import Blueprint

bp = Blueprint("calendar", __name__, cli_group=None)
