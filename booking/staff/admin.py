"""Admin pages: staff accounts (roles, passwords, second factors, sessions) and the audit log (read-only)."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.appointments.availability import DATE_FILTER_ERROR, parse_day
from booking.audit import record_request_event
from booking.extensions import db
from booking.models import AuditEvent, StaffUser
from booking.models.audit import AUDIT_ACTIONS
from booking.staff import bp, web_session
from booking.staff.access import staff_only
from booking.staff.accounts import (PasswordPolicy, StaffError, correct_identity, create_staff, end_sessions,
                                    reset_password)
from booking.staff.forms import AuditFilterForm, ButtonForm, EditStaffForm, NewStaffForm, ResetPasswordForm
from booking.staff.two_factor import reset_second_factor, unused_recovery_codes

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
                                policy=PasswordPolicy.from_config(current_app.config))
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
    # Every saved POST redirects above: one that reaches here was refused (post-redirect-get).
    return render_template("staff/staff_list.html", staff=staff, form=form), (400 if request.method == "POST" else 200)


@bp.route("/admin/staff/<id:user_id>", methods=["GET", "POST"])
@staff_only("admin")
def staff_edit(user_id):
    """Change a role, deactivate or reactivate, reset a password or the second factor, end sessions."""
    user = db.session.get(StaffUser, user_id) or abort(404)
    form = EditStaffForm(obj=user, prefix="edit")
    reset_form = ResetPasswordForm(prefix="reset")
    button_form = ButtonForm()
    submitted = request.form.get("form") if request.method == "POST" else None
    if submitted == "edit" and form.validate_on_submit():
        if user.id == current_user.id and (form.role.data != "admin" or not form.active.data):
            form.role.errors.append("You cannot remove your own admin role or deactivate yourself.")
        else:
            changes = describe_changes(user, form.role.data, form.active.data)
            try:
                changes = ", ".join(filter(None, [changes, *correct_identity(db.session, user, email=form.email.data,
                                                                             name=form.name.data)]))
            except StaffError as error:
                db.session.rollback()
                form.email.errors.append(str(error))
            else:
                revoked = user.active and not form.active.data
                user.role, user.active = form.role.data, form.active.data
                if revoked:
                    end_sessions(user)  # deactivation ends every session at once
                return _saved(user, changes or "no change", f"Saved {user.name}.", revoked=revoked)
    elif submitted == "reset" and reset_form.validate_on_submit():
        try:
            reset_password(db.session, user, reset_form.password.data, PasswordPolicy.from_config(current_app.config))
        except StaffError as error:
            reset_form.password.errors.append(str(error))
        else:
            return _saved(user, "password reset", f"Password reset for {user.name}; they are signed out everywhere "
                          "and must choose a new password when they next sign in.")
    elif submitted == "factor" and button_form.validate_on_submit():
        reset_second_factor(db.session, user)
        return _saved(user, "second factor reset", f"Two-factor sign-in reset for {user.name}; they are signed "
                      "out and will set up an authenticator app when they next sign in.")
    elif submitted == "sessions" and button_form.validate_on_submit():
        end_sessions(user)
        return _saved(user, "all sessions ended", f"{user.name} is signed out everywhere.")
    return render_template("staff/staff_edit.html", user=user, form=form, reset_form=reset_form,
                           button_form=button_form,
                           sessions=web_session.store().for_user(user.id),
                           recovery_left=unused_recovery_codes(db.session, user)), \
        (400 if request.method == "POST" else 200)  # every saved POST redirects above


def _saved(user, detail, message, revoked=True):
    """Audit an account change, drop the sessions it revoked, commit and go back to the account."""
    if revoked:
        web_session.store().end_all(user.id)  # already dead by their version; this tidies the store
    record_request_event(db.session, "change_staff", target_type="staff_user", target_id=user.id, detail=detail)
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("staff.staff_edit", user_id=user.id))


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
            day = parse_day(field.data)
            if day is None:
                field.errors.append(DATE_FILTER_ERROR)
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
