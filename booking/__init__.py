"""Consultation booking and intake for an infusion-therapy clinic."""

import functools
import os
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask, Request, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.utils import cached_property

from booking.config import Config, DevelopmentConfig, settings_from_environment

MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The app cannot start safely with the configuration it was given."""


# Query strings up to this long have their parsed arguments kept (1,024 of them: 0.5 MB at most).
SHARED_QUERY_MAX = 512


class BookingRequest(Request):
    """Flask's request, whose query arguments are parsed once per distinct query string.

    `args` is an ImmutableMultiDict, so requests can share it. The week page's link
    (`?clinician=any&week=...`) is the same for every patient looking at that week, and parsing
    it into a new MultiDict took 2% of that page's time.
    """

    @cached_property
    def args(self):
        """The parsed query arguments (werkzeug's own parse, shared with earlier requests of the same query)."""
        query = self.query_string
        if len(query) > SHARED_QUERY_MAX:
            return Request.args.__get__(self)  # noqa: PLC2801  werkzeug's own parse, not kept
        return _parsed_query(query)


@functools.lru_cache(maxsize=1024)
def _parsed_query(query):
    """Werkzeug's parse of `query` (bytes, as a request holds it), done on a blank request of that query string."""
    return Request.args.__get__(BookingRequest({"QUERY_STRING": query.decode("latin-1")}), BookingRequest)


class BookingFlask(Flask):
    """Flask, remembering per function whether it needs wrapping to run synchronously.

    Flask asks `inspect.iscoroutinefunction` again for every hook and view of every request
    (a tenth of a cached page's Python time); the answer for a function never changes.
    `ensure_sync` is Flask's documented place to change this.
    """

    request_class = BookingRequest

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_functions = {}

    def ensure_sync(self, func):
        """Flask's answer for `func`, worked out on first use."""
        found = self._sync_functions.get(func)
        if found is None:
            found = self._sync_functions[func] = super().ensure_sync(func)
        return found


def create_app(test_config=None):
    """Build the app. No side effects: no tables, no files, no prompts."""
    app = BookingFlask(__name__, instance_relative_config=True)
    development = os.environ.get("BOOKING_ENV") == "development"
    app.config.from_object(DevelopmentConfig if development else Config)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(settings_from_environment())
    else:
        app.config.update(test_config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            app.instance_path, "booking.sqlite"
        )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Wait for a busy database instead of failing at once when two requests write together.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.setdefault("connect_args", {"timeout": 30})
        # A file database has no server to drop idle connections: a ping per checkout is waste.
        options["pool_pre_ping"] = False
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    check_configuration(app.config)
    if app.config.get("TRUSTED_PROXIES"):
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from booking import cookie_session, routing

    cookie_session.init_app(app)
    routing.init_app(app)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)

    from booking import errors, input_check, security, templating

    security.init_app(app)
    input_check.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    return app


def check_configuration(config):
    """Raise ConfigurationError for settings the app must not run with."""
    secret = config.get("SECRET_KEY")
    if not secret or len(str(secret)) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            "SECRET_KEY is missing or shorter than 32 characters. Set it in instance/config.py "
            "or the SECRET_KEY environment variable, for example with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    search_key = config.get("PATIENT_SEARCH_KEY")
    if not search_key or len(str(search_key)) < MIN_SECRET_KEY_LENGTH or search_key == secret:
        raise ConfigurationError(
            "PATIENT_SEARCH_KEY is missing, shorter than 32 characters or the same as SECRET_KEY. `make run` "
            "writes one into instance/config.py; or generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    try:
        ZoneInfo(config["CLINIC_TIMEZONE"])
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigurationError(
            f"CLINIC_TIMEZONE {config['CLINIC_TIMEZONE']!r} is not an IANA time zone name "
            "such as America/New_York."
        ) from error


def register_extensions(app):
    """Bind the unbound extensions to this app."""
    from booking import models  # noqa: F401  (every table must be known to Migrate)
    from booking import ratelimit
    from booking.extensions import csrf, db, init_database_events, login_manager, migrate

    db.init_app(app)
    from booking import filemodes

    with app.app_context():  # creates the engine object only; nothing connects here
        filemodes.init_app(app, db.engine)
    init_database_events(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    init_csrf(app, csrf)
    ratelimit.init_app(app)
    # Templates get `current_user` lazily from booking.templating; Flask-Login's own context
    # processor would load a user (and write to the session) on every page.
    login_manager.init_app(app, add_context_processor=False)
    # No one signs in through Flask-Login's session here (a staff session is a server-side record
    # that `request_loader` finds), so its remember-me cookie is never set or cleared: its
    # after-request hook only looked for one, on every response (tests/test_staff_sessions.py
    # checks that nothing starts using it).
    app.after_request_funcs[None].remove(login_manager._update_remember_cookie)  # noqa: SLF001


def init_csrf(app, csrf):
    """Flask-WTF's CSRF check on every unsafe request, with its exemptions, as its own hook would.

    Its hook runs the exemption lookups before it looks at the method, on every GET too; this
    one asks the method first (`WTF_CSRF_CHECK_DEFAULT` off is Flask-WTF's documented way to
    call `protect()` from one's own hook).
    """
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf.init_app(app)

    config = app.config  # the app's own (a setting changed later is still seen): no context lookup per request

    @app.before_request
    def check_csrf():
        if config["WTF_CSRF_ENABLED"] and request.method in config["WTF_CSRF_METHODS"]:
            csrf.protect(apply_exemptions=True)


def register_blueprints(app):
    """One blueprint per feature."""
    from booking.appointments import bp as appointments_bp
    from booking.calendar import bp as calendar_bp
    from booking.guide import bp as guide_bp
    from booking.health import bp as health_bp
    from booking.intake import bp as intake_bp
    from booking.intake_review import bp as intake_review_bp
    from booking.outbox import bp as outbox_bp
    from booking.patients import bp as patients_bp
    from booking.schedule import bp as schedule_bp
    from booking.staff import bp as staff_bp
    from booking.waitlist import bp as waitlist_bp

    for blueprint in (health_bp, guide_bp, staff_bp, intake_bp, intake_review_bp, appointments_bp, calendar_bp,
                      outbox_bp, schedule_bp, patients_bp, waitlist_bp):
        app.register_blueprint(blueprint)


def register_commands(app):
    """Top-level CLI commands that belong to no single feature."""
    from booking.backups.cli import backup_command, restore_command
    from booking.big_clinic import seed_big_clinic_command
    from booking.demo import seed_demo_command

    for command in (seed_demo_command, seed_big_clinic_command, backup_command, restore_command):
        app.cli.add_command(command)
