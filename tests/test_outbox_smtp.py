"""SMTP delivery against a real local server (aiosmtpd on 127.0.0.1), and servers that misbehave."""

import socket
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from booking.models import OutboxMessage
from booking.outbox.backends import SMTPBackend
from booking.outbox.sender import send_due
from tests.outbox_helpers import ENVELOPE, NOW, policy, queue


def free_port():
    """A TCP port nobody is listening on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RefuseTwiceHandler:
    """Answers 451 (try later) to the first two messages, then accepts."""

    def __init__(self):
        self.attempts = 0
        self.accepted = []

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.attempts <= 2:
            return "451 4.3.0 Mail server temporarily rejected message"
        self.accepted.append(envelope)
        return "250 2.0.0 OK"


@pytest.fixture
def smtp_server():
    """A local SMTP server that refuses twice, then accepts."""
    handler = RefuseTwiceHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, handler
    controller.stop()


def test_smtp_refuses_twice_then_accepts_and_the_message_arrives_once(db, smtp_server):
    controller, handler = smtp_server
    [message_id] = queue(db.session, recipient="jordan@patient.example", subject="Your consultation")
    backend = SMTPBackend("127.0.0.1", controller.port, starttls=False, timeout=10)
    now = NOW
    outcomes = []
    for _ in range(5):  # more runs than needed: later ones must find nothing to send
        outcomes.append(send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(max_tries=5),
                                 now=now))
        now += timedelta(hours=1)
    assert outcomes == [(0, 1), (0, 1), (1, 0), (0, 0), (0, 0)]
    assert handler.attempts == 3 and len(handler.accepted) == 1
    envelope = handler.accepted[0]
    assert envelope.rcpt_tos == ["jordan@patient.example"]
    assert b"Subject: Your consultation" in envelope.original_content
    row = db.session.get(OutboxMessage, message_id)
    assert (row.status, row.tries) == ("sent", 3)
    assert "451" in row.last_error  # the last failure stays visible after the success


class MisbehavingServer:
    """A TCP server that either closes every connection at once or never says anything."""

    def __init__(self, mode):
        self.mode = mode
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen()
        self.port = self.socket.getsockname()[1]
        self.connections = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            if self.mode == "close":
                connection.close()
            else:
                self.connections.append(connection)  # hold it open, silent

    def stop(self):
        self.socket.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.parametrize("mode, error_name", [("close", "SMTPServerDisconnected"), ("silent", "timed out")])
def test_a_server_that_hangs_up_or_times_out_leaves_the_message_pending_with_the_error(db, mode, error_name):
    server = MisbehavingServer(mode)
    try:
        [message_id] = queue(db.session)
        backend = SMTPBackend("127.0.0.1", server.port, starttls=False, timeout=0.5)
        assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), now=NOW) == (0, 1)
    finally:
        server.stop()
    row = db.session.get(OutboxMessage, message_id)
    assert row.status == "pending" and row.tries == 1
    assert error_name.lower() in row.last_error.lower()


def test_no_smtp_server_at_all_is_a_retryable_error(db):
    [message_id] = queue(db.session)
    backend = SMTPBackend("127.0.0.1", free_port(), starttls=False, timeout=2)
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), now=NOW) == (0, 1)
    assert "ConnectionRefusedError" in db.session.get(OutboxMessage, message_id).last_error


def test_starttls_required_but_not_offered_sends_nothing_in_the_clear(db, smtp_server):
    controller, handler = smtp_server
    queue(db.session)
    backend = SMTPBackend("127.0.0.1", controller.port, starttls=True, timeout=10)
    assert send_due(db.session, backend=backend, envelope=ENVELOPE, policy=policy(), now=NOW) == (0, 1)
    assert handler.attempts == 0
    error = db.session.scalar(sa.select(OutboxMessage.last_error))
    assert "STARTTLS" in error or "starttls" in error.lower()
