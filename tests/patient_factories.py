"""Test data for patients: records made through the record module (encrypted and indexed)."""

import itertools

from flask import current_app

from booking.crypto import cipher_for
from booking.patients.record import create_patient
from booking.timeutil import utcnow

_counter = itertools.count(1)


def make_patient(session, name=None, email=None, phone=None, date_of_birth=None, config=None):
    """Add (and flush) a patient record; returns it. Needs an app context, or `config`."""
    config = config or current_app.config
    number = next(_counter)
    contact = {"name": name or f"Pat Person {number}", "email": email, "phone": phone, "date_of_birth": date_of_birth}
    return create_patient(session, contact, cipher=cipher_for(config), key=config["PATIENT_SEARCH_KEY"], now=utcnow())
