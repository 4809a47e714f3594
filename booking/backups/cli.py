"""`flask backup PATH` and `flask restore PATH`: thin commands over booking.backups.copies."""

import click
from flask import current_app
from flask.cli import with_appcontext

from booking.backups.copies import BackupError, backup, restore
from booking.crypto import cipher_for
from booking.extensions import db


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def backup_command(path):
    """Write a consistent copy of the whole database to PATH (a new file)."""
    try:
        backup(db.engine, path)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up the database to {path}. Keep instance/config.py (the encryption keys) with it.")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False))
@with_appcontext
def restore_command(path):
    """Load the backup at PATH into the configured, empty database."""
    try:
        checked = restore(db.engine, path, cipher_for(current_app.config))
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Restored {path}; the configured keys read all {checked} encrypted value(s). "
               "Run `flask db upgrade` if this code is newer than the backup.")
