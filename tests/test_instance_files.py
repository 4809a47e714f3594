"""Nothing private is left readable by others on disk, or printed in the development server's log."""

import logging
import os
import stat
import threading
import urllib.request

import pytest
from werkzeug.serving import make_server

from booking import create_app
from booking.extensions import db
from booking.instance_config import write_instance_config
from tests.conftest import base_test_config, sqlite_only


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """Create files as a default umask would: readable by everyone unless the code says otherwise."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_instance_folder_and_its_config_are_owner_only(tmp_path, open_umask):
    config = tmp_path / "instance" / "config.py"
    assert write_instance_config(str(config))
    assert mode(config.parent) == 0o700 and mode(config) == 0o600


def test_an_instance_folder_the_checkout_ships_becomes_owner_only(tmp_path, open_umask):
    folder = tmp_path / "instance"
    folder.mkdir(mode=0o755)  # as a clone leaves it: instance/.gitkeep is in the repository
    assert write_instance_config(str(folder / "config.py"))
    assert mode(folder) == 0o700


def test_the_sqlite_database_and_its_wal_are_owner_only(tmp_path, open_umask):
    sqlite_only()
    path = tmp_path / "booking.sqlite"
    app = create_app(base_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}"))
    with app.app_context():
        db.create_all()
        db.session.execute(db.text("SELECT 1"))
        assert mode(path) == 0o600
        assert mode(f"{path}-wal") == 0o600  # write-ahead logging is on: the WAL exists while connected
        db.engine.dispose()


def test_the_development_server_logs_the_endpoint_never_the_path(app, caplog):
    server = make_server("127.0.0.1", 0, app)  # the server `flask run` (and so `make run`) uses
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    secret = "Zq7-private-token-in-the-path-0123456789abcdef"
    with caplog.at_level(logging.INFO):
        logging.getLogger("booking").propagate = True
        try:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/intake/resume/{secret}", timeout=10)
            except urllib.error.HTTPError:
                pass
            thread.join(timeout=10)
        finally:
            logging.getLogger("booking").propagate = False
            server.server_close()
    assert secret not in caplog.text
    assert "GET intake.resume" in caplog.text
