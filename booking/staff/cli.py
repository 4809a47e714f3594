"""`flask create-staff`: a thin command over accounts.create_staff."""

import sys

import click
from flask import current_app

from booking.extensions import db
from booking.models import ROLES
from booking.staff import bp
from booking.staff.accounts import PasswordPolicy, StaffError, create_staff


@bp.cli.command("create-staff")
@click.argument("email")
@click.option("--name", required=True, help="The person's full name.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="One role per account.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
def create_staff_command(email, name, role, password_stdin):
    """Create a staff account, asking for its password twice."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_staff(db.session, email=email, name=name, role=role, password=password,
                            policy=PasswordPolicy.from_config(current_app.config))
        db.session.commit()
    except StaffError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {user.role} {user.email}.")
    if user.role != "receptionist" or current_app.config["STAFF_TOTP_FOR_RECEPTIONISTS"]:
        click.echo("At the first sign-in they set up an authenticator app (a QR code is shown).")
