"""The outbox sender: delivers once, retries with back-off, gives up keeping the error, never doubles."""

import email
import threading
from contextlib import nullcontext
from datetime import timedelta
from email import policy as email_policy

import sqlalchemy as sa

from booking.models import OutboxMessage
from booking.outbox.sender import SenderPolicy, claim_next, retry_now, send_due, sender_connection
from tests.conftest import postgres_only
from tests.outbox_helpers import ENVELOPE, NOW, FolderBackend, RecordingBackend, at, body_of, policy, queue


def statuses(session):
    """{id: (status, tries)} of every outbox row, fresh from the database."""
    session.expire_all()
    return {m.id: (m.status, m.tries) for m in session.scalars(sa.select(OutboxMessage))}


def test_folder_backend_writes_one_eml_per_message_and_marks_it_sent(db, tmp_path):
    [message_id] = queue(db.session, recipient="jordan@patient.example", subject="Your consultation")
    backend = FolderBackend(str(tmp_path / "mail"))
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(NOW)) == (1, 0)
    [path] = list((tmp_path / "mail").glob("*.eml"))
    parsed = email.message_from_bytes(path.read_bytes(), policy=email_policy.default)
    assert parsed["To"] == "jordan@patient.example" and parsed["Subject"] == "Your consultation"
    assert parsed["Message-ID"].startswith(f"<outbox-{message_id}-")
    assert statuses(db.session) == {message_id: ("sent", 1)}
    # A second run finds nothing to send.
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(NOW)) == (0, 0)
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1


def test_a_delivered_message_keeps_no_private_link_but_an_undelivered_one_keeps_everything(db):
    body = "Manage your booking: http://127.0.0.1:5000/book/manage/private-token-123"
    [delivered_id] = queue(db.session, subject="Your consultation", body=body)
    backend = RecordingBackend(failures=0)
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(NOW)) == (1, 0)
    assert "private-token-123" in backend.delivered[0][1].as_string()  # the patient got the link
    [waiting_id] = queue(db.session, subject="Your consultation", body=body)
    assert send_due(db.session, backend=RecordingBackend(failures=1), envelope=ENVELOPE, policy=policy(),
                    clock=at(NOW)) == (0, 1)
    db.session.expire_all()
    delivered, waiting = db.session.get(OutboxMessage, delivered_id), db.session.get(OutboxMessage, waiting_id)
    assert (delivered.status, delivered.subject, delivered.body_text, delivered.ics) == (
        "sent", "Your consultation", "", None)
    assert waiting.status == "pending" and body_of(waiting) == body  # still to be sent: nothing lost
    assert "private-token" not in waiting.body_text  # ...and stored encrypted while it waits


def test_failure_is_retried_after_back_off_then_delivered(db):
    [message_id] = queue(db.session)
    backend = RecordingBackend(failures=1)
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(NOW)) == (0, 1)
    row = db.session.get(OutboxMessage, message_id)
    assert (row.status, row.tries) == ("pending", 1)
    assert row.next_attempt_at == NOW + timedelta(seconds=60)
    assert "ConnectionRefusedError" in row.last_error
    # Not due yet: nothing happens.
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(),
                    clock=at(NOW + timedelta(seconds=59))) == (0, 0)
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(),
                    clock=at(NOW + timedelta(seconds=60))) == (1, 0)
    assert [outbox_id for outbox_id, _ in backend.delivered] == [message_id]
    assert statuses(db.session) == {message_id: ("sent", 2)}


def test_back_off_doubles_and_gives_up_after_max_tries_keeping_the_error(db):
    [message_id] = queue(db.session, recipient="jordan@patient.example")
    backend = RecordingBackend(failures=99, error=OSError("jordan@patient.example: mailbox unavailable"))
    now = NOW
    waits = []
    for _ in range(3):
        send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), clock=at(now))
        row = db.session.get(OutboxMessage, message_id)
        if row.status == "pending":
            waits.append(row.next_attempt_at - now)
            now = row.next_attempt_at
    assert waits == [timedelta(seconds=60), timedelta(seconds=120)]
    row = db.session.get(OutboxMessage, message_id)
    assert (row.status, row.tries) == ("failed", 3)
    assert "mailbox unavailable" in row.last_error
    assert "jordan@patient.example" not in row.last_error  # the address is not kept in the error
    # Given up: later runs leave it alone, until an admin asks for one more try.
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(),
                    clock=at(now + timedelta(days=1))) == (0, 0)
    assert retry_now(db.session, message_id, now=now + timedelta(days=1))
    db.session.commit()
    assert send_due(db.session, backend=RecordingBackend(), envelope=ENVELOPE, policy=policy(),
                    clock=at(now + timedelta(days=1))) == (1, 0)


def claim_all(session, *, now, worker):
    """The ids `worker` claims at `now` until nothing more is due."""
    claimed = []
    with sender_connection(session) as connection:
        while (row := claim_next(connection, now=now, worker=worker, policy=policy())) is not None:
            claimed.append(row.id)
    return claimed


def test_a_sender_that_dies_mid_send_holds_only_that_message_until_its_lease_runs_out(db):
    in_flight, *waiting = queue(db.session, count=3)
    with sender_connection(db.session) as connection:  # the crashed sender took one message, then died
        assert claim_next(connection, now=NOW, worker="crashed:1", policy=policy()).id == in_flight
    backend = RecordingBackend()
    # The others go at once; the one in flight waits while its lease is fresh...
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(),
                    clock=at(NOW + timedelta(seconds=599)), worker="other:2") == (2, 0)
    assert [outbox_id for outbox_id, _ in backend.delivered] == waiting
    # ...and is sent once the lease has run out: nothing is lost.
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(),
                    clock=at(NOW + timedelta(seconds=601)), worker="other:2") == (1, 0)
    assert [outbox_id for outbox_id, _ in backend.delivered] == [*waiting, in_flight]
    assert statuses(db.session) == {in_flight: ("sent", 2), waiting[0]: ("sent", 1), waiting[1]: ("sent", 1)}


def test_by_default_a_dead_senders_message_goes_again_two_and_a_half_minutes_after_its_claim(app, db):
    [in_flight] = queue(db.session)
    default = SenderPolicy.from_config(app.config)
    with sender_connection(db.session) as connection:  # the crashed sender took it, then died
        claim_next(connection, now=NOW, worker="crashed:1", policy=default)
    backend = RecordingBackend()
    for seconds in (149, 151):
        send_due(db.session, backend=backend, envelope=ENVELOPE, policy=default,
                 clock=at(NOW + timedelta(seconds=seconds)), worker="other:2")
        assert [outbox_id for outbox_id, _ in backend.delivered] == ([] if seconds < 150 else [in_flight])


def test_each_lease_starts_when_its_message_is_claimed_not_when_the_round_began(app, db):
    ids = queue(db.session, count=3)
    readings = []

    def slow_clock():
        """Each reading 400 s after the last: a round far longer than the 600 s lease."""
        readings.append(NOW + timedelta(seconds=400 * len(readings)))
        return readings[-1]

    first, second = RecordingBackend(), RecordingBackend()

    class Overlapped:
        """Delivers through `first`; while the last message is in flight, a second sender wakes up."""

        def batch(self):
            return nullcontext(self)

        def send(self, message, outbox_id):
            if outbox_id == ids[-1]:
                from booking.extensions import db as database

                with sa.orm.Session(bind=database.engine) as other:
                    send_due(other, backend=second, envelope=ENVELOPE, policy=policy(), clock=at(readings[-1]),
                             worker="second")
            first.send(message, outbox_id)

    assert send_due(db.session, backend=Overlapped(), envelope=ENVELOPE, policy=policy(), clock=slow_clock,
                    worker="first") == (3, 0)
    assert [outbox_id for outbox_id, _ in first.delivered] == ids and second.delivered == []


def test_retry_now_refuses_a_sent_message(db):
    [message_id] = queue(db.session)
    send_due(db.session, backend=RecordingBackend(), envelope=ENVELOPE, policy=policy(), clock=at(NOW))
    assert not retry_now(db.session, message_id, now=NOW)


class MeetingBackend:
    """Delivers to `recorder`, but each sender's first message waits inside `send` for the other's.

    Both senders are then provably mid-send at the same moment, each holding the message it claimed:
    the barrier opens only when the second sender has claimed a message of its own while the first
    still holds its own unsent. At that moment `claims()` is written down: which rows are claimed, by whom.
    `holding` is set once the first sender is inside `send`, its claim committed. The timeouts only
    stop a broken run from hanging; a run that never overlaps fails."""

    name = "meeting"

    def __init__(self, recorder, claims):
        self.recorder = recorder
        self.seen_at_meeting = {}
        self.waited = set()
        self.holding = threading.Event()
        self.barrier = threading.Barrier(2, action=lambda: self.seen_at_meeting.update(claims()))

    def batch(self):
        return nullcontext(self)

    def send(self, message, outbox_id):
        worker = threading.current_thread().name
        if worker not in self.waited:
            self.waited.add(worker)
            self.holding.set()
            self.barrier.wait(timeout=30)
        self.recorder.send(message, outbox_id)


def test_two_senders_at_once_deliver_each_message_exactly_once(app, db):
    """The second sender claims while the first holds its message mid-send: it must take another row.

    Fails when a claim is not respected: with `_claimable` treating every "sending" row as stale
    (`claimed_at <= now`), the second sender takes the first one's batch and messages go out twice
    (tried on both engines). The race between two claims themselves is tested below, per engine."""
    ids = queue(db.session, count=40)
    recorder = RecordingBackend()
    from booking.extensions import db as database

    def claims():
        """{worker: {ids}} of the rows being sent right now, read on a connection of its own."""
        with database.engine.connect() as connection:
            rows = connection.execute(sa.select(OutboxMessage.claimed_by, OutboxMessage.id)
                                      .where(OutboxMessage.status == "sending")).all()
        held = {}
        for worker, message_id in rows:
            held.setdefault(worker, set()).add(message_id)
        return held

    backend = MeetingBackend(recorder, claims)
    errors = []

    def sender():
        with app.app_context():
            session = database.session()
            try:
                if threading.current_thread().name == "sender-1" and not backend.holding.wait(timeout=30):
                    raise AssertionError("sender-0 never reached send")
                send_due(session, backend=backend, envelope=ENVELOPE, policy=policy(batch_size=5), clock=at(NOW),
                         worker=threading.current_thread().name)
            except Exception as error:  # noqa: BLE001  reported below
                errors.append(error)
            finally:
                database.session.remove()

    threads = [threading.Thread(target=sender, name=f"sender-{n}") for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    # Both were mid-send at once, each holding one message of its own (a claim is one message).
    held = backend.seen_at_meeting
    assert sorted(held) == ["sender-0", "sender-1"]
    assert [len(found) for found in held.values()] == [1, 1] and not held["sender-0"] & held["sender-1"]
    delivered = sorted(outbox_id for outbox_id, _ in recorder.delivered)
    assert delivered == sorted(ids)  # every message once: no gaps, no duplicates
    assert set(statuses(db.session).values()) == {("sent", 1)}


def test_postgres_claim_skips_rows_locked_by_another_sender(app, db):
    postgres_only()
    ids = queue(db.session, count=4)
    from booking.extensions import db as database

    other = sa.orm.Session(bind=database.engine)
    try:
        # Another sender holds two rows locked mid-claim.
        locked = other.scalars(sa.select(OutboxMessage.id).order_by(OutboxMessage.id).limit(2)
                               .with_for_update()).all()
        assert sorted(claim_all(db.session, now=NOW, worker="me")) == sorted(set(ids) - set(locked))
    finally:
        other.rollback()
        other.close()


def test_a_sender_skips_the_messages_another_holds_and_sends_the_rest(app, db):
    """Rows another sender holds under a live lease are not due: this one sends the others and stops."""
    ids = queue(db.session, count=10)
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids[:5]))
                       .values(status="sending", claimed_by="other:1", claimed_at=NOW))
    db.session.commit()
    backend = RecordingBackend()
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(batch_size=5), clock=at(NOW),
                    worker="me:2") == (5, 0)
    assert sorted(outbox_id for outbox_id, _ in backend.delivered) == ids[5:]


def test_after_each_send_the_mark_is_committed_before_anything_else(app, db):
    """What the sender's connection does around a send, in order. PostgreSQL: the mark runs before
    the send and its COMMIT is the first thing after it (a kill after the server's 250 then finds
    only the COMMIT left to send); SQLite: the mark itself, in autocommit, is the first thing after
    it. Either way the next claim comes only once the message is marked."""
    ids = queue(db.session, count=2)
    steps = []
    from booking.extensions import db as database

    def note_statement(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE outbox_message"):
            steps.append("mark" if "sent_at" in statement else "claim")

    class Noting(RecordingBackend):
        def send(self, message, outbox_id):
            steps.append("send")
            super().send(message, outbox_id)

    def note_commit(conn):
        steps.append("commit")

    sa.event.listen(database.engine, "before_cursor_execute", note_statement)
    sa.event.listen(database.engine, "commit", note_commit)
    try:
        assert send_due(db.session, backend=Noting(), envelope=ENVELOPE, policy=policy(), clock=at(NOW)) == (2, 0)
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", note_statement)
        sa.event.remove(database.engine, "commit", note_commit)
    per_message = (["claim", "commit", "mark", "send", "commit"] if database.engine.dialect.name == "postgresql"
                   else ["claim", "commit", "send", "mark"])
    assert steps[:2 * len(per_message)] == per_message * 2 and steps[2 * len(per_message)] == "claim"
    assert set(statuses(db.session).values()) == {("sent", 1)} and len(ids) == 2
