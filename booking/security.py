"""Response headers, request ids and logging that never records form contents."""

import logging
import re
import secrets
import time

from flask import Flask, g, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
])

# Added to every response unless the view set its own.
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("Referrer-Policy", "no-referrer"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)

log = logging.getLogger("booking.requests")
# How werkzeug's development server starts every line about a request: "<address> - - [<date>] ...".
REQUEST_LINE = re.compile(r"^\S+ - - \[")


class RequestIdFilter(logging.Filter):
    """Add the current request id (or '-') to every log record."""

    def filter(self, record):
        try:
            record.request_id = g.get("request_id", "-")
        except RuntimeError:  # outside a request
            record.request_id = "-"
        return True


class DropPathLines(logging.Filter):
    """Drop werkzeug's per-request lines (`flask run`): they print the path, which can hold a
    private-link token. The app's own line (booking.requests) names the endpoint instead."""

    def filter(self, record):
        return not REQUEST_LINE.match(str(record.msg))


class LogFormatter(logging.Formatter):
    """The standard format, with the date and time part built once per second rather than per line."""

    _stamp = (None, "")

    def formatTime(self, record, datefmt=None):  # noqa: N802  (logging's name)
        second, stamp = self._stamp
        if second != int(record.created):
            second = int(record.created)
            stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._stamp = (second, stamp)
        return self.default_msec_format % (stamp, record.msecs)


def configure_logging():
    """Send the app's log lines, each with its request id, to stderr (once per process).

    No line format here names a source line, thread or process, so records do not look them
    up: logging's own documented switches ("Optimization" in the logging HOWTO) spare every
    request's line a walk of the call stack.
    """
    logging._srcfile = None  # noqa: SLF001  documented switch: no findCaller() per record
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    werkzeug_logger = logging.getLogger("werkzeug")
    if not any(isinstance(existing, DropPathLines) for existing in werkzeug_logger.filters):
        werkzeug_logger.addFilter(DropPathLines())
    logger = logging.getLogger("booking")
    if getattr(logger, "_configured", False):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(LogFormatter("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"))
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger._configured = True


def init_app(app: Flask):
    """Install the request id, the access log line and the security headers."""
    configure_logging()

    @app.before_request
    def start_request():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def finish_request(response):
        headers = response.headers
        endpoint = request.endpoint
        # A header the view set itself wins. One pass over the present names, then appends:
        # setting each header in turn scanned the list every time (a tenth of a cached page's cost).
        present = {name.lower() for name, _value in headers}
        wanted = list(SECURITY_HEADERS)
        if request.is_secure:
            wanted.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
        if endpoint and not endpoint.startswith(("guide.", "static")):
            # Pages with personal data must not sit in shared caches or the back-forward cache.
            wanted.append(("Cache-Control", "no-store"))
        wanted.append(("X-Request-Id", g.get("request_id", "")))
        headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        # The endpoint name, not the path: paths can carry private link tokens.
        elapsed = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        log.info("%s %s %s %.1fms", request.method, endpoint or "-", response.status_code, elapsed)
        return response
