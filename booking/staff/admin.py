"""Admin pages: staff accounts and the audit log (read-only: no route edits or deletes it)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.audit import record_request_event
from booking.extensions import db
from booking.models import AuditEvent, StaffUser
from booking.models.audit import AUDIT_ACTIONS
from booking.staff import bp
from booking.staff.access import staff_only
from booking.staff.accounts import StaffError, create_staff, reset_password
from booking.timeutil import parse_date, utcnow
from booking.staff.forms import AuditFilterForm, EditStaffForm, NewStaffForm, ResetPasswordForm

AUDIT_PAGE_SIZE = 50
MAX_AUDIT_PAGE = 100_000  # far beyond any real log; keeps the OFFSET inside every database's integer


@bp.route("/admin/staff", methods=["GET", "POST"])
@staff_only("admin")
def staff_list():
    """List staff accounts and create new ones."""
    form = NewStaffForm()
    if form.validate_on_submit():
        try:
            user = create_staff(db.session, email=form.email.data, name=form.name.data, role=form.role.data,
                                password=form.password.data,
                                min_length=current_app.config["STAFF_PASSWORD_MIN_LENGTH"])
            db.session.flush()
        except StaffError as error:
            db.session.rollback()
            form.email.errors.append(str(error))
        else:
            record_request_event(db.session, "change_staff", target_type="staff_user", target_id=user.id,
                                 detail=f"created with role {user.role}")
            db.session.commit()
            flash(f"Account created for {user.name}.", "success")
            return redirect(url_for("staff.staff_list"))
    staff = db.session.scalars(sa.select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.name)).all()
    return render_template("staff/staff_list.html", staff=staff, form=form, now=utcnow())


@bp.route("/admin/staff/<id:user_id>", methods=["GET", "POST"])
@staff_only("admin")
def staff_edit(user_id):
    """Change a role, deactivate or reactivate, or reset a password."""
    user = db.session.get(StaffUser, user_id) or abort(404)
    form = EditStaffForm(obj=user, prefix="edit")
    reset_form = ResetPasswordForm(prefix="reset")
    submitted = request.form.get("form") if request.method == "POST" else None
    if submitted == "edit" and form.validate_on_submit():
        if user.id == current_user.id and (form.role.data != "admin" or not form.active.data):
            form.role.errors.append("You cannot remove your own admin role or deactivate yourself.")
        else:
            changes = describe_changes(user, form.role.data, form.active.data)
            user.role = form.role.data
            if user.active and not form.active.data:
                user.session_version += 1  # deactivation ends every session at once
            user.active = form.active.data
            record_request_event(db.session, "change_staff", target_type="staff_user", target_id=user.id,
                                 detail=changes or "no change")
            db.session.commit()
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("staff.staff_edit", user_id=user.id))
    elif submitted == "reset" and reset_form.validate_on_submit():
        try:
            reset_password(user, reset_form.password.data, current_app.config["STAFF_PASSWORD_MIN_LENGTH"])
        except StaffError as error:
            reset_form.password.errors.append(str(error))
        else:
            record_request_event(db.session, "change_staff", target_type="staff_user", target_id=user.id,
                                 detail="password reset")
            db.session.commit()
            flash(f"Password reset for {user.name}; they are signed out everywhere.", "success")
            return redirect(url_for("staff.staff_edit", user_id=user.id))
    return render_template("staff/staff_edit.html", user=user, form=form, reset_form=reset_form)


def describe_changes(user, role, active):
    """A short, data-free description of an account change for the audit log."""
    changes = []
    if user.role != role:
        changes.append(f"role {user.role} -> {role}")
    if user.active != active:
        changes.append("activated" if active else "deactivated")
    return ", ".join(changes)


@bp.get("/admin/audit")
@staff_only("admin")
def audit_log():
    """The audit log, newest first, filtered by action, staff member and date."""
    form = AuditFilterForm(request.args)
    form.action.choices = [("", "Any action")] + [(action, action.replace("_", " ")) for action in AUDIT_ACTIONS]
    query = sa.select(AuditEvent, StaffUser).outerjoin(StaffUser, AuditEvent.actor_id == StaffUser.id)
    if form.validate():
        if form.action.data:
            query = query.where(AuditEvent.action == form.action.data)
        if form.actor.data:
            query = query.where(StaffUser.email.contains(form.actor.data.strip().lower(), autoescape=True))
        zone = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
        for field, bound in ((form.since, "since"), (form.until, "until")):
            if not field.data:
                continue
            day = parse_date(field.data)
            if day is None:
                field.errors.append("Use a real date written as YYYY-MM-DD.")
                continue
            if bound == "since":
                query = query.where(AuditEvent.at >= datetime.combine(day, time(), zone))
            else:
                query = query.where(AuditEvent.at < datetime.combine(day + timedelta(days=1), time(), zone))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), MAX_AUDIT_PAGE)
    rows = db.session.execute(
        query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(AUDIT_PAGE_SIZE + 1).offset((page - 1) * AUDIT_PAGE_SIZE)
    ).all()
    filters = {key: value for key, value in request.args.items() if key != "page"}
    return render_template("staff/audit_log.html", form=form, rows=rows[:AUDIT_PAGE_SIZE], page=page,
                           has_next=len(rows) > AUDIT_PAGE_SIZE, filters=filters)
