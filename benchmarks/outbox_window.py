"""Measure the outbox's at-least-once window: from the last byte of a message's data leaving the
sender to its "sent" mark being committed.

A sender killed inside that window leaves a message the server receives and accepts anyway,
which another sender sends again (same Message-ID). The script queues messages in an empty
database, sends them through `send_due` to an aiosmtpd server in this process (with the
harness's 0.03 s pause at RCPT TO; --parse: the server parses each message, as the harness's
does), and prints the window's median, p99 and maximum and the share of each message's time it
takes: the chance that a kill at a random moment of sending makes a duplicate. It also prints
the sender's own part, from the server accepting the message (before its 250 is written) on:
the rest is the server's handling of the message and the network, which no sender can shorten.

    .venv/bin/python benchmarks/outbox_window.py [--messages 300]     # SQLite in a temporary folder
    .venv/bin/python benchmarks/outbox_window.py --database-url postgresql://postgres@127.0.0.1:5432/scratch

On PostgreSQL the window closes once the mark's COMMIT is on its way (the server commits what it
has received, whatever happens to the sender); on SQLite, in the sender's own process, only once
the mark is committed. A --database-url database must exist and be empty (or hold only this
app's schema): the script migrates it and leaves its outbox rows behind.
"""

import argparse
import asyncio
import os
import shutil
import smtplib
import statistics
import sys
import tempfile
import time
from email import message_from_bytes

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

KEY = "3q6Qx0Lq2-0mA5vJb8jY0pQ9fW4kR7tU1sN6zC2eH8o="


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: SQLite in a temporary folder")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--rcpt-pause", type=float, default=0.03)
    parser.add_argument("--parse", action="store_true", help="the server parses each message it accepts")
    args = parser.parse_args()

    import sqlalchemy as sa
    from aiosmtpd.controller import Controller
    from flask_migrate import upgrade

    from booking import create_app
    from booking.config import normalise_database_url
    from booking.crypto import Cipher
    from booking.extensions import db
    from booking.outbox.backends import SMTPBackend
    from booking.outbox.sender import Envelope, SenderPolicy, queue_email, send_due
    from booking.timeutil import utcnow
    from tests.multi.cluster import free_port

    accepted, data_written = [], []

    # A kill can no longer stop a message once its last byte has left the sender: the server
    # still receives it, accepts it and answers to a dead sender. So the window a kill sees opens
    # when the data ends (the final dot written), not when the server accepts.
    write = smtplib.SMTP.send

    def timed_write(self, s):
        write(self, s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            data_written.append(time.perf_counter())

    smtplib.SMTP.send = timed_write

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, options):
            await asyncio.sleep(args.rcpt_pause)
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            if args.parse:
                message_from_bytes(envelope.content)  # as the test harness's server does
            accepted.append(time.perf_counter())  # the whole message, final dot included, is here
            return "250 Message accepted for delivery"

    workdir = tempfile.mkdtemp(prefix="booking-window-")
    database_url = normalise_database_url(args.database_url or f"sqlite:///{os.path.join(workdir, 'window.sqlite')}")
    app = create_app({"SECRET_KEY": "benchmark-secret-key-that-is-long-enough-0123456789",
                      "PATIENT_SEARCH_KEY": "benchmark-patient-search-key-0123456789-abcdef",
                      "INTAKE_ENCRYPTION_KEYS": [KEY], "SQLALCHEMY_DATABASE_URI": database_url,
                      "TESTING": False, "OUTBOX_DIR": workdir})
    cipher = Cipher([KEY])
    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with app.app_context():
            upgrade()

            def is_mark(statement):
                return statement.startswith("UPDATE outbox_message") and "sent_at" in statement

            # The window closes once the statement that commits the mark is on its way: the server
            # runs and commits what it has received, whatever happens to the sender. That is the
            # mark itself where it runs in autocommit after the 250 (SQLite), or the COMMIT of a
            # mark run before the send (PostgreSQL); so each end is the first after the 250.
            on_its_way, done, mark_open = [], [], []

            @sa.event.listens_for(db.engine, "before_cursor_execute")
            def note_sending(conn, cursor, statement, parameters, context, executemany):
                if is_mark(statement):
                    mark_open.append(True)
                    on_its_way.append(time.perf_counter())

            @sa.event.listens_for(db.engine, "after_cursor_execute")
            def note_mark(conn, cursor, statement, parameters, context, executemany):
                if is_mark(statement):
                    done.append(time.perf_counter())

            commit = db.engine.dialect.do_commit

            def timed_commit(dbapi_connection):
                """The dialect's commit, timed when it commits a mark (the sender's clock reads
                the moment the COMMIT leaves, and when the server has answered it)."""
                if not mark_open:
                    return commit(dbapi_connection)
                mark_open.clear()
                on_its_way.append(time.perf_counter())
                commit(dbapi_connection)
                done.append(time.perf_counter())

            db.engine.dialect.do_commit = timed_commit

            now = utcnow()
            for number in range(args.messages):
                queue_email(db.session, kind="booking_reminder", recipient=f"window{number}@example.org",
                            subject="Window", body="A message to time the sender.", now=now, cipher=cipher)
            db.session.commit()
            envelope = Envelope(sender="Clinic <hello@clinic.example>", domain="clinic.example", cipher=cipher)
            sent, failed = send_due(db.session, backend=SMTPBackend("127.0.0.1", port, starttls=False),
                                    envelope=envelope, policy=SenderPolicy(batch_size=50), clock=utcnow)
    finally:
        controller.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    assert (sent, failed) == (args.messages, 0) and len(accepted) == len(data_written) == args.messages
    periods = [later - earlier for earlier, later in zip(accepted, accepted[1:])]
    period, total = statistics.median(periods), accepted[-1] - accepted[0]
    print(f"{args.messages} messages; per message {period * 1000:.1f} ms (median)")
    for name, starts, ends in (("data written -> mark (or its COMMIT) sent: the window", data_written, on_its_way),
                              ("  of which: server accepted -> mark (or its COMMIT) sent", accepted, on_its_way),
                              ("data written -> mark committed", data_written, done)):
        windows = sorted(min(end for end in ends if end >= start) - start for start in starts)
        median, p99 = statistics.median(windows), windows[int(0.99 * (len(windows) - 1))]
        print(f"{name}: median {median * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, max {windows[-1] * 1000:.2f} ms; "
              f"{sum(windows[:-1]) / total:.2%} of the sending time")

if __name__ == "__main__":
    main()
