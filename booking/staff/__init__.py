"""Staff area: sign-in, the staff home page, staff administration and the audit log."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff", cli_group=None)

from booking.staff import account, admin, cli, views  # noqa: E402,F401
