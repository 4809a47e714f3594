"""A booking's private manage link, sent again: a new token replaces the old one. Free of Flask.

The questionnaire's last page may not show the manage link (the browser that remembers the
questionnaire may be a shared computer, and the token is kept only as a hash anyway), so the
patient asks for it by email instead: a new token is issued, the old link stops working, and
booking_link_reissued queues the email to the address on the patient's record.
"""

import hashlib
import hmac

import sqlalchemy as sa

from booking.appointments.bookings import SENDER, BookingError, ManageLinkExpired, manage_link_expires_at
from booking.models import Booking, BookingEvent
from booking.patients.record import contact_of
from booking.signals import booking_link_reissued
from booking.tokens import new_token, token_hash


class LinkOutOfDate(BookingError):
    """The link was re-issued since the page was shown (a double submit, or an old page): nothing was sent."""

    def __init__(self):
        super().__init__("This page was out of date, so nothing was sent.")


class NoEmail(BookingError):
    """The patient's record has no email address to send the link to."""

    def __init__(self):
        super().__init__("We have no email address for this booking, so we cannot email you its link. "
                         "Please call the clinic.")


def link_version(booking):
    """A short fingerprint of the booking's current manage link, for the form that asks for a new one.

    It changes whenever the link is re-issued, so a second press of the same form (a double
    click, a reload, another tab) is recognised and sends nothing more. It is derived from the
    stored hash, which itself cannot be turned back into the link.
    """
    return hashlib.sha256(f"form:{booking.manage_token_hash}".encode("ascii")).hexdigest()[:16]


def reissue_manage_link(session, booking, *, now, version, cipher, days, link_for):
    """Give `booking` a new manage token (the old link stops working) and email its link to the patient.

    `version` is the link_version the patient's page was shown; `link_for(token)` builds the
    absolute link; `days` is MANAGE_LINK_DAYS. Sends booking_link_reissued. Returns the new
    token. Raises LinkOutOfDate (re-issued since: nothing changes), NoEmail, or
    ManageLinkExpired (a new link would not open either).
    """
    if not hmac.compare_digest(str(version or ""), link_version(booking)):
        raise LinkOutOfDate()
    if now >= manage_link_expires_at(booking, days):
        raise ManageLinkExpired()
    if not contact_of(booking.patient, cipher).get("email"):
        raise NoEmail()  # checked first: a new link nobody receives would only break the old one
    token = new_token()
    # Compare-and-set on the old hash: of two presses at once, only one replaces the link.
    replaced = session.execute(sa.update(Booking).where(Booking.id == booking.id,
                                                        Booking.manage_token_hash == booking.manage_token_hash)
                               .values(manage_token_hash=token_hash(token))).rowcount
    if replaced != 1:
        raise LinkOutOfDate()
    # The front desk sees it in the booking's history: a patient whose old link "stopped working" asked for this.
    session.add(BookingEvent(booking_id=booking.id, at=now, kind="link_sent", actor_id=None,
                             detail="the manage link was emailed again; the earlier link stopped working"))
    booking_link_reissued.send(SENDER, session=session, now=now, booking=booking, link=link_for(token))
    return token


def masked_email(address):
    """An address as a page may show it to whoever uses the browser: "j***@example.com"."""
    local, _at, domain = (address or "").rpartition("@")
    return f"{local[:1]}***@{domain}" if local and domain else "the address you gave"
