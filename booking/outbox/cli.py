"""`flask outbox send [--loop]` and `flask send-reminders`: thin commands over tested functions."""

import click
from flask import current_app

from booking.calendar.ical import Clinic
from booking.crypto import cipher_for
from booking.extensions import db
from booking.outbox import bp
from booking.outbox.backends import backend_from_config
from booking.outbox.mime import from_address
from booking.outbox.sender import Envelope, SenderPolicy, run_loop, send_due
from booking.timeutil import utcnow


def sender_setup(app):
    """The backend, envelope and retry policy an app's settings describe."""
    config = app.config
    clinic = Clinic.from_config(config)
    envelope = Envelope(sender=from_address(clinic.name, clinic.email, config.get("MAIL_FROM")),
                        domain=clinic.domain, cipher=cipher_for(config))
    return backend_from_config(config, app.instance_path), envelope, SenderPolicy.from_config(config)


@bp.cli.group("outbox")
def outbox_group():
    """The email outbox."""


@outbox_group.command("send")
@click.option("--loop", is_flag=True, help="Keep running, sending due messages every --interval seconds.")
@click.option("--interval", default=10.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="Seconds between rounds (fractions allowed).")
def send_command(loop, interval):
    """Deliver every message that is due (retries included)."""
    backend, envelope, policy = sender_setup(current_app)
    if loop:
        click.echo(f"Sending through {backend.name} every {interval:g} s; Ctrl-C to stop.")
        try:
            run_loop(db.session, backend=backend, envelope=envelope, policy=policy, clock=utcnow, interval=interval)
        except KeyboardInterrupt:
            click.echo("Stopped.")
        return
    sent, failed = send_due(db.session, backend=backend, envelope=envelope, policy=policy, clock=utcnow)
    click.echo(f"Sent {sent} message(s) through {backend.name}; {failed} failed and will be retried or were given up.")


def where_mail_goes(backend):
    """One sentence saying where queued emails end up with these settings."""
    if backend.name == "smtp":
        target = f"by SMTP through {backend.host}:{backend.port}"
    else:
        target = f"as .eml files in {backend.directory} (set MAIL_SMTP_HOST to send real email)"
    return ("Emails wait in the database outbox until `flask --app booking outbox send` (or `outbox send --loop`) "
            f"delivers them {target}.")


@outbox_group.command("where")
def where_command():
    """Say where emails go with this installation's settings."""
    backend, _envelope, _policy = sender_setup(current_app)
    click.echo(where_mail_goes(backend))


@bp.cli.command("send-reminders")
def send_reminders_command():
    """Queue reminders for bookings starting within REMINDER_LEAD_HOURS (run from cron)."""
    from booking.outbox.reminders import queue_reminders

    queued = queue_reminders(db.session, now=utcnow(), lead_hours=current_app.config["REMINDER_LEAD_HOURS"],
                             config=current_app.config)
    click.echo(f"Queued {queued} reminder(s).")
