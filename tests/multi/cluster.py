"""Start and stop the harness's processes: gunicorn instances, outbox workers, an SMTP server,
a private PostgreSQL cluster. Loopback only, free ports only; everything is stopped by pid.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from email import message_from_bytes
from glob import glob
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
APP_MODULE = "tests.multi.served_app"
OUTBOX_INTERVAL = 0.2  # seconds between an outbox worker's rounds


def free_port():
    """A port the OS says is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(config):
    """The environment a harness process runs with: the app's settings as JSON."""
    return dict(os.environ, BOOKING_TEST_CONFIG=json.dumps(config), PYTHONPATH=str(ROOT))


def flask(config, *args, check=True):
    """Run `flask --app tests.multi.served_app ARGS` to completion."""
    return subprocess.run([str(BIN / "flask"), "--app", APP_MODULE, *args], cwd=ROOT, env=environment(config),
                          capture_output=True, text=True, check=check, timeout=300)


def wait_until_answers(check, timeout=60, what="the server"):
    """Call `check()` until it returns True (connection errors count as not yet); raise after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not answer within {timeout} s")


def wait_for(url, timeout=60):
    """Poll `url` until it answers 200."""
    def answers():
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200

    wait_until_answers(answers, timeout, url)


class Processes:
    """Child processes started by the harness, each stopped by its own pid."""

    def __init__(self, config, logs):
        self.config, self.logs = config, Path(logs)
        self.children = []

    def start(self, name, command):
        log = open(self.logs / f"{name}.log", "ab")
        child = subprocess.Popen(command, cwd=ROOT, env=environment(self.config), stdout=log, stderr=log,
                                 start_new_session=True)
        log.close()
        self.children.append(child)
        return child

    def gunicorns(self, *names, workers=2):
        """Start one instance per name, all at once (they boot in parallel); returns their base URLs
        once every /healthz answers."""
        bases = [self._start_gunicorn(free_port(), name, workers) for name in names]
        for base in bases:
            wait_for(base + "/healthz")
        return bases

    def gunicorn_on(self, port, name, workers=2):
        """Start an instance of the app on `port`; returns its base URL once /healthz answers."""
        base = self._start_gunicorn(port, name, workers)
        wait_for(base + "/healthz")
        return base

    def _start_gunicorn(self, port, name, workers):
        self.start(name, [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
                          "--graceful-timeout", "5", "--no-control-socket", APP_MODULE + ":app"])
        return f"http://127.0.0.1:{port}"

    def outbox_worker(self, name, interval=OUTBOX_INTERVAL):
        """Start `flask outbox send --loop`, a round every `interval` seconds (a busy clinic's
        worker would wait longer; a short round keeps the harness quick)."""
        return self.start(name, [str(BIN / "flask"), "--app", APP_MODULE, "outbox", "send", "--loop",
                                 "--interval", str(interval)])

    def stop_all(self):
        """SIGTERM each child's own process group, then SIGKILL what is left."""
        for child in self.children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


class MailCatcher:
    """An aiosmtpd server that keeps every message it accepted (as an SMTP server would).

    `slow` seconds of delay at RCPT TO make each send take a moment, so a worker can be killed
    in the middle of one.
    """

    def __init__(self, slow=0.0):
        from aiosmtpd.controller import Controller

        self.messages, self._lock, self.slow = [], threading.Lock(), slow
        catcher = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, options):
                if catcher.slow:
                    import asyncio

                    await asyncio.sleep(catcher.slow)
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                with catcher._lock:
                    catcher.messages.append(message_from_bytes(envelope.content))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def message_ids(self):
        """The Message-ID of every message accepted, in order (a duplicate appears twice)."""
        with self._lock:
            return [message["Message-ID"] for message in self.messages]


class PrivateCluster:
    """A PostgreSQL cluster of the test's own (initdb in a temp dir, pg_ctl on a free port).

    initdb refuses to run as root, so the programs run as the `postgres` user when we are root.
    """

    def __init__(self):
        found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise FileNotFoundError("initdb not found under /usr/lib/postgresql/*/bin")
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.directory = tempfile.mkdtemp(prefix="booking-pg-")
        self.data = os.path.join(self.directory, "data")
        self.user_prefix = []
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self.user_prefix = ["runuser", "-u", "postgres", "--"]

    def url(self, database="postgres"):
        """A SQLAlchemy URL of one of the cluster's databases."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args):
        return subprocess.run([*self.user_prefix, *args], capture_output=True, text=True, check=True, timeout=120)

    def init(self):
        self._run(str(self.bin / "initdb"), "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self):
        self._run(str(self.bin / "pg_ctl"), "-D", self.data, "-w", "-l", os.path.join(self.directory, "pg.log"),
                  "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "start")

    def stop(self, mode="fast"):
        self._run(str(self.bin / "pg_ctl"), "-D", self.data, "-w", "-m", mode, "stop")

    def destroy(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.directory, ignore_errors=True)
