"""Shared fixtures: a fresh app and database per test, on SQLite or PostgreSQL.

TEST_DATABASE_URL picks the database for the whole run (SQLite files by default).
REQUIRE_ALL_TESTS=1 (set by .ci/run) turns "PostgreSQL/browser not available" skips into
failures, so CI cannot pass by skipping.
"""

import contextlib
import os

import pyotp
import pytest
import sqlalchemy as sa

from booking import create_app
from booking.config import normalise_database_url
from booking.extensions import db as _db
from booking.models import StaffUser

TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-the-check-0123456789"
TEST_INTAKE_KEY = "3q6Qx0Lq2-0mA5vJb8jY0pQ9fW4kR7tU1sN6zC2eH8o="
TEST_SEARCH_KEY = "test-patient-search-key-not-an-encryption-key-0123456789"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
POSTGRES = TEST_DATABASE_URL.startswith(("postgres://", "postgresql"))


def require_or_skip(reason):
    """Skip with `reason`, or fail when the run must not skip (REQUIRE_ALL_TESTS=1)."""
    if os.environ.get("REQUIRE_ALL_TESTS") == "1":
        pytest.fail(f"required but unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def postgres_only():
    """For tests that check PostgreSQL-specific behaviour: skip on the SQLite pass."""
    if not POSTGRES:
        pytest.skip("PostgreSQL-only behaviour; runs in the PostgreSQL pass (TEST_DATABASE_URL)")


def sqlite_only():
    """For tests of the embedded database's own behaviour: skip on the PostgreSQL pass."""
    if POSTGRES:
        pytest.skip("SQLite-only behaviour; runs in the SQLite pass")


@contextlib.contextmanager
def scratch_postgres_database(suffix):
    """An empty PostgreSQL database named after the test database plus `suffix` (so parallel
    runs on other test databases never clash); yields its URL and empties it again afterwards.

    Emptied (other connections ended, the public schema dropped and made anew) rather than dropped
    and created: DROP DATABASE waits for a checkpoint of the whole shared server, which takes
    seconds, up to fifteen on a busy machine. The empty database stays for the next run.
    """
    url = sa.engine.make_url(normalise_database_url(TEST_DATABASE_URL))
    name = f"{url.database}_{suffix}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}) is None:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    scratch = url.set(database=name)
    _empty_postgres_database(scratch)
    try:
        yield scratch.render_as_string(hide_password=False)
    finally:
        _empty_postgres_database(scratch)


def _empty_postgres_database(url):
    """End every other connection to the database at `url`, then drop and remake its public schema."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                       "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
            connection.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def base_test_config(tmp_path, **overrides):
    """Configuration for one test app; `overrides` win."""
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(TEST_DATABASE_URL) if POSTGRES
        else f"sqlite:///{tmp_path / 'test.sqlite'}",
        "WTF_CSRF_ENABLED": False,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "INTAKE_START_RATE_LIMIT": "1000 per minute",
        "BOOKING_ADDRESS_RATE_LIMIT": "1000 per minute",
        "BOOKING_EMAIL_RATE_LIMIT": "1000 per minute",
        "INTAKE_CORRECTION_RATE_LIMIT": "1000 per minute",
        "INTAKE_CORRECTION_ADDRESS_RATE_LIMIT": "1000 per minute",
        "SESSION_COOKIE_SECURE": False,
        "INTAKE_ENCRYPTION_KEYS": [TEST_INTAKE_KEY],
        "PATIENT_SEARCH_KEY": TEST_SEARCH_KEY,
        "GUIDE_OVERRIDE_DIR": str(tmp_path / "guide"),
        "OUTBOX_DIR": str(tmp_path / "outbox"),
    }
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def postgres_ready():
    """Check once that the PostgreSQL server answers, and build its schema for this run."""
    if not POSTGRES:
        return False
    engine = sa.create_engine(normalise_database_url(TEST_DATABASE_URL))
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        require_or_skip(f"PostgreSQL not available at TEST_DATABASE_URL: {error.orig}")
    finally:
        engine.dispose()
    return True


@pytest.fixture(scope="session")
def postgres_schema(postgres_ready, tmp_path_factory):
    """Create the PostgreSQL schema once per run; tests then only empty the tables."""
    if not postgres_ready:
        return
    app = create_app(base_test_config(tmp_path_factory.mktemp("schema")))
    with app.app_context():
        with _db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        _db.create_all()
        _db.engine.dispose()


def empty_tables(app):
    """Remove every row (TRUNCATE also passes the audit log's append-only guard)."""
    with app.app_context():
        names = ", ".join(f'"{table.name}"' for table in _db.metadata.sorted_tables)
        with _db.engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(autouse=True)
def fresh_statement_builds():
    """Statements that the rule modules build once per process are built afresh in each test, so a
    test (and a mutant under mutation testing) runs the code that builds them."""
    from booking.appointments.availability import plan_statements

    plan_statements.cache_clear()


@pytest.fixture
def make_app(tmp_path, postgres_schema):
    """Build test apps with extra settings: make_app(STAFF_IDLE_TIMEOUT=...). The database starts
    empty, unless keep_rows=True: a second app on the same rows, as after a restart."""
    apps = []

    def build(keep_rows=False, **overrides):
        app = create_app(base_test_config(tmp_path, **overrides))
        if POSTGRES and not keep_rows:
            empty_tables(app)
        else:
            with app.app_context():
                _db.create_all()
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


@pytest.fixture
def app(make_app):
    """A fresh app with an empty database."""
    return make_app()


@pytest.fixture
def db(app):
    """The database, inside an app context."""
    with app.app_context():
        yield _db


@pytest.fixture
def client(app):
    """A test client for `app`."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for `app`."""
    return app.test_cli_runner()


@pytest.fixture
def make_staff(app):
    """Create a staff account: make_staff("clinician") -> StaffUser (detached, with .password)."""
    from tests.factories import create_staff_user

    def make(role, **fields):
        with app.app_context():
            return create_staff_user(_db.session, role, **fields)

    return make


def sign_in_with_code(test_client, user, password=None):
    """Post the password, then (if asked) the authenticator code: returns the last response.

    The code's time step is freed first, so that one test may sign the same person in
    twice within 30 seconds (the refusal of a reused code has tests of its own).
    """
    response = test_client.post("/staff/login", data={"email": user.email, "password": password or user.password})
    if response.status_code == 302 and response.headers["Location"].startswith("/staff/login/code"):
        with test_client.application.app_context():
            _db.session.execute(sa.update(StaffUser).where(StaffUser.id == user.id).values(totp_last_step=None))
            _db.session.commit()
        response = test_client.post(response.headers["Location"], data={"code": pyotp.TOTP(user.totp).now()})
    return response


@pytest.fixture
def login(client):
    """Sign a staff member in through the real sign-in form, second factor included."""

    def sign_in(user, password=None, test_client=None):
        response = sign_in_with_code(test_client or client, user, password)
        assert response.status_code == 302 and not response.headers["Location"].startswith("/staff/login"), \
            "sign-in failed"
        return response

    return sign_in
