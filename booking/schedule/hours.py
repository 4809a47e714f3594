"""Staff editing of opening hours, exceptions, clinician booking profiles and clinic settings."""

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.appointments.availability import parse_day
from booking.appointments.hours import (WEEKDAYS, HoursError, add_exception, add_weekly_hours, change_weekly_hours,
                                        exception_range, parse_wall_time, remove_exception, remove_weekly_hours,
                                        save_profile, whole_days)
from booking.appointments.settings import LIMITS, SettingsError, current_settings, save_settings
from booking.audit import record_request_event
from booking.extensions import db
from booking.models import ClinicianProfile, OpeningHours, ScheduleException, StaffUser
from booking.schedule import bp
from booking.staff.access import staff_only
from booking.templating import patient_contact
from booking.timeutil import local_text, utcnow

MANAGERS = ("admin", "receptionist")


def _int(name, default=None):
    """A whole number from the form, or None."""
    value = (request.form.get(name) or "").strip()
    return int(value) if value.isdigit() and len(value) < 7 else default


CONFIRM_REMOVAL = "Nothing was removed: tick \"Yes, remove\" beside the Remove button to confirm."


def _done(message, clinician_id, detail, clinic_wide=False):
    """Audit (a clinic-wide change against the clinic, not a clinician), commit, say so, go back."""
    record_request_event(db.session, "change_settings", target_type="clinic" if clinic_wide else "schedule",
                         target_id=None if clinic_wide else clinician_id, detail=detail)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("schedule.hours", clinician=clinician_id or ""))


def _refused(error, clinician_id):
    """Roll back and show the hours page again with the error and everything that was typed."""
    db.session.rollback()
    return _hours_page(str(clinician_id or ""), typed=request.form, error=str(error), status=400)


@bp.get("/hours")
@staff_only(*MANAGERS)
def hours():
    """Clinic settings, and one clinician's profile, weekly hours and exceptions."""
    return _hours_page(request.args.get("clinician", ""))


def _hours_page(chosen, *, typed=None, error=None, status=200):
    """Render the hours page for clinician id `chosen` (text), refilling `typed` values after an error."""
    clinicians = db.session.scalars(sa.select(StaffUser).where(StaffUser.role == "clinician")
                                    .order_by(StaffUser.active.desc(), StaffUser.name)).all()
    clinician = next((c for c in clinicians if chosen.isdigit() and c.id == int(chosen)), None)
    if clinician is None and clinicians and not chosen:
        clinician = clinicians[0]
    weekly, profile = [], None
    if clinician is not None:
        profile = db.session.get(ClinicianProfile, clinician.id)
        weekly = db.session.scalars(sa.select(OpeningHours).where(OpeningHours.clinician_id == clinician.id)
                                    .order_by(OpeningHours.weekday, OpeningHours.start_time)).all()
    exceptions = db.session.scalars(
        sa.select(ScheduleException).where(ScheduleException.ends_at > utcnow(), sa.or_(
            ScheduleException.clinician_id.is_(None),
            ScheduleException.clinician_id == (clinician.id if clinician else -1)))
        .order_by(ScheduleException.starts_at)).all()
    return render_template("schedule/hours.html", clinicians=clinicians, clinician=clinician, profile=profile,
                           weekly=weekly, exceptions=exceptions, weekdays=WEEKDAYS,
                           settings=current_settings(db.session, current_app.config), limits=LIMITS,
                           typed=typed or {}, error=error,
                           whole_days=lambda row: whole_days(row, current_app.config["CLINIC_TIMEZONE"])), status


@bp.post("/hours/settings")
@staff_only(*MANAGERS)
def hours_settings():
    """Save the clinic's minimum notice, booking horizon and cancellation cut-off."""
    values = {name: _int(name) for name in LIMITS}
    try:
        save_settings(db.session, current_app.config, values, current_user)
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
                     consultation_minutes=_int("consultation_minutes"), buffer_minutes=_int("buffer_minutes", 0))
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
            save_profile(db.session, clinician_id, accepts_bookings=True, consultation_minutes=30, buffer_minutes=0)
        add_weekly_hours(db.session, clinician_id, _int("weekday", -1), parse_wall_time(request.form.get("start")),
                         parse_wall_time(request.form.get("end")))
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
                                  parse_wall_time(request.form.get("end")))
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
        if request.form.get("confirm") != "y":
            raise HoursError(CONFIRM_REMOVAL)
        remove_weekly_hours(db.session, hours_id)
    except HoursError as error:
        return _refused(error, clinician_id)
    return _done("Weekly hours removed. Bookings already made are kept.", clinician_id, "weekly hours removed")


@bp.post("/hours/exceptions")
@staff_only(*MANAGERS)
def hours_exception_add():
    """Add a closed day, a blocked period or extra hours."""
    clinician_id = _int("clinician")
    applies_to_all = request.form.get("applies_to") == "clinic"
    try:
        starts_at, ends_at = exception_range(
            current_app.config["CLINIC_TIMEZONE"], parse_day(request.form.get("first_day")),
            parse_wall_time(request.form.get("first_time")), parse_day(request.form.get("last_day")),
            parse_wall_time(request.form.get("last_time")))
        _row, affected = add_exception(db.session, clinician_id=None if applies_to_all else clinician_id,
                                       kind=request.form.get("kind", ""), starts_at=starts_at, ends_at=ends_at,
                                       note=request.form.get("note", ""), actor=current_user)
    except HoursError as error:
        return _refused(error, clinician_id)
    if affected:
        zone = current_app.config["CLINIC_TIMEZONE"]
        names = "; ".join(f"{patient_contact(item.patient)['name'] or '(no name)'}, {local_text(item.starts_at, zone)}"
                          for item in affected)
        flash(f"These bookings fall in that period and were not cancelled: {names}. "
              "Please contact those patients and move or cancel them (see the day's list).", "warning")
    return _done("Exception added.", clinician_id, f"schedule exception added ({request.form.get('kind')})",
                 clinic_wide=applies_to_all)


@bp.post("/hours/exceptions/<id:exception_id>/delete")
@staff_only(*MANAGERS)
def hours_exception_remove(exception_id):
    """Remove an exception, once the confirmation box is ticked."""
    clinician_id = _int("clinician")
    try:
        if request.form.get("confirm") != "y":
            raise HoursError(CONFIRM_REMOVAL)
        row = remove_exception(db.session, exception_id)
    except HoursError as error:
        return _refused(error, clinician_id)
    return _done("Exception removed.", clinician_id, "schedule exception removed",
                 clinic_wide=row.clinician_id is None)
