"""Calendar routes: a booking's .ics, the token-authenticated clinician feed, and staff pages."""

import sqlalchemy as sa
from flask import abort, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_login import current_user

from booking.audit import record_event, record_request_event
from booking.calendar import bp
from booking.calendar.feed_cache import cache_for
from booking.calendar.feeds import (FeedOptions, FeedTokenError, RangeError, clinician_feed, clinician_for_token,
                                    feed_tokens_by_clinician, issue_feed_token, parse_range, range_export)
from booking.calendar.ical import invite_for
from booking.crypto import InvalidToken, cipher_for
from booking.extensions import db
from booking.models import StaffUser
from booking.outbox.receivers import absolute
from booking.ratelimit import rate_limited
from booking.routing import parse_record_id
from booking.staff.access import staff_only
from booking.templating import patient_contact
from booking.timeutil import utcnow

MANAGE_PATH = "/book/manage/{token}"


def calendar_response(text, filename, method=None):
    """A text/calendar download (with its iTIP method in the content type when it has one)."""
    response = make_response(text)
    content_type = "text/calendar; charset=utf-8"
    if method:
        content_type += f"; method={method}"
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def staff_by_id(text):
    """The staff member whose id is `text`, or None for anything that is not a plausible record id."""
    record_id = parse_record_id(text)  # also keeps 20-digit numbers away from the database's integer column
    return None if record_id is None else db.session.get(StaffUser, record_id)


def feed_options(config):
    """Titles and descriptions for feeds and exports, from the app's settings."""
    return FeedOptions(clinic_name=config["CLINIC_NAME"], zone=config["CLINIC_TIMEZONE"],
                       domain=config["CLINIC_DOMAIN"], address=config["CLINIC_ADDRESS"],
                       show_patient_names=bool(config["FEED_SHOW_PATIENT_NAMES"]), cipher=cipher_for(config))


@bp.get("/book/manage/<token>/invite.ics")
def booking_ics(token):
    """The booking's invite as it stands: REQUEST, or CANCEL once cancelled. 404 for any other token."""
    from booking.appointments.views import open_manage_link  # the booking feature owns its links

    booking = open_manage_link(token)
    config = current_app.config
    method, text = invite_for(booking, config=config, now=utcnow(), contact=patient_contact(booking.patient),
                              link=absolute(config, MANAGE_PATH.format(token=token)))
    return calendar_response(text, "consultation.ics", method)


@bp.get("/calendar/feed/<token>.ics")
@rate_limited("FEED_RATE_LIMIT")
def feed(token):
    """A clinician's subscribable schedule. Wrong, old or deactivated: 404. Every fetch is audited."""
    now = utcnow()
    clinician = clinician_for_token(db.session, token)
    ip, agent = request.remote_addr, request.user_agent.string
    if clinician is None:
        record_event(db.session, action="feed_fetch", target_type="calendar_feed", ip=ip, user_agent=agent,
                     detail="refused: unknown, replaced or deactivated feed link")
        db.session.commit()
        abort(404)
    text, etag = clinician_feed(db.session, clinician, now=now, config=current_app.config,
                                options=feed_options(current_app.config), cache=cache_for(current_app))
    unchanged = request.if_none_match.contains(etag)
    record_event(db.session, action="feed_fetch", actor=clinician, target_type="calendar_feed",
                 target_id=clinician.id, ip=ip, user_agent=agent, detail="not modified" if unchanged else "served")
    db.session.commit()
    response = calendar_response(b"" if unchanged else text, "schedule.ics")
    response.headers["Content-Disposition"] = 'inline; filename="schedule.ics"'
    response.headers["Cache-Control"] = "private, no-cache"  # keep a copy, but ask each time (ETag)
    response.set_etag(etag)
    if unchanged:
        response.status_code = 304
    return response


def _page(*, new_link=None, new_link_for=None, export_errors=None, export_values=None, status=200):
    """Render the staff calendar page: feed link controls and the range export form."""
    role = current_user.role
    clinicians = db.session.scalars(
        sa.select(StaffUser).where(StaffUser.role == "clinician", StaffUser.active.is_(True))
        .order_by(StaffUser.name)).all()
    tokens = feed_tokens_by_clinician(db.session) if role in ("admin", "clinician") else {}
    response = make_response(render_template(
        "calendar/my_feed.html", role=role, clinicians=clinicians, tokens=tokens, new_link=new_link,
        new_link_for=new_link_for, export_errors=export_errors or {}, export_values=export_values or {},
        max_days=current_app.config["EXPORT_MAX_DAYS"]), status)
    return response


@bp.get("/staff/calendar")
@staff_only("admin", "receptionist", "clinician")
def my_feed():
    """Clinicians: their feed link. Admins: every clinician's link. Receptionists and admins: exports.

    Right after "Create my feed link" it shows the new link, once: rotate redirects here.
    """
    return _page(**_new_link_once())


NEW_LINK_KEY = "new_feed_link"


def _new_link_once():
    """The link rotate just issued (taken from the session, so a reload shows it no more), as _page arguments."""
    sealed = session.pop(NEW_LINK_KEY, None)
    try:
        # Sealed with the app's key: the session cookie is signed, not secret, and the link is.
        issued = cipher_for(current_app.config).decrypt(sealed) if isinstance(sealed, str) else None
    except InvalidToken:
        issued = None
    clinician = db.session.get(StaffUser, issued["clinician_id"]) if issued else None
    if clinician is None:
        return {}
    link = absolute(current_app.config, f"/calendar/feed/{issued['token']}.ics")
    return {"new_link": {"https": link, "webcal": "webcal://" + link.split("://", 1)[1]}, "new_link_for": clinician}


@bp.post("/staff/calendar/rotate")
@staff_only("admin", "clinician")
def rotate():
    """Issue a new feed link (shown once) and kill the old one. Clinicians rotate only their own."""
    if current_user.role == "clinician":
        clinician = current_user
    else:
        clinician = staff_by_id(request.form.get("clinician_id", ""))
    try:
        token = issue_feed_token(db.session, clinician, actor=current_user, now=utcnow())
    except FeedTokenError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _page(status=400)
    record_request_event(db.session, "change_settings", target_type="calendar_feed", target_id=clinician.id,
                         detail="feed link replaced")
    db.session.commit()
    # Post-redirect-get: reloading the page that shows the link must not replace it again.
    session[NEW_LINK_KEY] = cipher_for(current_app.config).encrypt({"token": token, "clinician_id": clinician.id})
    return redirect(url_for("calendar.my_feed") + "#new-link-heading")


@bp.get("/staff/calendar/export")
@staff_only("admin", "receptionist", "clinician")
def export():
    """Download one clinician's bookings in a date range (clinic dates, end inclusive) as one .ics.

    A clinician downloads only their own: any other clinician asked for is refused with 403.
    """
    values = {key: request.args.get(key, "")[:20] for key in ("clinician", "start", "end")}
    if not any(values.values()):
        return _page()  # the empty form, as on the calendar page
    if current_user.role == "clinician":
        if values["clinician"] not in ("", str(current_user.id)):
            abort(403)
        values["clinician"] = str(current_user.id)
    errors = {}
    clinician = staff_by_id(values["clinician"])
    if clinician is None or clinician.role != "clinician":
        errors["clinician"] = "Choose a clinician from the list."
    try:
        start, end = parse_range(values["start"], values["end"], zone_name=current_app.config["CLINIC_TIMEZONE"],
                                 max_days=int(current_app.config["EXPORT_MAX_DAYS"]))
    except RangeError as error:
        errors[error.field] = error.message
    if errors:
        return _page(export_errors=errors, export_values=values, status=400)
    text = range_export(db.session, clinician, start=start, end=end, now=utcnow(),
                        options=feed_options(current_app.config))
    record_request_event(db.session, "export", target_type="staff_user", target_id=clinician.id,
                         detail=f"calendar {values['start']} to {values['end']}")
    db.session.commit()
    return calendar_response(text, f"schedule-{values['start']}-to-{values['end']}.ics")
