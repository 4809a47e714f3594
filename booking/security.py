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

SECURE_HEADERS = SECURITY_HEADERS + (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)
NO_STORE = (("Cache-Control", "no-store"),)
# Where finish_request leaves the headers it chose, for AddHeaders.
HEADERS_KEY = "booking.added_headers"

log = logging.getLogger("booking.requests")
# How werkzeug's development server starts every line about a request: "<address> - - [<date>] ...".
REQUEST_LINE = re.compile(r"^\S+ - - \[")


class AddHeaders:
    """WSGI middleware: adds the headers `finish_request` chose to the response, except those the
    view set itself (a header the view set wins).

    Appended to the plain list the response starts with: adding them through werkzeug's Headers
    checked each constant value again, a tenth of a cached page's cost.
    """

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            wanted = environ.get(HEADERS_KEY)
            if wanted:
                present = {name.lower() for name, _value in headers}
                headers = list(headers) + [pair for pair in wanted if pair[0].lower() not in present]
            return start_response(status, headers, exc_info)
        return self.wsgi_app(environ, start)


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


LOG_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"


class LogFormatter(logging.Formatter):
    """The standard format, with the date and time part built once per second rather than per line."""

    _stamp = (None, "")

    def formatTime(self, record, datefmt=None):  # noqa: N802  (logging's name)
        return self.default_msec_format % (self.second_of(record.created), record.msecs)

    def second_of(self, created):
        """The date and time to the second of an instant (`time.time()`), as `asctime` starts."""
        second, stamp = self._stamp
        if second != int(created):
            second = int(created)
            stamp = time.strftime(self.default_time_format, self.converter(created))
            self._stamp = (second, stamp)
        return stamp


class AccessLog:
    """The one line each request writes to `booking.requests` ("GET guide.index 200 1.2ms").

    Through logging, that line cost a cached week page 0.1 M instructions of 1.38 M (a
    LogRecord of thirty attributes, two filters, the formatter, two locks). While logging stands as `configure_logging` left it, the same line goes
    straight to the same stream under the handler's lock: its template is LOG_FORMAT itself,
    filled in once with this logger's name and level, and dated by the handler's formatter.
    Any other set-up (another handler or filter, propagation turned on, a level that hides
    the line, `logging.disable`) is seen on the next line, which then goes through logging
    as any other record does.
    """

    def __init__(self, logger, handler, message):
        self.logger, self.handler, self.message = logger, handler, message
        self.parent = logging.getLogger(logger.name.rpartition(".")[0])
        # "%s,%03d INFO [%s] booking.requests: %s %s %s %.1fms": date, milliseconds, request id, arguments.
        self.template = LOG_FORMAT % {"asctime": handler.formatter.default_msec_format, "levelname": "INFO",
                                      "request_id": "%s", "name": logger.name, "message": message}

    def straight(self):
        """Whether logging would send this logger's INFO line to `handler` alone, formatted as LOG_FORMAT."""
        logger, parent, handler = self.logger, self.parent, self.handler
        return (not logger.handlers and not logger.filters and logger.propagate and not logger.disabled
                and logger.isEnabledFor(logging.INFO) and logger.parent is parent
                and len(parent.handlers) == 1 and parent.handlers[0] is handler and not parent.filters
                and not parent.propagate and handler.level <= logging.INFO
                and type(handler.formatter) is LogFormatter and handler.formatter._fmt == LOG_FORMAT  # noqa: SLF001
                and len(handler.filters) == 1 and type(handler.filters[0]) is RequestIdFilter)

    def write(self, request_id, *args):
        """Write the line for the request `request_id`, its message filled in with `args`."""
        if not self.straight():
            self.logger.info(self.message, *args)
            return
        handler, created = self.handler, time.time()
        line = self.template % (handler.formatter.second_of(created), (created - int(created)) * 1000,
                                request_id, *args)
        handler.acquire()
        try:
            handler.stream.write(line + handler.terminator)
            handler.stream.flush()
        except Exception:  # noqa: BLE001  as StreamHandler.emit: a broken stream must not fail the request
            handler.handleError(self.logger.makeRecord(self.logger.name, logging.INFO, "", 0, self.message, args, None))
        finally:
            handler.release()


access_log = None  # the AccessLog of `booking.requests`, once configure_logging has run


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
    global access_log  # noqa: PLW0603  one per process, as the handler it writes to
    logger = logging.getLogger("booking")
    if getattr(logger, "_configured", False):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(LogFormatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger._configured = True
    access_log = AccessLog(log, handler, "%s %s %s %.1fms")


def init_app(app: Flask):
    """Install the request id, the access log line and the security headers."""
    configure_logging()

    app.wsgi_app = AddHeaders(app.wsgi_app)

    @app.before_request
    def start_request():
        environ = request.environ
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        context = g._get_current_object()  # noqa: SLF001  one context lookup, not one per attribute
        context.request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else secrets.token_hex(8)
        context.request_started = time.perf_counter()

    @app.after_request
    def finish_request(response):
        current = request._get_current_object()  # noqa: SLF001  one context lookup, not one per attribute
        environ = current.environ
        endpoint = current.endpoint
        wanted = SECURE_HEADERS if environ.get("wsgi.url_scheme") == "https" else SECURITY_HEADERS
        if endpoint and not endpoint.startswith(("guide.", "static")):
            wanted += NO_STORE  # pages with personal data: no shared cache, no back-forward cache
        context = g._get_current_object()  # noqa: SLF001
        environ[HEADERS_KEY] = wanted + (("X-Request-Id", context.get("request_id", "")),)
        # The endpoint name, not the path: paths can carry private link tokens.
        elapsed = (time.perf_counter() - context.get("request_started", time.perf_counter())) * 1000
        access_log.write(context.get("request_id", "-"), current.method, endpoint or "-", response.status_code, elapsed)
        return response
