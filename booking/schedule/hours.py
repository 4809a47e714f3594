"""Staff editing of opening hours, weekly blocks, exceptions, clinician booking profiles and clinic settings."""

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from booking.appointments.availability import clinic_day, parse_day
from booking.appointments.hours import (CLINICIAN_KINDS, WEEKDAYS, HoursError, NotYours, add_exception,
                                        add_weekly_block, add_weekly_hours, change_weekly_hours,
                                        exception_range, parse_wall_time, remove_exception, remove_weekly_block,
                                        remove_weekly_hours, save_profile, whole_days)
from booking.appointments.settings import LIMITS, SettingsError, current_settings, save_settings
from booking.appointments.web import booking_context
from booking.audit import record_request_event
from booking.extensions import db
from booking.models import ClinicianProfile, OpeningHours, RecurringBlock, ScheduleException, StaffUser
from booking.schedule import bp
from booking.staff.access import staff_only
from booking.timeutil import utcnow

MANAGERS = ("admin", "receptionist")
# Clinicians open the hours page for their own time off and blocks (check_editor says what they may change).
EDITORS = MANAGERS + ("clinician",)
COVERED_SHOWN = 20  # bookings named in the message; the cookie that carries it has little room


def _int(name, default=None):
    """A whole number from the form, or None."""
    value = (request.form.get(name) or "").strip()
    return int(value) if value.isdigit() and len(value) < 7 else default


KIND_LABELS = {"closed": "Closed (holiday)", "blocked": "Blocked time", "extra": "Extra hours"}
def _clinician_field():
    """The form's clinician id; a clinician's own when the form leaves it out."""
    return _int("clinician", current_user.id if current_user.role == "clinician" else None)


CONFIRM_REMOVAL = "Nothing was removed: tick \"Yes, remove\" beside the Remove button to confirm."


def _confirmed():
    """Raise HoursError unless the removal's "Yes, remove" box was ticked."""
    if request.form.get("confirm") != "y":
        raise HoursError(CONFIRM_REMOVAL)


def _done(message, clinician_id, detail, clinic_wide=False):
    """Audit (a clinic-wide change against the clinic, not a clinician), commit, say so, go back."""
    record_request_event(db.session, "change_settings", target_type="clinic" if clinic_wide else "schedule",
                         target_id=None if clinic_wide else clinician_id, detail=detail)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("schedule.hours", clinician=clinician_id or ""))


def _refused(error, clinician_id):
    """Roll back and show the hours page again with the error and everything that was typed.

    A clinician reaching for someone else's hours gets 403 with the reason.
    """
    db.session.rollback()
    return _hours_page(str(clinician_id or ""), typed=request.form, error=str(error),
                       status=403 if isinstance(error, NotYours) else 400)


def _covered(affected):
    """Flash the bookings a new block or exception covers, each name and time a link to its booking page."""
    if affected:
        flash(Markup(render_template("schedule/_covered.html", shown=affected[:COVERED_SHOWN],
                                     more=len(affected) - COVERED_SHOWN)), "warning")


@bp.get("/hours")
@staff_only(*EDITORS)
def hours():
    """Clinic settings, and one clinician's profile, weekly hours, weekly blocks and exceptions."""
    return _hours_page(request.args.get("clinician", ""))


def _hours_page(chosen, *, typed=None, error=None, status=200):
    """Render the hours page for clinician id `chosen` (text), refilling `typed` values after an error.

    A clinician always sees their own hours, and the forms for their own time off only.
    """
    manager = current_user.role in MANAGERS
    if not manager:
        chosen = str(current_user.id)
    query = sa.select(StaffUser).where(StaffUser.role == "clinician")
    if not manager:
        query = query.where(StaffUser.id == current_user.id)
    clinicians = db.session.scalars(query.order_by(StaffUser.active.desc(), StaffUser.name)).all()
    clinician = next((c for c in clinicians if chosen.isdigit() and c.id == int(chosen)), None)
    if clinician is None and clinicians and not chosen:
        clinician = clinicians[0]
    weekly, blocks, profile = [], [], None
    if clinician is not None:
        profile = db.session.get(ClinicianProfile, clinician.id)
        weekly = db.session.scalars(sa.select(OpeningHours).where(OpeningHours.clinician_id == clinician.id)
                                    .order_by(OpeningHours.weekday, OpeningHours.start_time)).all()
        today = clinic_day(utcnow(), current_app.config["CLINIC_TIMEZONE"])
        blocks = db.session.scalars(sa.select(RecurringBlock).where(RecurringBlock.clinician_id == clinician.id,
                                                                    RecurringBlock.last_day >= today)
                                    .order_by(RecurringBlock.weekday, RecurringBlock.start_time)).all()
    exceptions = db.session.scalars(
        sa.select(ScheduleException).where(ScheduleException.ends_at > utcnow(), sa.or_(
            ScheduleException.clinician_id.is_(None),
            ScheduleException.clinician_id == (clinician.id if clinician else -1)))
        .order_by(ScheduleException.starts_at)).all()
    return render_template("schedule/hours.html", clinicians=clinicians, clinician=clinician, profile=profile,
                           weekly=weekly, blocks=blocks, exceptions=exceptions, weekdays=WEEKDAYS, manager=manager,
                           kinds=[kind for kind in KIND_LABELS if manager or kind in CLINICIAN_KINDS],
                           kind_labels=KIND_LABELS,
                           settings=current_settings(db.session, current_app.config), limits=LIMITS,
                           typed=typed or {}, error=error,
                           whole_days=lambda row: whole_days(row, current_app.config["CLINIC_TIMEZONE"])), status


@bp.post("/hours/settings")
@staff_only(*MANAGERS)
def hours_settings():
    """Save the clinic's minimum notice, booking horizon and cancellation cut-off."""
    values = {name: _int(name) for name in LIMITS}
    try:
        save_settings(db.session, current_app.config, values, current_user, now=utcnow())
    except SettingsError as error:
        return _refused(error, _int("clinician"))
    return _done("Clinic booking settings saved.", _int("clinician"),
                 "booking settings: " + ", ".join(f"{k}={v}" for k, v in values.items()))


@bp.post("/hours/profile")
@staff_only(*MANAGERS)
def hours_profile():
    """Save a clinician's consultation length, buffer and whether they take bookings."""
    clinician_id = _int("clinician")
    try:
        save_profile(db.session, clinician_id, accepts_bookings=request.form.get("accepts_bookings") == "y",
                     consultation_minutes=_int("consultation_minutes"), buffer_minutes=_int("buffer_minutes", 0),
                     now=utcnow())
    except HoursError as error:
        return _refused(error, clinician_id)
    return _done("Booking settings for the clinician saved.", clinician_id, "clinician profile saved")


@bp.post("/hours/weekly")
@staff_only(*MANAGERS)
def hours_weekly_add():
    """Add a weekly interval."""
    clinician_id = _int("clinician")
    try:
        if db.session.get(ClinicianProfile, clinician_id or -1) is None and clinician_id:
            save_profile(db.session, clinician_id, accepts_bookings=True, consultation_minutes=30, buffer_minutes=0,
                         now=utcnow())
        add_weekly_hours(db.session, clinician_id, _int("weekday", -1), parse_wall_time(request.form.get("start")),
                         parse_wall_time(request.form.get("end")), now=utcnow())
    except HoursError as error:
        return _refused(error, clinician_id)
    return _done("Weekly hours added.", clinician_id, "weekly hours added")


@bp.post("/hours/weekly/<id:hours_id>")
@staff_only(*MANAGERS)
def hours_weekly_edit(hours_id):
    """Change a weekly interval's times in place."""
    clinician_id = _int("clinician")
    try:
        row = change_weekly_hours(db.session, hours_id, parse_wall_time(request.form.get("start")),
                                  parse_wall_time(request.form.get("end")), now=utcnow())
    except HoursError as error:
        return _refused(error, clinician_id)
    return _done(f"{WEEKDAYS[row.weekday]} hours changed to {row.start_time:%H:%M}–{row.end_time:%H:%M}. "
                 "Bookings already made are kept.", clinician_id, "weekly hours changed")


@bp.post("/hours/weekly/<id:hours_id>/delete")
@staff_only(*MANAGERS)
def hours_weekly_remove(hours_id):
    """Remove a weekly interval (bookings already made stay), once the confirmation box is ticked."""
    clinician_id = _int("clinician")
    try:
        _confirmed()
        remove_weekly_hours(db.session, hours_id)
    except HoursError as error:
        return _refused(error, clinician_id)
    return _done("Weekly hours removed. Bookings already made are kept.", clinician_id, "weekly hours removed")


@bp.post("/hours/exceptions")
@staff_only(*EDITORS)
def hours_exception_add():
    """Add a closed day, a blocked period or extra hours (a clinician: their own time off only)."""
    clinician_id = _clinician_field()
    applies_to_all = request.form.get("applies_to") == "clinic"
    kind = request.form.get("kind", "")
    try:
        starts_at, ends_at = exception_range(
            current_app.config["CLINIC_TIMEZONE"], parse_day(request.form.get("first_day")),
            parse_wall_time(request.form.get("first_time")), parse_day(request.form.get("last_day")),
            parse_wall_time(request.form.get("last_time")))
        _row, affected = add_exception(db.session, clinician_id=None if applies_to_all else clinician_id,
                                       kind=kind, starts_at=starts_at, ends_at=ends_at,
                                       note=request.form.get("note", ""), actor=current_user, now=utcnow())
    except HoursError as error:
        return _refused(error, clinician_id)
    _covered(affected)
    return _done("Exception added.", clinician_id, f"schedule exception added ({kind})", clinic_wide=applies_to_all)


@bp.post("/hours/exceptions/<id:exception_id>/delete")
@staff_only(*EDITORS)
def hours_exception_remove(exception_id):
    """Remove an exception, once the confirmation box is ticked."""
    clinician_id = _int("clinician")
    try:
        _confirmed()
        row = remove_exception(db.session, exception_id, actor=current_user, now=utcnow())
    except HoursError as error:
        return _refused(error, clinician_id)
    return _done("Exception removed.", clinician_id, "schedule exception removed",
                 clinic_wide=row.clinician_id is None)


@bp.post("/hours/blocks")
@staff_only(*EDITORS)
def hours_block_add():
    """Add a weekly block (every given weekday, from one date to another)."""
    clinician_id = _clinician_field()
    try:
        row, affected = add_weekly_block(
            db.session, booking_context(), clinician_id=clinician_id, weekday=_int("weekday", -1),
            start=parse_wall_time(request.form.get("start")), end=parse_wall_time(request.form.get("end")),
            first_day=parse_day(request.form.get("first_day")), last_day=parse_day(request.form.get("last_day")),
            note=request.form.get("note", ""), actor=current_user)
    except HoursError as error:
        return _refused(error, clinician_id)
    _covered(affected)
    return _done(f"Weekly block added: every {WEEKDAYS[row.weekday]} {row.start_time:%H:%M}–{row.end_time:%H:%M} "
                 f"until {row.last_day:%A %-d %B %Y}.", clinician_id, "weekly block added")


@bp.post("/hours/blocks/<id:block_id>/delete")
@staff_only(*EDITORS)
def hours_block_remove(block_id):
    """Remove a weekly block, once the confirmation box is ticked."""
    clinician_id = _int("clinician")
    try:
        _confirmed()
        remove_weekly_block(db.session, block_id, actor=current_user, now=utcnow())
    except HoursError as error:
        return _refused(error, clinician_id)
    return _done("Weekly block removed.", clinician_id, "weekly block removed")
