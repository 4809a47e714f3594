"""`flask purge-drafts` and `flask rotate-intake-key`: thin commands over booking.intake.maintenance."""

import click
from flask import current_app

from booking.crypto import InvalidToken, cipher_for
from booking.extensions import db
from booking.intake import bp
from booking.intake.maintenance import purge_drafts, rotate_intake_keys, rotate_patient_keys
from booking.outbox.sender import rotate_waiting_messages
from booking.timeutil import utcnow


@bp.cli.command("purge-drafts")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Age in days of the last save (default: INTAKE_DRAFT_DAYS).")
def purge_drafts_command(days):
    """Delete unfinished intakes untouched for INTAKE_DRAFT_DAYS days (never an unseen urgent one)."""
    days = days or current_app.config["INTAKE_DRAFT_DAYS"]
    count = purge_drafts(db.session, now=utcnow(), days=days)
    db.session.commit()
    click.echo(f"Deleted {count} draft intake(s) untouched for {days} days or more.")


@bp.cli.command("rotate-intake-key")
def rotate_intake_key_command():
    """Re-encrypt every intake, and every email still waiting in the outbox, under the first key."""
    cipher = cipher_for(current_app.config)
    try:
        count = rotate_intake_keys(db.session, cipher)
        waiting = rotate_waiting_messages(db.session, cipher)
        rotate_patient_keys(db.session, cipher)
    except InvalidToken as error:
        db.session.rollback()
        raise click.ClickException("An intake or a waiting email could not be decrypted with any configured key; nothing was "
                                   "changed. Keep every old key in INTAKE_ENCRYPTION_KEYS until rotation "
                                   "finishes.") from error
    db.session.commit()
    click.echo(f"Re-encrypted {count} intake(s) and {waiting} waiting email(s) under the first key. "
               "Old keys can now be removed.")
