"""The last page's "Email me my booking link again": a new manage link, by email, never on the page.

The browser that remembers a sent questionnaire may be a shared computer, so the booking's
private link is not shown there (issue 10); the patient can have a new one emailed to the
address on their record instead (booking.appointments.manage_links).
"""

from flask import current_app, flash, redirect, render_template, request, url_for

from booking.appointments import manage_links
from booking.appointments.bookings import BookingError
from booking.appointments.lookups import active_booking_for_intake
from booking.appointments.web import manage_link
from booking.crypto import cipher_for
from booking.extensions import db
from booking.intake import bp
from booking.intake.views import current_intake
from booking.outbox.messages import LINK_AGAIN_KIND
from booking.outbox.sender import queued_recipient
from booking.ratelimit import enforce, rate_limited
from booking.timeutil import utcnow


@bp.post("/booking-link")
@rate_limited("BOOKING_ADDRESS_RATE_LIMIT")
def resend_booking_link():
    """Email a new private link to this browser's booking, to the address on the patient's record."""
    now = utcnow()
    intake = current_intake(now)
    if intake is None:  # the last page's own check: only the browser that remembers the questionnaire
        return render_template("intake/link_error.html", title="We could not send the link", message=(
            "This browser does not hold the questionnaire this booking belongs to, so nothing was sent. "
            "Use the private link in your confirmation email, or call the clinic.")), 403
    booking = active_booking_for_intake(db.session, intake.id)
    if booking is None:
        return _back("There is no booking to send a link for: it may have been cancelled. Nothing was sent.")
    enforce("BOOKING_LINK_RATE_LIMIT", "intake.booking-link", booking.id)
    cipher = cipher_for(current_app.config)
    try:
        manage_links.reissue_manage_link(db.session, booking, now=now, version=request.form.get("link"),
                                         cipher=cipher, days=current_app.config["MANAGE_LINK_DAYS"],
                                         link_for=manage_link)
    except manage_links.LinkOutOfDate as stale:
        db.session.rollback()
        # A second press of the same form: the first press's email holds the link that works.
        sent_to = _emailed_to(booking, cipher)
        if sent_to is None:
            return _back(f"{stale.message} Press the button again if you still need a new link.")
        return _back(f"We have already emailed you a new link ({manage_links.masked_email(sent_to)}); "
                     "nothing more was sent. Use the newest email from us.", "info")
    except BookingError as error:
        db.session.rollback()
        return _back(error.message)
    sent_to = _emailed_to(booking, cipher)
    if sent_to is None:  # no email was queued after all: keep the old link rather than lose both
        db.session.rollback()
        return _back("We could not email you a new link, so your link has not changed. Please call the clinic.")
    db.session.commit()
    return _back(f"We have emailed a new link to the address you gave ({manage_links.masked_email(sent_to)}). "
                 "The link in our earlier emails no longer works.", "success")


def _emailed_to(booking, cipher):
    """Who the newest new-link email about `booking` goes to, if one is queued or sent (not failed), else None."""
    return queued_recipient(db.session, booking_id=booking.id, kind=LINK_AGAIN_KIND, cipher=cipher)


def _back(message, category="warning"):
    """Back to the questionnaire's last page, saying `message`."""
    flash(message, category)
    return redirect(url_for("intake.done"))
