"""`flask rotate-search-key`: recompute every blind index under the configured PATIENT_SEARCH_KEY."""

import click
from flask import current_app

from booking.crypto import InvalidToken, cipher_for
from booking.extensions import db
from booking.patients import bp
from booking.patients.record import contact_of
from booking.patients.search import rebuild_all


@bp.cli.command("rotate-search-key")
def rotate_search_key_command():
    """Recompute the patient search indexes with the (new) PATIENT_SEARCH_KEY."""
    secret = cipher_for(current_app.config)
    try:
        count = rebuild_all(db.session, key=current_app.config["PATIENT_SEARCH_KEY"],
                            contact_of=lambda patient: contact_of(patient, secret))
    except InvalidToken as error:
        db.session.rollback()
        raise click.ClickException("A patient record could not be decrypted with any configured key; "
                                   "nothing was changed.") from error
    db.session.commit()
    click.echo(f"Recomputed the search index of {count} patient(s) under the current PATIENT_SEARCH_KEY.")
