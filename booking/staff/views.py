"""Sign-in, sign-out and the staff home page."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from booking.audit import record_request_event
from booking.extensions import db, login_manager
from booking.ratelimit import rate_limited
from booking.models import StaffUser
from booking.staff import bp
from booking.staff.access import PUBLIC, enforce_staff_access, staff_only
from booking.staff.accounts import SignInPolicy, SignInRefused, authenticate
from booking.staff.forms import LoginForm
from booking.staff.nav import nav_for
from booking.timeutil import utcnow

bp.before_app_request(enforce_staff_access)
login_manager.login_view = "staff.login"
login_manager.login_message = "Please sign in to see that page."


@login_manager.user_loader
def load_user(identity):
    """Find the signed-in staff member; a stale session version signs them out."""
    user_id, _, version = identity.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(StaffUser, int(user_id))
    if user is None or user.session_version != int(version) or not user.active:
        return None
    return user


def _safe_next(target):
    """Only follow a `next` that stays inside the staff area of this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@staff_only(PUBLIC)
@rate_limited("LOGIN_RATE_LIMIT", methods=("POST",))
def login():
    """Sign in with email and password; five failures lock the account."""
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        policy = SignInPolicy(current_app.config["STAFF_MAX_FAILED_LOGINS"], current_app.config["STAFF_LOCKOUT"])
        try:
            user = authenticate(db.session, form.email.data, form.password.data, now=utcnow(), policy=policy)
        except SignInRefused as refused:
            record_request_event(db.session, "sign_in_failed", target_type="staff_user",
                                 target_id=getattr(refused.user, "id", None), actor=refused.user)
            db.session.commit()
            error = refused.message
        else:
            session.clear()  # a fresh session at sign-in: no fixation
            login_user(user)
            session["last_seen"] = utcnow().timestamp()
            record_request_event(db.session, "sign_in", target_type="staff_user", target_id=user.id, actor=user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) or url_for("staff.home"))
    return render_template("staff/login.html", form=form, error=error), (401 if error else 200)


@bp.post("/logout")
@staff_only(PUBLIC)
def logout():
    """Sign out (a POST, so a link elsewhere cannot sign anyone out)."""
    if current_user.is_authenticated:
        record_request_event(db.session, "sign_out", target_type="staff_user", target_id=current_user.id)
        db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("staff.login"))


@bp.get("/")
@staff_only("admin", "receptionist", "clinician")
def home():
    """The staff home page: the sections this role may use."""
    return render_template("staff/home.html", sections=nav_for(current_user.role))
