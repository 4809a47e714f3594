"""The waitlist: patients join from the week page; freed times are offered by email; the desk books from it."""

from flask import Blueprint

bp = Blueprint("waitlist", __name__, cli_group=None)


@bp.record_once
def _connect_receivers(state):
    """Subscribe to booking signals once an app registers the blueprint."""
    from booking.waitlist import receivers

    receivers.connect()


from booking.waitlist import cli, views  # noqa: E402,F401
