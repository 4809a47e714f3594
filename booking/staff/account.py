"""A staff member's own account: change the password, see and end signed-in sessions."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from booking.audit import record_request_event
from booking.extensions import db
from booking.models import StaffUser
from booking.staff import bp, web_session
from booking.staff.access import staff_only
from booking.staff.accounts import PasswordPolicy, StaffError, WrongPassword, change_password
from booking.staff.forms import ButtonForm, ChangePasswordForm

ALL_STAFF = ("admin", "receptionist", "clinician")


@bp.route("/account/password", methods=["GET", "POST"], endpoint="change_password")
@staff_only(*ALL_STAFF)
def change_own_password():
    """Change one's own password (current one first). Every other session ends."""
    form = ChangePasswordForm()
    user = db.session.get(StaffUser, current_user.id)
    if form.validate_on_submit():
        try:
            change_password(user, form.current.data, form.password.data,
                            PasswordPolicy.from_config(current_app.config))
        except WrongPassword as error:
            form.current.errors.append(str(error))
        except StaffError as error:
            form.password.errors.append(str(error))
        else:
            record_request_event(db.session, "change_staff", target_type="staff_user", target_id=user.id,
                                 detail="password changed by its owner")
            response = redirect(url_for("staff.home"))
            web_session.store().end_all(user.id)
            web_session.open_session(response, user, verified=True)  # this browser stays signed in
            db.session.commit()
            flash("Your password is changed. Your other sessions are signed out.", "success")
            return response
    return render_template("staff/change_password.html", form=form, due=user.must_change_password), \
        (400 if request.method == "POST" else 200)  # a saved POST redirects above


@bp.route("/account/sessions", methods=["GET", "POST"])
@staff_only(*ALL_STAFF)
def my_sessions():
    """One's signed-in sessions (device, address, last seen); end any of the others."""
    sessions = web_session.store()
    this = web_session.current()[0]
    form = ButtonForm()
    if form.validate_on_submit():
        target = sessions.by_handle(request.form.get("handle", ""))
        if target is None:
            flash("That session had already ended.", "info")
            return redirect(url_for("staff.my_sessions"))
        if target.user_id != current_user.id and current_user.role != "admin":
            abort(403)
        sessions.end(target)
        record_request_event(db.session, "end_session", target_type="staff_user", target_id=target.user_id,
                             detail=f"session {target.handle}")
        db.session.commit()
        flash("That session is signed out.", "success")
        if target.user_id != current_user.id:  # an admin ending someone else's, from their account page
            return redirect(url_for("staff.staff_edit", user_id=target.user_id))
        return redirect(url_for("staff.my_sessions"))
    return render_template("staff/sessions.html", sessions=sessions.for_user(current_user.id), this=this,
                           form=form), (400 if request.method == "POST" else 200)  # a saved POST redirects above

