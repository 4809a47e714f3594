"""Friendly error pages. No stack trace, form content or token ever reaches the page."""

import logging

import sqlalchemy as sa
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from booking.extensions import db
from booking.page_cache import render_shared

log = logging.getLogger("booking.errors")

MESSAGES = {
    400: ("Something in that request was not right",
          "The page could not use what was sent. Go back, check the form and try again."),
    403: ("You do not have access to this page",
          "Your account's role does not include this page. Ask an administrator if you need it."),
    404: ("Page not found",
          "The address may be mistyped, or the link may have expired or been replaced by a newer one."),
    405: ("That action is not available here", "Go back and use the buttons on the page."),
    413: ("That was too much to send at once", "Shorten the text and try again."),
    429: ("Too many attempts",
          "Please wait a few minutes before trying again; this limit protects patients and staff "
          "from automated abuse. If you need help now, call the clinic."),
    503: ("The booking system is briefly unavailable",
          "Nothing was saved from this request. Please try again in a minute; if it keeps happening, "
          "call the clinic."),
    500: ("Something went wrong on our side",
          "Nothing you did caused this. Please try again in a moment; if it keeps happening, call the clinic."),
}


def render_error(code, title=None, message=None):
    """Render the error page for `code` with the standard or a given title and message."""
    default_title, default_message = MESSAGES.get(code, MESSAGES[500])
    title, message = title or default_title, message or default_message
    try:
        return render_shared((code, title, message), "errors/error.html", code=code, title=title,
                             message=message), code
    except Exception:  # the page itself failed (say, the database is down): plain text still helps
        log.exception("error page failed to render")
        return f"{title}\n\n{message}\n", code, {"Content-Type": "text/plain; charset=utf-8"}


def init_app(app):
    """Register handlers for HTTP errors, CSRF failures and unexpected exceptions."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400, "This form has expired",
            "For your security the form could not be accepted. Go back, reload the page and send it again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code in MESSAGES:
            body, code = render_error(error.code)[:2]
            # Keep what the error tells the client beyond the page (Allow on 405, Retry-After on 429).
            return body, code, [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
        return error

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def database_unavailable(error):
        # The server is down or restarting: the transaction never committed, so telling the
        # person to retry is true; the pool replaces dead connections once it is back
        # (extensions.IdlePing, and SQLAlchemy's own handling of the disconnect it saw).
        log.error("database unavailable: %s", type(getattr(error, "orig", error)).__name__)
        body, code = render_error(503)[:2]
        return body, code, {"Retry-After": "30"}

    @app.teardown_appcontext
    def close_session(_error):
        # Runs before Flask-SQLAlchemy's own teardown (teardowns run in reverse order). When the
        # server went away mid-request, the closing ROLLBACK fails too; the answer is already
        # made, so it must not be replaced by the WSGI server's bare 500. The pool drops the
        # dead connection (a failed reset invalidates it).
        try:
            db.session.remove()
        except sa.exc.SQLAlchemyError as error:
            log.warning("database session could not be closed: %s", type(getattr(error, "orig", error)).__name__)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        log.exception("unhandled error")  # the traceback goes to the log, never to the page
        return render_error(500)
