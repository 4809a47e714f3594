"""`flask waitlist offer`: offer free times (after new or extra hours) to waiting patients."""

import click

from booking.extensions import db
from booking.timeutil import utcnow
from booking.waitlist import bp
from booking.waitlist.receivers import offer_open_times


@bp.cli.group("waitlist")
def waitlist_group():
    """The waitlist."""


@waitlist_group.command("offer")
def offer_command():
    """Email free times to waiting patients who hold no open offer (the hours page does this itself; also for cron)."""
    freed = offer_open_times(db.session, utcnow())
    db.session.commit()
    click.echo(f"Offered {len(freed)} time(s) to waiting patients.")
