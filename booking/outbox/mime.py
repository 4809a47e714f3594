"""Build the email for an outbox row. Pure: no database, no Flask.

An invite follows iMIP (RFC 6047): multipart/mixed holding a multipart/alternative of the
text body and a `text/calendar; method=REQUEST` (or CANCEL) part whose method matches the
file's METHOD, then the same file as an `invite.ics` attachment for clients that only
offer attachments.
"""

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from booking.timeutil import as_utc


def message_id(outbox_id, created_at, domain):
    """A Message-ID that stays the same on every retry, so a receiver can drop a duplicate."""
    return f"<outbox-{outbox_id}-{int(as_utc(created_at).timestamp())}@{domain}>"


def from_address(clinic_name, clinic_email, mail_from=None):
    """The From header: MAIL_FROM if set, else the clinic's name and address."""
    if mail_from:
        return mail_from
    username, _, domain = clinic_email.partition("@")
    return str(Address(display_name=clinic_name, username=username, domain=domain))


def build_email(*, outbox_id, created_at, sender, recipient, subject, body, domain, ics=None, ics_method=None):
    """Return the EmailMessage for one outbox row (iMIP when `ics` is given)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(as_utc(created_at))
    message["Message-ID"] = message_id(outbox_id, created_at, domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    if ics:
        if ics_method not in ("REQUEST", "CANCEL") or f"METHOD:{ics_method}" not in ics:
            raise ValueError("the calendar part's method must match the file's METHOD")
        message.add_alternative(ics, subtype="calendar", params={"method": ics_method})
        message.add_attachment(ics.encode("utf-8"), maintype="application", subtype="ics",
                               filename="invite.ics")
    return message
