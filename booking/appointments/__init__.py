"""The appointments feature."""

from flask import Blueprint

bp = Blueprint("appointments", __name__, cli_group=None)
