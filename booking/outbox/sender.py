"""Queue emails in the outbox, and deliver them: claim, send, mark; retry with back-off.

`queue_email` only adds a row to the caller's session, so the message commits or rolls back
with the change that caused it. Bodies and invites hold private links, so they are stored
encrypted with the intake keys (booking.crypto) and erased once delivered; on SQLite the
write-ahead log is then checkpointed so no older copy of a page outlives the erasure.

`send_due` claims one row at a time with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL, plus a
compare-and-set on the status everywhere), so several senders at once never take the same
message, and a sender that dies holds only the message it was sending; once its lease
(`claim_timeout_seconds`) has run out another sender takes it. Delivery is at least once: a
sender killed between the mail server's 250 and its own "sent" mark leaves a message that is
sent again, under the same Message-ID (booking.outbox.mime.message_id), so the receiver can
drop the copy. That window is kept as small as the protocol allows: the message is built and
the connection open before DATA; on PostgreSQL the mark is executed before the send, in a
transaction left open over it, so after the server's 250 only the COMMIT has to leave the
process (see `deliver`); on SQLite, which must not hold its one write lock over a send, the
mark is one autocommit statement, executed before anything else once the server has answered.
The window opens when the message's last byte leaves the sender (the server accepts it even if
the sender dies then), so the mail server's handling of the message is part of it too.
"""

import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from booking.config import Config
from booking.extensions import DriverWrite
from booking.models import OutboxMessage
from booking.outbox.mime import build_email

MAX_BACKOFF = timedelta(hours=6)
LAST_ERROR_LENGTH = 500


@dataclass(frozen=True)
class SenderPolicy:
    """How a sender retries: tries before giving up, back-off base, stale-claim timeout."""

    max_tries: int = 8
    retry_base_seconds: int = 60
    claim_timeout_seconds: int = Config.OUTBOX_CLAIM_TIMEOUT_SECONDS
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


# A plain INSERT, built once: an OutboxMessage added to the session cost a booking the unit of
# work's bookkeeping at the commit's flush, twice (the patient's email and the clinician's).
_QUEUE = DriverWrite(OutboxMessage.__table__.insert(), returning=OutboxMessage.__table__.c.id)


@dataclass(frozen=True)
class Draft:
    """An email composed, its recipient and body already encrypted, its invite (a
    booking.calendar.ical.InviteDraft, if any) waiting for its booking's id: a new booking's emails
    are composed before the booking's INSERT, outside SQLite's one write turn (see
    booking.signals.booking_creating)."""

    kind: str
    recipient: str
    recipient_domain: str
    subject: str
    body: str
    invite: object = None


def draft_email(*, kind, recipient, subject, body, cipher, invite=None):
    """A Draft of an email to `recipient`, encrypted with `cipher` (a booking.crypto.Cipher)."""
    return Draft(kind=kind, recipient=cipher.encrypt(recipient), recipient_domain=recipient.rpartition("@")[2],
                 subject=subject, body=cipher.encrypt(body), invite=invite)


def queue_email(session, *, kind, recipient, subject, body, now, cipher, ics=None, ics_method=None,
                dedupe_key=None, booking_id=None):
    """Write an outbox row in `session`'s transaction (the caller commits, with the change that
    caused it) and return its id.

    The recipient, the body and the invite are encrypted with `cipher` (a booking.crypto.Cipher).
    The row is written at once: a booking the row names must be in the database already
    (flushed), and a dedupe key already queued raises IntegrityError here.
    """
    return queue_draft(session, draft_email(kind=kind, recipient=recipient, subject=subject, body=body, cipher=cipher),
                       now=now, cipher=cipher, ics=ics, ics_method=ics_method, dedupe_key=dedupe_key,
                       booking_id=booking_id)


def queue_draft(session, draft, *, now, cipher, booking_id=None, ics=None, ics_method=None, dedupe_key=None):
    """Write `draft`'s outbox row as `queue_email` does; its invite, if it has one, is finished
    with the UID of `booking_id` (else `ics` is the invite's text)."""
    values = _row(draft, now=now, cipher=cipher, booking_id=booking_id, ics=ics, ics_method=ics_method,
                  dedupe_key=dedupe_key)
    return _QUEUE.execute(session.connection(), values)


def queue_drafts(session, drafts, *, now, cipher, booking_id):
    """Write the rows of several drafts about booking `booking_id` at once: one statement, one
    round trip on PostgreSQL (a new booking's confirmation and its clinician's note)."""
    _QUEUE.hold_many(session.connection(), [_row(draft, now=now, cipher=cipher, booking_id=booking_id)
                                              for draft in drafts])


def _row(draft, *, now, cipher, booking_id, ics=None, ics_method=None, dedupe_key=None):
    """The outbox row of `draft`, its invite finished with the UID of `booking_id` (see queue_draft)."""
    if draft.invite is not None:
        ics, ics_method = draft.invite.for_booking(booking_id), draft.invite.method
    return {"kind": draft.kind, "recipient": draft.recipient, "recipient_domain": draft.recipient_domain,
            "subject": draft.subject, "body_text": draft.body, "ics": None if ics is None else cipher.encrypt(ics),
            "ics_method": ics_method, "dedupe_key": dedupe_key, "booking_id": booking_id, "status": "pending",
            "tries": 0, "next_attempt_at": now, "created_at": now}


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


@contextmanager
def sender_connection(session):
    """A connection of the session's engine for a run of claims and marks, each committed as it
    runs (see `claim_next` and `deliver`); no checkout between a delivery and its mark.

    On SQLite in autocommit mode: each statement commits at once, so no write lock outlives it
    and none is held during a send. On PostgreSQL in transactions the sender commits itself,
    so the mark's can stay open over the send.
    """
    session.commit()  # the caller's own changes are in before any message goes
    engine = session.get_bind()
    options = {"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "sqlite" else {}
    try:
        with engine.connect().execution_options(**options) as connection:
            yield connection
    finally:
        session.expire_all()  # the rows changed under whatever the caller's session had loaded


def _claimable(now, policy):
    """Due pending rows, and rows whose sender vanished mid-send (its lease older than the timeout)."""
    stale = now - timedelta(seconds=policy.claim_timeout_seconds)
    return sa.or_(
        sa.and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale),
    )


# What delivering a claimed row needs; read back by the claim itself (RETURNING).
CLAIMED = (OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.subject, OutboxMessage.body_text,
           OutboxMessage.ics, OutboxMessage.ics_method, OutboxMessage.created_at, OutboxMessage.tries)


def claim_next(connection, *, now, worker, policy):
    """Take the most overdue claimable message for `worker`, with a lease starting at `now`.

    One statement, committed before this returns (see `sender_connection`). Returns the claimed
    row (the CLAIMED columns), or None if nothing is due.
    One message at a time: a worker that dies holds only the one it was sending, and the others
    stay free for the other workers.
    """
    due = (sa.select(OutboxMessage.id).where(_claimable(now, policy))
           .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(1))
    if connection.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)  # senders at once skip each other's rows
    # The claimable test again: a compare-and-set, for SQLite (no row locks), where the
    # subquery and the update are one statement under the database's single writer lock.
    claimed = connection.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == due.scalar_subquery(), _claimable(now, policy))
        .values(status="sending", claimed_by=worker, claimed_at=now, tries=OutboxMessage.tries + 1)
        .returning(*CLAIMED)).first()
    connection.commit()
    return claimed


def describe_error(error, recipient):
    """The error as kept on the row, with the recipient's address taken out."""
    text = f"{type(error).__name__}: {error}"
    if recipient:
        text = text.replace(recipient, "<recipient>")
    return text[:LAST_ERROR_LENGTH]


def _finish(message_id, worker, values):
    """The update that marks a message this worker still holds; a lost claim (re-taken) changes nothing."""
    return (sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == worker,
                   OutboxMessage.status == "sending")
            .values(claimed_by=None, claimed_at=None, **values))


def deliver(connection, message, *, channel, envelope, worker, policy, clock):
    """Send one claimed message through `channel` (a backend's batch) and record the outcome at once.

    Returns True if it was delivered. `sent_at` is the time its sending began.
    """
    # The body and invite hold private links (manage and resume tokens): once delivered they are
    # erased, so the database keeps no usable link; kind, subject, recipient and times remain.
    mark_sent = _finish(message.id, worker, {"status": "sent", "sent_at": clock(), "body_text": "", "ics": None})
    # On PostgreSQL the mark runs before the send, in a transaction left open over it: once the
    # server has answered 250 only the COMMIT has to leave this process, and a COMMIT written to
    # the socket is committed by the server even if the sender dies right after. Until then the
    # row is locked, so a claim skips it (SKIP LOCKED). SQLite has one write lock for the whole
    # database, which must not be held over a send: there the mark follows the 250.
    mark_first = connection.dialect.name == "postgresql"
    recipient = ""
    try:
        body, ics = open_message(message, envelope.cipher)
        recipient = recipient_of(message, envelope.cipher)
        email = build_email(outbox_id=message.id, created_at=message.created_at, sender=envelope.sender,
                            recipient=recipient, subject=message.subject, body=body,
                            domain=envelope.domain, ics=ics, ics_method=message.ics_method)
        if mark_first:
            connection.execute(mark_sent)
        channel.send(email, message.id)
    except Exception as error:  # noqa: BLE001  every failure is recorded and retried, none is lost
        connection.rollback()  # a mark run before the send is undone
        now = clock()
        error_text = describe_error(error, recipient)
        if message.tries >= policy.max_tries:
            values = {"status": "failed", "last_error": error_text}
        else:
            values = {"status": "pending", "last_error": error_text,
                      "next_attempt_at": now + policy.backoff(message.tries)}
        connection.execute(_finish(message.id, worker, values))
        connection.commit()
        return False
    # The server has answered 250: it holds the message. Until the mark is committed, a worker
    # killed here leaves the message to be sent again after its lease (at-least-once: SMTP
    # cannot take a message back), so nothing else comes first.
    if mark_first:
        connection.commit()
    else:
        connection.execute(mark_sent)  # autocommit
    return True


def send_due(session, *, backend, envelope, policy, clock, worker=None):
    """Deliver every message that is due, one connection to the mail server per batch.

    `clock()` gives the current time (each claim's lease starts when it is taken). Returns
    (sent, failed) counts.
    """
    worker = worker or worker_name()
    sent = failed = 0
    finished = False
    with sender_connection(session) as connection:
        while not finished:
            with backend.batch() as channel:
                for _ in range(policy.batch_size):
                    message = claim_next(connection, now=clock(), worker=worker, policy=policy)
                    if message is None:
                        finished = True
                        break
                    if deliver(connection, message, channel=channel, envelope=envelope, worker=worker,
                               policy=policy, clock=clock):
                        sent += 1
                    else:
                        failed += 1
    if sent:
        checkpoint_erasures(session)
    return sent, failed


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
            send_due(session, backend=backend, envelope=envelope, policy=policy, clock=clock)
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
