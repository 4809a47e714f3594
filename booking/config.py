"""Safe defaults. Deployment settings come from instance/config.py and the environment."""

import os
from datetime import timedelta

# Settings that may be given as environment variables, and how to read each one.
# Every other setting belongs in instance/config.py.
ENVIRONMENT_SETTINGS = {
    "SECRET_KEY": str,
    "PATIENT_SEARCH_KEY": str,
    "DATABASE_URL": str,
    "CLINIC_NAME": str,
    "CLINIC_TIMEZONE": str,
    "CLINIC_EMAIL": str,
    "CLINIC_PHONE": str,
    "CLINIC_ADDRESS": str,
    "CLINIC_DOMAIN": str,
    "RATELIMIT_STORAGE_URI": str,
    "STAFF_SESSION_REDIS_URL": str,
    "MAIL_SMTP_HOST": str,
    "MAIL_SMTP_PORT": int,
    "MAIL_SMTP_USERNAME": str,
    "MAIL_SMTP_PASSWORD": str,
    "MAIL_FROM": str,
    "PUBLIC_BASE_URL": str,
    "CONSULTATION_PRICE": str,
    "CONSULTATION_COSTS_TEXT": str,
}


class Config:
    """Defaults for every environment. Nothing here is a secret."""

    # There is deliberately no fallback SECRET_KEY: create_app refuses to start without one.
    SECRET_KEY = None
    BOOKING_ENV = "production"

    SQLALCHEMY_DATABASE_URI = None  # filled in by create_app: DATABASE_URL or instance/booking.sqlite
    SQLALCHEMY_ENGINE_OPTIONS = {}
    # A pooled server connection unused this long is pinged before use (extensions.IdlePing);
    # one used a moment ago is not. None: never ping.
    DATABASE_PING_IDLE_SECONDS = 1.0

    CLINIC_NAME = "Riverside Infusion Clinic"
    CLINIC_TIMEZONE = "America/New_York"
    CLINIC_EMAIL = "hello@clinic.example"
    CLINIC_PHONE = "(555) 010-0100"
    CLINIC_ADDRESS = "100 Main Street, Suite 2, Springfield"
    CLINIC_DOMAIN = "clinic.example"
    # Absolute base for links in emails and calendar feeds, e.g. "https://book.clinic.example".
    PUBLIC_BASE_URL = "http://127.0.0.1:5000"

    # Sessions: HttpOnly and SameSite always; Secure everywhere except local development.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # Staff sessions live on the server (booking/staff/sessions.py): the table by default,
    # Redis when STAFF_SESSION_REDIS_URL is set. The idle timeout is measured there.
    STAFF_IDLE_TIMEOUT = timedelta(minutes=15)
    STAFF_SESSION_LIFETIME = timedelta(hours=12)  # from sign-in, however active
    STAFF_SESSION_REDIS_URL = None
    STAFF_SESSION_REDIS_PREFIX = "booking:staff-session:"

    # Staff sign-in protection.
    STAFF_PASSWORD_MIN_LENGTH = 12
    STAFF_PASSWORD_MIN_SCORE = 3  # zxcvbn's 0-4 guessability score
    STAFF_MAX_FAILED_LOGINS = 5  # per account and address within STAFF_LOCKOUT
    STAFF_MAX_ACCOUNT_FAILED_LOGINS = 50  # per account from all addresses: a stranger cannot lock it alone
    STAFF_LOCKOUT = timedelta(minutes=15)
    STAFF_TOTP_FOR_RECEPTIONISTS = False  # admins and clinicians always need an authenticator code
    LOGIN_RATE_LIMIT = "20 per minute"
    # New questionnaires per client address: a clinic's shared tablet stays well inside this,
    # a script filling the database with drafts does not.
    INTAKE_START_RATE_LIMIT = "30 per hour"
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_KEY_PREFIX = "booking"  # keeps these counters apart from other programs in the same Redis
    # Patient links and email (issue 10): each email the app sends on a patient's request is
    # clinic-branded mail to an address someone typed, so every such request is counted.
    INTAKE_CORRECTION_LINK_MINUTES = 60  # a "correct my answers" link works once, this long
    INTAKE_CORRECTION_RATE_LIMIT = "3 per hour"  # correction links per questionnaire
    INTAKE_CORRECTION_ADDRESS_RATE_LIMIT = "10 per hour"  # ...and per client address
    BOOKING_ADDRESS_RATE_LIMIT = "20 per hour"  # bookings, moves, cancellations, links sent again: per client address
    BOOKING_EMAIL_RATE_LIMIT = "6 per day"  # bookings, and cancellations, per patient email address
    BOOKING_LINK_RATE_LIMIT = "3 per hour"  # new manage links emailed from the questionnaire's last page, per booking
    WAITLIST_OFFERS_PER_TIME = 3  # a freed time is emailed to this many waiting patients; the first to book gets it
    MANAGE_LINK_DAYS = 30  # a manage link stops working this long after the consultation or cancellation

    # Each server process keeps computed weeks of free times this many seconds at most (0: off).
    # Changes made through the app show at once anyway (the schedule version); the limit heals
    # changes made outside it (raw SQL). See booking/appointments/week_cache.py.
    BOOKING_WEEK_CACHE_SECONDS = 60
    # The all-clinician day grid shows this many clinicians at a time, with links to the others.
    SCHEDULE_DAY_COLUMNS = 10

    WTF_CSRF_TIME_LIMIT = None  # the session bounds a token's life; a long intake step must not expire it
    MAX_CONTENT_LENGTH = 1024 * 1024

    # Email goes through the outbox table. With no MAIL_SMTP_HOST, messages are written as
    # .eml files to OUTBOX_DIR (default <instance>/outbox); with one, they go by SMTP.
    MAIL_SMTP_HOST = None
    MAIL_SMTP_PORT = 587
    MAIL_SMTP_USERNAME = None
    MAIL_SMTP_PASSWORD = None
    MAIL_SMTP_STARTTLS = True  # refuse to send in the clear unless turned off (local relays only)
    MAIL_SMTP_TIMEOUT = 20  # seconds, per connection
    MAIL_FROM = None  # default: CLINIC_NAME <CLINIC_EMAIL>
    OUTBOX_DIR = None  # default: <instance>/outbox
    OUTBOX_MAX_TRIES = 8  # then the message is marked failed, its last error kept
    OUTBOX_RETRY_BASE_SECONDS = 60  # back-off: base, 2x base, 4x base... capped at 6 hours
    # A sender's lease on the one message it is sending; past it (a crashed sender) the message
    # is sent again. It must outlast the longest send, or a live sender's message would go twice:
    # an SMTP send is cut off at 60 s, connecting included (booking.outbox.backends.
    # SEND_DEADLINE_SECONDS), so 150 s leaves room for the database statements and a stalled
    # machine. (On PostgreSQL a message being sent is also row-locked, which claims skip.)
    OUTBOX_CLAIM_TIMEOUT_SECONDS = 150
    REMINDER_LEAD_HOURS = 24  # `flask send-reminders` queues a reminder this long before
    # Clinician calendar feeds: titles say "Consultation" unless the clinic turns names on.
    FEED_SHOW_PATIENT_NAMES = False
    # Calendar apps poll every few minutes; this bounds token guessing and audit-log flooding.
    FEED_RATE_LIMIT = "30 per minute"
    FEED_DAYS_BACK = 30
    EXPORT_MAX_DAYS = 366

    # Where a clinic's own guide pages live (overriding the packaged ones of the same name).
    GUIDE_OVERRIDE_DIR = None  # default: <instance>/guide

    # Intake (booking/intake). INTAKE_ENCRYPTION_KEYS comes from instance/config.py (see booking/crypto.py).
    INTAKE_CLEARANCE_BLOCKS_BOOKING = True  # a `clearance` flag stops booking until a clinician clears it
    INTAKE_REVIEW_RESPONSE_TIME = "two working days"  # shown to patients waiting for a clinician
    INTAKE_DRAFT_DAYS = 30  # drafts (and their resume links) last this long after the last save
    PCL5_CUTOFF = 33  # PCL-5 total at or above which the result reads "probable PTSD"
    BP_CLEARANCE_SYSTOLIC = 160  # a self-measured reading at or above either number needs clearance
    BP_CLEARANCE_DIASTOLIC = 100
    BP_REVIEW_SYSTOLIC = 140  # ...and at or above either of these, a clinician's review
    BP_REVIEW_DIASTOLIC = 90
    CONSENT_VERSION = "2026-11"  # a key of booking.intake.consent.CONSENT_TEXTS

    # Patients (booking/patients): the HMAC key of the blind search indexes, kept apart from the
    # encryption keys. No default: create_app refuses to start without one (like SECRET_KEY).
    # After changing it, run `flask rotate-search-key`.
    PATIENT_SEARCH_KEY = None

    # Booking rules: defaults until staff save their own in the clinic settings page.
    MIN_NOTICE_HOURS = 24
    BOOKING_HORIZON_DAYS = 60
    CANCEL_CUTOFF_HOURS = 24
    # What the consultation costs, shown on the guide's consultation page, the confirm page and the
    # booking's page (demo values: a clinic sets its own; None hides the line).
    CONSULTATION_PRICE = "$250"
    CONSULTATION_COSTS_TEXT = ("The consultation fee is paid at the clinic on the day. If treatment is suggested, "
                               "you get written prices for the whole course before you decide. Ask your insurer "
                               "whether it covers any part.")
    # What the confirmation page tells patients to bring.
    BOOKING_WHAT_TO_BRING = ("A photo ID, your insurance card if you have one, a list of your current "
                             "medications, and someone to drive you home if you have a treatment.")


class DevelopmentConfig(Config):
    """`make run` on a laptop: plain http on 127.0.0.1, so the cookie cannot be Secure."""

    BOOKING_ENV = "development"
    SESSION_COOKIE_SECURE = False


def settings_from_environment(environ=None):
    """Return the deployment settings present in the environment, converted to their types."""
    environ = os.environ if environ is None else environ
    found = {}
    for name, kind in ENVIRONMENT_SETTINGS.items():
        if environ.get(name):
            found[name] = kind(environ[name])
    if "DATABASE_URL" in found:
        found["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(found.pop("DATABASE_URL"))
    return found


def normalise_database_url(url):
    """Point postgres URLs at the psycopg 3 driver, which is the one we install."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url
