"""`flask waitlist offer`: offer free times (after new or extra hours) to waiting patients."""

import click
from flask import current_app

from booking.extensions import db
from booking.timeutil import utcnow
from booking.waitlist import bp, rules
from booking.waitlist.receivers import email_offers, rules_context


@bp.cli.group("waitlist")
def waitlist_group():
    """The waitlist."""


@waitlist_group.command("offer")
def offer_command():
    """Email free times to waiting patients who hold no open offer (run after changing hours, or from cron)."""
    now = utcnow()
    freed = rules.offer_open_times(db.session, rules_context(db.session, now),
                                   limit=int(current_app.config["WAITLIST_OFFERS_PER_TIME"]))
    email_offers(db.session, now, freed)
    db.session.commit()
    click.echo(f"Offered {len(freed)} time(s) to waiting patients.")
