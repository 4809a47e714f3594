"""Fixtures of the multi-instance harness (marker `multi_instance`; PostgreSQL pass only).

The harness needs PostgreSQL (TEST_DATABASE_URL), Redis (TEST_REDIS_URL, default DB 5) and
gunicorn. On the SQLite pass it skips; elsewhere a missing piece is a skip with its reason,
and a failure under REQUIRE_ALL_TESTS=1.
"""

import os
import shutil

import pytest
from flask_migrate import upgrade

from booking import create_app
from booking.extensions import db as _db
from tests.conftest import base_test_config, postgres_only, require_or_skip
from tests.conftest import scratch_postgres_database
from tests.multi.cluster import BIN, MailCatcher, Processes

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
# Small limits, so a test can use them up; counted per client address (X-Forwarded-For).
LOGIN_LIMIT, INTAKE_LIMIT = 6, 6


def require_redis():
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as error:
        require_or_skip(f"Redis not available at {TEST_REDIS_URL}: {error}")


def require_gunicorn():
    if not (BIN / "gunicorn").exists() and not shutil.which("gunicorn"):
        require_or_skip("gunicorn is not installed beside this Python")


def upgrade_schema(config):
    """Build the schema with the migrations, as `flask db upgrade` does, in this process (one
    app start fewer than running the command)."""
    app = create_app(config)
    with app.app_context():
        upgrade()
        _db.engine.dispose()


def harness_config(tmp_path, database_url, **overrides):
    """Settings every process of a run shares: production-like (CSRF on, one trusted proxy)."""
    return base_test_config(
        tmp_path, SQLALCHEMY_DATABASE_URI=database_url, WTF_CSRF_ENABLED=True, TRUSTED_PROXIES=1,
        LOGIN_RATE_LIMIT=f"{LOGIN_LIMIT} per minute", INTAKE_START_RATE_LIMIT=f"{INTAKE_LIMIT} per hour",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 5}, **overrides)


class Cluster:
    """Two instances (bases[0], bases[1]), their outbox workers, the mail catcher, and an
    in-process app on the same database for seeding and reading rows."""

    def __init__(self, config, processes, bases, catcher):
        self.config, self.processes, self.bases, self.catcher = config, processes, bases, catcher
        self.app = create_app(config)

    def session(self):
        """An app context for seeding: `with cluster.session() as session: ...`."""
        return _SessionContext(self.app)


class _SessionContext:
    def __init__(self, app):
        self.app = app

    def __enter__(self):
        self.context = self.app.app_context()
        self.context.push()
        return _db.session

    def __exit__(self, *exc):
        _db.session.remove()
        self.context.pop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Two gunicorn instances and two outbox workers on one PostgreSQL database and one Redis."""
    postgres_only()
    require_redis()
    require_gunicorn()
    tmp_path = tmp_path_factory.mktemp("multi")
    with scratch_postgres_database("harness") as database_url, MailCatcher(slow=0.03) as catcher:
        config = harness_config(tmp_path, database_url, RATELIMIT_STORAGE_URI=TEST_REDIS_URL,
                                MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=catcher.port, MAIL_SMTP_STARTTLS=False,
                                OUTBOX_CLAIM_TIMEOUT_SECONDS=1)
        upgrade_schema(config)
        processes = Processes(config, tmp_path)
        try:
            # The workers boot while the instances do; only the instances are waited for.
            processes.outbox_worker("worker-1")
            processes.outbox_worker("worker-2")
            bases = processes.gunicorns("instance-a", "instance-b")
            running = Cluster(config, processes, bases, catcher)
            yield running
            with running.app.app_context():
                _db.engine.dispose()
        finally:
            processes.stop_all()
