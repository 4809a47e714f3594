"""Measure HTTP servers with wrk, a C load generator that a Python client cannot bottleneck.

Shared by the benchmark scripts: start gunicorn on 127.0.0.1, run wrk against it for a
bounded time, read requests per second and the latency distribution from wrk's own report.
wrk is installed from the system packages when it is missing (`apt-get install wrk`).
"""

import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # never anything else: the benchmarks only talk to this machine

# One request per call from a list that wrk's threads share out: thread k takes entries
# k, k + n, k + 2n ... so no two connections post the same free time. Each line of the
# requests file is "METHOD<TAB>PATH<TAB>COOKIE<TAB>BODY".
POST_LIST_LUA = r"""
local lines = {}
for line in io.lines(os.getenv("WRK_REQUESTS")) do lines[#lines + 1] = line end
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  stride = tonumber(os.getenv("WRK_THREADS"))
  index = id
end
function request()
  local line = lines[index]
  if line == nil then
    -- The list is used up: stop the thread rather than go on repeating a request (a second booking
    -- of the same patient is answered "already booked", a different and cheaper page). wrk still
    -- wants a request from this call: at most one per connection may go out as the thread stops.
    wrk.thread:stop()
    used_up = true
    line = lines[#lines]
  end
  index = index + stride
  local method, path, cookie, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded", ["Cookie"] = cookie}
  return wrk.format(method, path, headers, body)
end
function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    if thread:get("used_up") then print("list used up") return end
  end
end
"""


def ensure_wrk():
    """The path of wrk, installing Debian's package first when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: installing it from the system packages (apt-get install wrk)...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env,
                   stdout=subprocess.DEVNULL)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which("wrk")


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving one WSGI app on 127.0.0.1 with sync workers; `stop()` ends it."""

    def __init__(self, target, workers, env, access_log=None, access_format="%(m)s %(U)s %(s)s %(D)s"):
        """`access_log`: a file where gunicorn writes a line per request, in `access_format`,
        whose last field must be the time it took in microseconds (%(D)s; see access_times)."""
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        logging = ["--access-logfile", str(access_log), "--access-logformat", access_format] if access_log else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{self.port}",
             "--log-level", "warning", "--timeout", "60", *logging, target],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{target} did not start")

    def worker_rss_kib(self):
        """{pid: resident memory in KiB} of each worker process (the gunicorn master's children)."""
        found = {}
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue  # the process ended while we looked
            fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            if fields.get("PPid", "").strip() == str(self.process.pid) and "VmRSS" in fields:
                found[int(status.parent.name)] = int(fields["VmRSS"].split()[0])
        return found

    def worker_rss_mb(self):
        """Resident memory of each worker process, in MB."""
        return [kib / 1024 for kib in self.worker_rss_kib().values()]

    def stop(self):
        """Stop gunicorn and its workers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def access_times(lines):
    """The seconds each request took, from access-log lines whose last field is %(D)s (microseconds)."""
    return [int(line.rsplit(None, 1)[1]) / 1e6 for line in lines if line.strip()]


def percentile_ms(seconds, share):
    """The nearest-rank percentile in ms: the smallest value with at least `share` of them at or below it."""
    ordered = sorted(seconds)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] * 1000 if ordered else float("nan")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _milliseconds(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def parse_report(output):
    """wrk's report as {"rps", "requests", "errors", "non_2xx", "p50", "p99"} (latencies in ms)."""
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
              "requests": int(re.search(r"(\d+) requests in", output).group(1)),
              "non_2xx": int((re.search(r"Non-2xx or 3xx responses: (\d+)", output) or [0, 0])[1]),
              "errors": 0}
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        result["errors"] = sum(int(n) for n in socket_errors.groups())
    for percent, key in (("50", "p50"), ("99", "p99")):
        match = re.search(rf"^\s+{percent}%\s+(\S+)\s*$", output, re.MULTILINE)
        result[key] = _milliseconds(match.group(1)) if match else float("nan")
    return result


def run_wrk(url, seconds, connections=16, threads=2, cookie=None, requests=None):
    """Load `url` for `seconds`; `requests` is a list of (method, path, cookie, body) to send in turn."""
    command = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    env = dict(os.environ, WRK_THREADS=str(threads))
    with tempfile.TemporaryDirectory(prefix="wrk-") as folder:
        if requests:
            script, listing = Path(folder, "post.lua"), Path(folder, "requests.tsv")
            script.write_text(POST_LIST_LUA)
            listing.write_text("".join("\t".join(fields) + "\n" for fields in requests))
            command += ["-s", str(script)]
            env["WRK_REQUESTS"] = str(listing)
        command.append(url)
        output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    result = parse_report(output)
    # Used up: a thread stopped before the run's end, so its req/s (over the whole run) is a lower bound.
    result["used_up"] = "list used up" in output
    return result
