"""Sign-in limits shared through Redis, as several gunicorn instances need."""

import uuid

import pytest

from tests.conftest import require_or_skip

REDIS_URI = "redis://127.0.0.1:6379"


@pytest.fixture
def redis_uri():
    """The local Redis, or a skip (a failure under REQUIRE_ALL_TESTS) when it is not running."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URI, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as error:
        require_or_skip(f"Redis not available at {REDIS_URI}: {error}")
    return REDIS_URI


def attempt(app, address):
    return app.test_client().post("/staff/login", data={"email": "x@clinic.example", "password": "p" * 12},
                                  environ_base={"REMOTE_ADDR": address})


def test_a_second_instance_sees_the_first_instances_attempts(make_app, redis_uri):
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    first = make_app(RATELIMIT_STORAGE_URI=redis_uri, LOGIN_RATE_LIMIT="2 per minute")
    assert attempt(first, address).status_code == 401
    assert attempt(first, address).status_code == 401
    # A new app is a new limiter storage object, as in another gunicorn instance: only a
    # shared store can know about the two attempts above.
    second = make_app(RATELIMIT_STORAGE_URI=redis_uri, LOGIN_RATE_LIMIT="2 per minute")
    assert attempt(second, address).status_code == 429

