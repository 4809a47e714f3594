"""`flask seed-demo`: a small clinic to click through. Loads once; a second run changes nothing."""

import click
from flask import current_app
from flask.cli import with_appcontext
import sqlalchemy as sa

from booking.extensions import db
from booking.intake.demo import seed_demo_intakes
from booking.models import StaffUser
from booking.staff.accounts import create_staff

# Demo sign-ins are printed by the command and listed in the README. Never use them in production.
DEMO_STAFF = [
    ("admin@clinic.example", "Alex Admin", "admin", "demo-admin-password"),
    ("reception@clinic.example", "Riley Reception", "receptionist", "demo-reception-password"),
    ("dr.patel@clinic.example", "Dr Priya Patel", "clinician", "demo-clinician-password"),
    ("dr.okafor@clinic.example", "Dr Samuel Okafor", "clinician", "demo-clinician-password"),
]

# Each feature that has demo data adds a function here: it takes (session, clinicians, now).
DEMO_EXTENSIONS = [seed_demo_intakes]


def staff_login_url(config):
    """The staff sign-in page on this installation's public address (PUBLIC_BASE_URL)."""
    return config["PUBLIC_BASE_URL"].rstrip("/") + "/staff/login"


def seed_demo(session, now):
    """Create the demo staff (and each feature's demo data). Returns False if already loaded."""
    if session.scalar(sa.select(sa.func.count()).select_from(StaffUser)):
        return False
    staff = [create_staff(session, email=email, name=name, role=role, password=password)
             for email, name, role, password in DEMO_STAFF]
    session.flush()
    clinicians = [user for user in staff if user.role == "clinician"]
    for extend in DEMO_EXTENSIONS:
        extend(session, clinicians, now)
    return True


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Load the demo clinic once, and print its sign-ins."""
    from booking.timeutil import utcnow

    if seed_demo(db.session, utcnow()):
        db.session.commit()
        click.echo("Demo data loaded.")
    else:
        click.echo("Demo data already loaded; nothing changed.")
    click.echo(f"Demo staff sign-ins ({staff_login_url(current_app.config)}):")
    for email, _name, role, password in DEMO_STAFF:
        click.echo(f"  {role:<13} {email:<28} {password}")
    click.echo("The admin and clinicians set up an authenticator app (QR code or key) at their first sign-in.")
