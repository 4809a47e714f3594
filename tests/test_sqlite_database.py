"""The embedded SQLite database: write-ahead logging, so that pages keep reading while a
booking is being written."""

import sqlite3

from booking.extensions import db
from tests.booking_factories import add_intake
from tests.conftest import sqlite_only


def test_pages_read_while_another_connection_holds_the_write_lock(make_app, tmp_path):
    sqlite_only()
    # Wait at most half a second for a lock, so that a blocked read fails fast instead of hanging.
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.5}})
    with app.app_context():
        _intake, token = add_intake(db.session, app.config)
        database = db.engine.url.database
    writer = sqlite3.connect(database, timeout=0.5)
    try:
        # The strongest lock a writer takes. With the old rollback journal it shut every reader
        # out; with write-ahead logging readers see the last committed state meanwhile.
        writer.execute("BEGIN EXCLUSIVE")
        writer.execute("UPDATE intake SET status = status")
        response = app.test_client().get(f"/book/start/{token}")
        assert response.status_code == 302 and response.headers["Location"].endswith("/book/")
    finally:
        writer.rollback()
        writer.close()
