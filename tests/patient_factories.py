"""Test data for patients: records made through the record module (encrypted and indexed)."""

import itertools

import sqlalchemy as sa
from flask import current_app

from booking.crypto import cipher_for
from booking.models import Patient, PatientIndex
from booking.patients.record import create_patient
from booking.patients.search import index_rows
from booking.timeutil import utcnow

_counter = itertools.count(1)


def make_patient(session, name=None, email=None, phone=None, date_of_birth=None, config=None):
    """Add (and flush) a patient record; returns it. Needs an app context, or `config`."""
    config = config or current_app.config
    number = next(_counter)
    contact = {"name": name or f"Pat Person {number}", "email": email, "phone": phone, "date_of_birth": date_of_birth}
    return create_patient(session, contact, cipher=cipher_for(config), key=config["PATIENT_SEARCH_KEY"], now=utcnow())


def volume_contact(number):
    """The contact details of volume patient `number`: "Person<n> Family<n % 97>", p<n>@example.org..."""
    return {"name": f"Person{number} Family{number % 97}", "email": f"p{number}@example.org",
            "phone": f"555{number:07d}", "date_of_birth": f"19{50 + number % 50}-{1 + number % 12:02d}-{1 + number % 28:02d}"}


def insert_patients(session, config, count):
    """Commit `count` volume patients (ids 1..count) with their search index, in two bulk inserts of
    precomputed values (10,000 ORM round trips would take minutes)."""
    cipher, key, now = cipher_for(config), config["PATIENT_SEARCH_KEY"], utcnow()
    contacts = [volume_contact(number) for number in range(count)]
    session.execute(sa.insert(Patient), [{"id": n + 1, "contact_encrypted": cipher.encrypt(contact),
                                          "created_at": now, "updated_at": now} for n, contact in enumerate(contacts)])
    session.execute(sa.insert(PatientIndex), [row for n, contact in enumerate(contacts)
                                              for row in index_rows(key, n + 1, contact)])
    if session.get_bind().dialect.name == "postgresql":  # explicit ids leave the sequence behind
        session.execute(sa.text("SELECT setval('patient_id_seq', :last)"), {"last": count})
    session.commit()
