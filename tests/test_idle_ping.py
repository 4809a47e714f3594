"""Pooled PostgreSQL connections are pinged only after sitting idle, and a dead one is replaced before use."""

import pytest
import sqlalchemy as sa

from booking.extensions import db as _db
from booking.extensions import read_pool_of
from tests.booking_factories import add_clinician, add_intake
from tests.conftest import postgres_only


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def pinged_app(make_app, monkeypatch):
    """An app with one pooled connection, a clock the test moves, and a count of pings."""
    postgres_only()
    app = make_app(SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0}, DATABASE_PING_IDLE_SECONDS=1.0)
    with app.app_context():
        engine = _db.engine
    clock = Clock()
    pings = []
    # Both pools: the app's, and the read pool the week page's one query uses (extensions.add_read_pool).
    for pinged in (engine, read_pool_of(engine)):
        app.extensions["booking_idle_ping"][pinged].clock = clock
        monkeypatch.setattr(pinged.dialect, "do_ping",
                            lambda connection, real=pinged.dialect.do_ping: pings.append(1) or real(connection))
    engine.dispose()  # start from empty pools (the read pool's too), after the test's own setup
    return app, engine, clock, pings


def server_pid(app, pool=None):
    """The server process behind the pool's one connection (the app's pool, or `pool`)."""
    with app.app_context(), (pool or _db.engine).connect() as connection:
        return connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def read_server_pid(app):
    """The server process behind the read pool's one connection."""
    with app.app_context():
        return server_pid(app, read_pool_of(_db.engine))


def terminate(app, pid):
    """End that server process from a connection outside the pool, as a restart would."""
    outside = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    with outside.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    outside.dispose()


def test_a_connection_returned_a_moment_ago_is_not_pinged_and_one_left_idle_is(make_app, monkeypatch):
    app, _engine, clock, pings = pinged_app(make_app, monkeypatch)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # a new connection: just connected, no ping
    clock.now += 0.5
    assert client.get("/healthz").status_code == 200
    assert pings == []
    clock.now += 1.0
    assert client.get("/healthz").status_code == 200
    assert pings == [1]


# Each pool through a request that uses it: /healthz's SELECT 1 runs on the read pool, and a
# manage link (here one that matches no booking: 404) is looked up on the app's pool.
POOLS = [pytest.param("/healthz", 200, read_server_pid, id="read pool"),
         pytest.param("/book/manage/" + "n" * 43, 404, server_pid, id="app's pool")]


@pytest.mark.parametrize(("path", "status", "pid_of"), POOLS)
def test_a_connection_that_died_while_idle_is_replaced_before_the_request_uses_it(
        make_app, monkeypatch, path, status, pid_of):
    app, _engine, clock, _pings = pinged_app(make_app, monkeypatch)
    first = pid_of(app)
    terminate(app, first)
    clock.now += 5
    client = app.test_client()
    assert client.get(path).status_code == status
    assert pid_of(app) != first


@pytest.mark.parametrize(("path", "status", "pid_of"), POOLS)
def test_a_connection_that_died_within_the_idle_window_fails_one_request_politely_then_is_replaced(
        make_app, monkeypatch, path, status, pid_of):
    app, _engine, _clock, _pings = pinged_app(make_app, monkeypatch)
    first = pid_of(app)
    terminate(app, first)
    client = app.test_client()
    response = client.get(path)
    assert response.status_code == 503
    if path == "/healthz":
        assert response.get_json() == {"status": "database unavailable"}
    assert client.get(path).status_code == status
    assert pid_of(app) != first


def week_page_with_its_connection_ended(make_app, monkeypatch):
    """(app, clock, pings, a patient's client, the ended server process): the patient saw the week
    page once, then the server process behind the read pool's connection was ended."""
    app, _engine, clock, pings = pinged_app(make_app, monkeypatch)
    with app.app_context():
        add_clinician(_db.session)
        _intake, token = add_intake(_db.session, app.config)
    patient = app.test_client()
    patient.get(f"/book/start/{token}")
    assert patient.get("/book/").status_code == 200
    first = read_server_pid(app)
    terminate(app, first)
    return app, clock, pings, patient, first


def test_the_week_page_on_a_connection_lost_mid_use_is_the_friendly_503_then_works_again(make_app, monkeypatch):
    # The week page reads the patient's state straight from the driver (extensions.DriverRead):
    # a lost connection must still become SQLAlchemy's error, the 503 page, and a replaced connection.
    app, _clock, _pings, patient, first = week_page_with_its_connection_ended(make_app, monkeypatch)
    response = patient.get("/book/")
    assert response.status_code == 503 and "briefly unavailable" in response.get_data(as_text=True)
    assert "Choose a consultation time" in patient.get("/book/").get_data(as_text=True)
    assert read_server_pid(app) != first


def test_the_week_pages_read_pool_connection_left_idle_is_pinged_and_a_dead_one_replaced_unseen(
        make_app, monkeypatch):
    app, clock, pings, patient, first = week_page_with_its_connection_ended(make_app, monkeypatch)
    clock.now += 5  # idle past the window: pinged, found dead, replaced before the read
    pings.clear()
    assert "Choose a consultation time" in patient.get("/book/").get_data(as_text=True)
    assert pings and read_server_pid(app) != first
