"""Queue emails in the outbox, and deliver them: claim, send, mark; retry with back-off.

`queue_email` only adds a row to the caller's session, so the message commits or rolls back
with the change that caused it. Bodies and invites hold private links, so they are stored
encrypted with the intake keys (booking.crypto) and erased once delivered; on SQLite the
write-ahead log is then checkpointed so no older copy of a page outlives the erasure. `send_due` claims due rows (FOR UPDATE SKIP LOCKED on
PostgreSQL, plus a compare-and-set on the status everywhere), so several senders at once
never take the same message.
"""

import socket
import time
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from booking.models import OutboxMessage
from booking.outbox.mime import build_email

MAX_BACKOFF = timedelta(hours=6)
LAST_ERROR_LENGTH = 500


@dataclass(frozen=True)
class SenderPolicy:
    """How a sender retries: tries before giving up, back-off base, stale-claim timeout."""

    max_tries: int = 8
    retry_base_seconds: int = 60
    claim_timeout_seconds: int = 600
    batch_size: int = 50

    @classmethod
    def from_config(cls, config):
        """The policy from an app's configuration mapping."""
        return cls(max_tries=int(config["OUTBOX_MAX_TRIES"]),
                   retry_base_seconds=int(config["OUTBOX_RETRY_BASE_SECONDS"]),
                   claim_timeout_seconds=int(config["OUTBOX_CLAIM_TIMEOUT_SECONDS"]))

    def backoff(self, tries):
        """How long to wait after the `tries`-th failure: base, 2x, 4x... capped."""
        delay = timedelta(seconds=self.retry_base_seconds * 2 ** max(tries - 1, 0))
        return min(delay, MAX_BACKOFF)


@dataclass(frozen=True)
class Envelope:
    """What every email needs besides its row: who it is from, the domain for Message-IDs, and
    the booking.crypto.Cipher that opens its body and invite."""

    sender: str
    domain: str
    cipher: object


def queue_email(session, *, kind, recipient, subject, body, now, cipher, ics=None, ics_method=None,
                dedupe_key=None, booking_id=None):
    """Add an outbox row to `session` (the caller commits, with the change that caused it).

    The recipient, the body and the invite are encrypted with `cipher` (a booking.crypto.Cipher).
    """
    message = OutboxMessage(kind=kind, recipient=cipher.encrypt(recipient),
                            recipient_domain=recipient.rpartition("@")[2], subject=subject, body_text=cipher.encrypt(body),
                            ics=None if ics is None else cipher.encrypt(ics), ics_method=ics_method,
                            dedupe_key=dedupe_key, booking_id=booking_id, status="pending", tries=0,
                            next_attempt_at=now, created_at=now)
    session.add(message)
    return message


def queued_recipient(session, *, booking_id, kind, cipher):
    """Who the newest `kind` message about the booking goes to, if one is waiting or sent (not failed), else None."""
    found = session.scalar(sa.select(OutboxMessage.recipient).where(
        OutboxMessage.booking_id == booking_id, OutboxMessage.kind == kind, OutboxMessage.status != "failed")
        .order_by(OutboxMessage.id.desc()).limit(1))
    return cipher.decrypt(found) if found else None


def recipient_of(message, cipher):
    """The address a message goes to, decrypted."""
    return cipher.decrypt(message.recipient)


def open_message(message, cipher):
    """(body, ics) of a queued message, decrypted; ("", None) once it has been delivered and erased."""
    body = cipher.decrypt(message.body_text) if message.body_text else ""
    return body, cipher.decrypt(message.ics) if message.ics else None


def rotate_waiting_messages(session, cipher):
    """Re-encrypt every message's recipient, and the body and invite of those not yet delivered, under
    `cipher`'s first key.

    Returns how many waiting messages changed. Raises booking.crypto.InvalidToken if one fits no
    configured key (the caller rolls back). Delivered messages keep only their recipient.
    """
    for message in session.scalars(sa.select(OutboxMessage).where(OutboxMessage.status == "sent")):
        message.recipient = cipher.rotate(message.recipient)
    changed = 0
    for message in session.scalars(sa.select(OutboxMessage).where(OutboxMessage.status != "sent")):
        message.recipient = cipher.rotate(message.recipient)
        message.body_text = cipher.rotate(message.body_text) if message.body_text else message.body_text
        message.ics = cipher.rotate(message.ics) if message.ics else None
        changed += 1
    session.flush()
    return changed


def worker_name():
    """An identity for this sender process, kept on the rows it claims."""
    import os

    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def _claimable(now, policy):
    """Due pending rows, and rows whose sender vanished mid-send (claim older than the timeout)."""
    stale = now - timedelta(seconds=policy.claim_timeout_seconds)
    return sa.or_(
        sa.and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale),
    )


def claim_due(session, *, now, worker, policy):
    """Claim up to a batch of due messages for `worker`, commit, and return them ([] when none is due)."""
    query = (sa.select(OutboxMessage.id).where(_claimable(now, policy))
             .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(policy.batch_size))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    while not claimed:
        candidates = session.scalars(query).all()
        if not candidates:
            session.commit()
            return []
        for message_id in candidates:
            # Compare-and-set: only one sender's update can find the row still claimable.
            result = session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == message_id, _claimable(now, policy))
                .values(status="sending", claimed_by=worker, claimed_at=now, tries=OutboxMessage.tries + 1)
                .execution_options(synchronize_session=False))
            if result.rowcount == 1:
                claimed.append(message_id)
        # On SQLite another sender may take every row read above before these updates run; those
        # rows are no longer claimable, so reading again finds the next due ones (or none), where
        # an empty batch here would end this sender's run with messages still due.
        session.commit()
    return session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(claimed))
                           .order_by(OutboxMessage.id)).all()


def describe_error(error, recipient):
    """The error as kept on the row, with the recipient's address taken out."""
    text = f"{type(error).__name__}: {error}"
    if recipient:
        text = text.replace(recipient, "<recipient>")
    return text[:LAST_ERROR_LENGTH]


def _finish(session, message, worker, values):
    """Mark a message this worker still holds; a lost claim (stale, re-taken) changes nothing."""
    session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message.id, OutboxMessage.claimed_by == worker,
               OutboxMessage.status == "sending")
        .values(claimed_by=None, claimed_at=None, **values)
        .execution_options(synchronize_session=False))
    session.commit()


def deliver(session, message, *, backend, envelope, worker, policy, now):
    """Send one claimed message and record the outcome. Returns True if it was delivered."""
    recipient = ""
    try:
        body, ics = open_message(message, envelope.cipher)
        recipient = recipient_of(message, envelope.cipher)
        email = build_email(outbox_id=message.id, created_at=message.created_at, sender=envelope.sender,
                            recipient=recipient, subject=message.subject, body=body,
                            domain=envelope.domain, ics=ics, ics_method=message.ics_method)
        backend.send(email, message.id)
    except Exception as error:  # noqa: BLE001  every failure is recorded and retried, none is lost
        error_text = describe_error(error, recipient)
        if message.tries >= policy.max_tries:
            values = {"status": "failed", "last_error": error_text}
        else:
            values = {"status": "pending", "last_error": error_text,
                      "next_attempt_at": now + policy.backoff(message.tries)}
        _finish(session, message, worker, values)
        return False
    # The body and invite hold private links (manage and resume tokens): once delivered they are
    # erased, so the database keeps no usable link; kind, subject, recipient and times remain.
    _finish(session, message, worker, {"status": "sent", "sent_at": now, "body_text": "", "ics": None})
    return True


def send_due(session, *, backend, envelope, policy, now, worker=None):
    """Deliver every message due at `now`, batch by batch. Returns (sent, failed) counts."""
    worker = worker or worker_name()
    sent = failed = 0
    while True:
        batch = claim_due(session, now=now, worker=worker, policy=policy)
        if not batch:
            if sent:
                checkpoint_erasures(session)
            return sent, failed
        for message in batch:
            if deliver(session, message, backend=backend, envelope=envelope, worker=worker,
                       policy=policy, now=now):
                sent += 1
            else:
                failed += 1


def checkpoint_erasures(session):
    """On SQLite, move the write-ahead log into the database file and empty it.

    With `secure_delete` on (booking.extensions) an erased body is zeroed in the database
    file, but until a checkpoint the WAL still holds the page as it was before. TRUNCATE
    copies every committed page back and cuts the WAL to zero bytes. If a reader holds an
    old snapshot the checkpoint stops short; the next one finishes the job.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        session.commit()


def run_loop(session_factory, *, backend, envelope, policy, clock, interval=10, rounds=None, sleep=time.sleep):
    """Send due messages every `interval` seconds, `rounds` times (forever when None)."""
    done = 0
    while rounds is None or done < rounds:
        session = session_factory()
        try:
            send_due(session, backend=backend, envelope=envelope, policy=policy, now=clock())
        finally:
            session.close()
        done += 1
        if rounds is None or done < rounds:
            sleep(interval)


def retry_now(session, message_id, *, now):
    """Make a pending or failed message due at once (one more try). Returns False if it is neither."""
    result = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status.in_(("pending", "failed")))
        .values(status="pending", next_attempt_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1
