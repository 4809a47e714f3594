"""The outbox feature: queued email, its sender (`flask outbox send`) and the admin status page."""

from flask import Blueprint

bp = Blueprint("outbox", __name__, cli_group=None)


@bp.record_once
def _connect_receivers(state):
    """Subscribe to booking and intake signals once an app registers the blueprint."""
    from booking.outbox import receivers

    receivers.connect()


from booking.outbox import cli, views  # noqa: E402,F401
