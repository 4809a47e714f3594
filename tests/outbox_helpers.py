"""Helpers for outbox tests: fake backends and a sender set up like the CLI's."""

import re
import threading
from contextlib import nullcontext
from datetime import datetime, timezone

import sqlalchemy as sa

from booking.crypto import Cipher
from booking.extensions import db
from booking.models import OutboxMessage
from booking.outbox.backends import FolderBackend
from booking.outbox.sender import Envelope, SenderPolicy, open_message, queue_email
from tests.conftest import TEST_INTAKE_KEY

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
CIPHER = Cipher([TEST_INTAKE_KEY])
ENVELOPE = Envelope(sender="Riverside Infusion Clinic <hello@clinic.example>", domain="clinic.example",
                    cipher=CIPHER)


def recipient_of(row):
    """The address an outbox row goes to, decrypted with the test key."""
    return CIPHER.decrypt(row.recipient)


def body_of(row):
    """The words of an outbox row, decrypted with the test key ("" once delivered)."""
    return open_message(row, CIPHER)[0]


def emailed_path(app, kind, pattern):
    """The first match of `pattern` (a link's path) in the latest email of `kind`, or None."""
    with app.app_context():
        row = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)
                                 .order_by(OutboxMessage.id.desc())).first()
        found = re.search(pattern, body_of(row)) if row is not None else None
        return found.group(0) if found else None


def ics_of(row):
    """The invite of an outbox row, decrypted with the test key (None if it has none)."""
    return open_message(row, CIPHER)[1]


class RecordingBackend:
    """Records each delivery; fails the first `failures` attempts with `error`."""

    name = "recording"

    def __init__(self, failures=0, error=None):
        self.failures = failures
        self.error = error or ConnectionRefusedError("connection refused")
        self.delivered = []
        self.attempts = 0
        self._lock = threading.Lock()

    def batch(self):
        return nullcontext(self)

    def send(self, message, outbox_id):
        with self._lock:
            self.attempts += 1
            if self.attempts <= self.failures:
                raise self.error
            self.delivered.append((outbox_id, message))


def queue(session, count=1, **fields):
    """Queue `count` plain messages at NOW and commit; returns their ids."""
    ids = []
    for number in range(count):
        values = {"kind": "booking_reminder", "recipient": f"patient{number}@patient.example",
                  "subject": "Reminder", "body": "Hello", "now": NOW, "cipher": CIPHER}
        values.update(fields)
        ids.append(queue_email(session, **values))
    session.commit()
    return ids


def at(moment):
    """A clock that always says `moment`."""
    return lambda: moment


def policy(**fields):
    """A sender policy with test defaults (no waiting between tries unless asked)."""
    values = {"max_tries": 3, "retry_base_seconds": 60, "claim_timeout_seconds": 600}
    values.update(fields)
    return SenderPolicy(**values)


__all__ = ["FolderBackend", "RecordingBackend", "CIPHER", "ENVELOPE", "NOW", "at", "body_of", "emailed_path", "ics_of", "policy", "queue"]
