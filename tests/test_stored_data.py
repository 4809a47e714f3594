"""Nothing readable left behind (issue 10): a copy of the SQLite file and its write-ahead log,
taken before or after `flask outbox send`, holds no working private link."""

import email
import email.policy
import re
from datetime import time
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from booking.extensions import db as _db
from booking.models import OutboxMessage
from tests.booking_factories import add_clinician, book_first_free_time
from tests.conftest import TEST_INTAKE_KEY, sqlite_only
from tests.intake_factories import complete_intake
from tests.outbox_helpers import queue

LINK = re.compile(rb"/(?:intake/resume|intake/correct|book/manage)/([A-Za-z0-9_-]{40,})")
EVERY_DAY = {day: [(time(9), time(17))] for day in range(7)}


def database_files(app):
    """The bytes of the SQLite file and of its -wal file (empty if there is none), as `strings` would read them."""
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    wal = Path(f"{path}-wal")
    return {"database": path.read_bytes(), "wal": wal.read_bytes() if wal.exists() else b""}


def email_text(path):
    """Every text part of a delivered .eml file, decoded (links may be wrapped by the transfer encoding)."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return "".join(part.get_content() for part in message.walk() if part.get_content_maintype() == "text").encode()


def test_no_private_link_is_readable_in_the_database_or_its_wal_before_or_after_sending(app, client, db, runner,
                                                                                        tmp_path):
    sqlite_only()
    add_clinician(db.session, name="Dr Disk", hours=EVERY_DAY)
    complete_intake(client)
    manage_token = book_first_free_time(client)
    client.post("/intake/correct")  # a one-time correction link, emailed
    before = database_files(app)
    ciphertexts = [row.body_text.encode() for row in db.session.scalars(sa.select(OutboxMessage))]
    db.session.rollback()

    result = runner.invoke(args=["outbox", "send"])
    assert re.search(r"Sent [1-9][0-9]* message\(s\)", result.output) and "; 0 failed" in result.output
    emails = b"".join(email_text(path) for path in (tmp_path / "outbox").glob("*.eml"))
    tokens = {match.group(1) for match in LINK.finditer(emails)}
    assert manage_token.encode() in tokens and len(tokens) == 3  # resume, manage and correction links
    after = database_files(app)

    for moment, files in (("queued", before), ("sent", after)):
        for name, content in files.items():
            found = [token for token in tokens if token in content]
            assert found == [], f"{moment}: {len(found)} private link(s) readable in the {name} file"
    assert after["wal"] == b""  # checkpointed and truncated after erasing
    # Not even the erased ciphertext survives (in free space), for whoever later holds a key.
    assert not [text for text in ciphertexts if any(text[:60] in content for content in after.values())]


def test_rotating_the_keys_keeps_waiting_emails_deliverable(app, runner, tmp_path):
    new_key = Fernet.generate_key().decode()
    with app.app_context():
        queue(_db.session, body="Your link: http://x/book/manage/secret")
    app.config["INTAKE_ENCRYPTION_KEYS"] = [new_key, TEST_INTAKE_KEY]
    result = runner.invoke(args=["rotate-intake-key"])
    assert "and 1 waiting email(s)" in result.output, result.output
    app.config["INTAKE_ENCRYPTION_KEYS"] = [new_key]  # the old key dropped, as the README says
    result = runner.invoke(args=["outbox", "send"])
    assert "Sent 1 message(s)" in result.output and "; 0 failed" in result.output, result.output
    assert b"book/manage/secret" in b"".join(email_text(path) for path in (tmp_path / "outbox").glob("*.eml"))
