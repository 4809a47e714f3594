"""A database that cannot be reached gives a friendly 503, never a traceback or a 500."""

import socket

from booking import create_app
from tests.conftest import base_test_config


def closed_port():
    """A local port nothing listens on (bound, read, released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_app(tmp_path):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nowhere?connect_timeout=2"
    return create_app(base_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=url))


def test_pages_say_the_system_is_briefly_unavailable(tmp_path):
    response = unreachable_app(tmp_path).test_client().get("/book/start/" + "x" * 43)
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "briefly unavailable" in body and "Nothing was saved" in body
    assert "Traceback" not in body and "psycopg" not in body and "127.0.0.1" not in body
    assert response.headers["Retry-After"] == "30"


def test_healthz_answers_503_without_a_database(tmp_path):
    response = unreachable_app(tmp_path).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "database unavailable"}
