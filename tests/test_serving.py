"""`make serve`: rate limits shared by gunicorn workers through Redis, or a refusal to start."""

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

import pytest

from booking import create_app
from booking.extensions import db
from booking.serving import PerWorkerRateLimits, check_workers, choose_rate_limit_store
from tests.conftest import base_test_config, require_or_skip

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


def test_several_workers_with_memory_counters_are_refused_unless_allowed():
    with pytest.raises(PerWorkerRateLimits, match="ALLOW_PER_WORKER_RATE_LIMITS"):
        check_workers(2, "memory://")
    check_workers(1, "memory://")
    check_workers(2, "memory://", allowed=True)
    check_workers(4, "redis://127.0.0.1:6379")


def test_redis_is_used_when_it_answers_and_a_configured_shared_store_is_kept():
    assert choose_rate_limit_store("memory://", "redis://r:6379", answers=lambda url: True) == "redis://r:6379"
    assert choose_rate_limit_store("memory://", "redis://r:6379", answers=lambda url: False) == "memory://"
    assert choose_rate_limit_store("redis://mine:6379", "redis://r:6379", answers=lambda url: True) == \
        "redis://mine:6379"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(tmp_path, workers, extra_env):
    """gunicorn with `make serve`'s config file serving a test app on a free port: (process, port, log)."""
    config = base_test_config(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'serve.sqlite'}",
                              LOGIN_RATE_LIMIT="20 per minute", RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}")
    app = create_app(config)
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    port, log = free_port(), tmp_path / "access.log"
    env = dict(os.environ, TEST_APP_CONFIG=json.dumps(config), **extra_env)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn_config.py", "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--access-logfile", str(log), "--access-logformat", "%(p)s %(s)s",
         "tests.gunicorn_app:app"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return process, port, log


def wait_until_serving(process, port):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("gunicorn stopped: " + process.stderr.read())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def attempt_sign_in(port):
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    body = urlencode({"email": "nobody@clinic.example", "password": "not a password at all"})
    connection.request("POST", "/staff/login", body, {"Content-Type": "application/x-www-form-urlencoded",
                                                      "Connection": "close"})
    status = connection.getresponse().status
    connection.close()
    return status


def test_two_gunicorn_workers_hold_twenty_sign_ins_a_minute_together(tmp_path):
    import redis

    try:
        redis.Redis.from_url(TEST_REDIS_URL).ping()
    except redis.exceptions.RedisError as error:
        require_or_skip(f"Redis not available at {TEST_REDIS_URL}: {error}")
    # The app is configured with memory:// as by default; `make serve`'s hook finds Redis and uses it.
    process, port, log = start_gunicorn(tmp_path, 2, {"SERVE_REDIS_URL": TEST_REDIS_URL})
    try:
        wait_until_serving(process, port)
        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(lambda _n: attempt_sign_in(port), range(40)))
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert statuses.count(401) == 20 and statuses.count(429) == 20, statuses
    served_by = {line.split()[0] for line in log.read_text().splitlines() if line.strip()}
    assert len(served_by) == 2, "both workers should have answered"


def test_two_workers_without_a_shared_store_refuse_to_start_and_say_why(tmp_path):
    # Nothing listens on port 1, so no Redis is found and the counters would stay in each worker.
    process, _port, _log = start_gunicorn(tmp_path, 2, {"SERVE_REDIS_URL": "redis://127.0.0.1:1/0"})
    try:
        _out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0
    assert "Refusing to start 2 workers with rate limits kept in process memory" in err


def test_the_served_app_sets_its_start_up_heap_aside_from_full_garbage_collections(tmp_path):
    """A full collection walked every object the app holds: 50-120 ms every few dozen requests of
    the big clinic's day page, which set its p99. wsgi.py freezes them once the app is built."""
    env = dict(os.environ, SECRET_KEY="s" * 48, PATIENT_SEARCH_KEY="p" * 48,
               DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite'}")
    result = subprocess.run([sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 10_000  # the app's objects, not a handful
