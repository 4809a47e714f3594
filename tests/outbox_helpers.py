"""Helpers for outbox tests: fake backends and a sender set up like the CLI's."""

import threading
from datetime import datetime, timezone

from booking.outbox.backends import FolderBackend
from booking.outbox.sender import Envelope, SenderPolicy, queue_email

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
ENVELOPE = Envelope(sender="Riverside Infusion Clinic <hello@clinic.example>", domain="clinic.example")


class RecordingBackend:
    """Records each delivery; fails the first `failures` attempts with `error`."""

    name = "recording"

    def __init__(self, failures=0, error=None):
        self.failures = failures
        self.error = error or ConnectionRefusedError("connection refused")
        self.delivered = []
        self.attempts = 0
        self._lock = threading.Lock()

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
                  "subject": "Reminder", "body": "Hello", "now": NOW}
        values.update(fields)
        message = queue_email(session, **values)
        session.flush()
        ids.append(message.id)
    session.commit()
    return ids


def policy(**fields):
    """A sender policy with test defaults (no waiting between tries unless asked)."""
    values = {"max_tries": 3, "retry_base_seconds": 60, "claim_timeout_seconds": 600}
    values.update(fields)
    return SenderPolicy(**values)


__all__ = ["FolderBackend", "RecordingBackend", "ENVELOPE", "NOW", "policy", "queue"]
