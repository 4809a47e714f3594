"""The outbox feature."""

from flask import Blueprint

bp = Blueprint("outbox", __name__, cli_group=None)
