"""Sign-in (password, then the second factor or its enrolment), sign-out and the staff home page."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from booking.audit import record_request_event
from booking.crypto import cipher_for
from booking.extensions import db, login_manager
from booking.ratelimit import rate_limited
from booking.staff import bp, web_session
from booking.staff.access import PUBLIC, enforce_staff_access, refused, staff_only
from booking.staff.accounts import SignInPolicy, SignInRefused, authenticate, is_locked, record_failure
from booking.staff.forms import CodeForm, LoginForm
from booking.staff.nav import nav_for
from booking.staff.two_factor import (confirm_enrolment, provisioning_uri, qr_svg, second_factor_required,
                                      start_enrolment, use_recovery_code, verify_totp)

bp.before_app_request(web_session.start_request)
bp.before_app_request(enforce_staff_access)
bp.app_errorhandler(403)(refused)
bp.record_once(lambda state: web_session.init_app(state.app))
login_manager.login_view = "staff.login"
login_manager.login_message = "Please sign in to see that page."
login_manager.session_protection = None  # the server-side session is the protection
login_manager.request_loader(web_session.load_user_from_request)


def _safe_next(target):
    """Only follow a `next` that stays inside the staff area of this site (and is one clean line)."""
    if not target or len(target) > 2000 or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff") or target.startswith("//"):
        return None
    return target


def _continue_to(next_target):
    return redirect(_safe_next(next_target) or url_for("staff.home"))


@bp.route("/login", methods=["GET", "POST"])
@staff_only(PUBLIC)
@rate_limited("LOGIN_RATE_LIMIT", methods=("POST",))
def login():
    """Sign in with email and password; the same answer for every kind of failure."""
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = authenticate(db.session, form.email.data, form.password.data, ip=request.remote_addr,
                                now=web_session.now(), policy=SignInPolicy.from_config(current_app.config))
        except SignInRefused as refusal:
            record_request_event(db.session, "sign_in_failed", target_type="staff_user",
                                 target_id=getattr(refusal.user, "id", None), actor=refusal.user)
            db.session.commit()
            error = refusal.message
        else:
            return _password_accepted(user)
    return render_template("staff/login.html", form=form, error=error), (401 if error else 200)


def _password_accepted(user):
    """Open a session: fully signed in, or waiting for the second factor or its enrolment."""
    needs_code = second_factor_required(user, current_app.config["STAFF_TOTP_FOR_RECEPTIONISTS"])
    next_target = _safe_next(request.args.get("next"))
    if not needs_code:
        response = _continue_to(next_target)
        record_request_event(db.session, "sign_in", target_type="staff_user", target_id=user.id, actor=user)
    else:
        step = "staff.second_factor" if user.has_second_factor else "staff.enrol"
        response = redirect(url_for(step, next=next_target))
    session.clear()  # a fresh Flask session (CSRF token) at sign-in: no fixation
    web_session.open_session(response, user, verified=not needs_code)
    db.session.commit()
    return response


def _pending():
    """The (record, user) waiting for its second factor, or None."""
    found = web_session.current()
    return found if found is not None and not found[0].verified else None


def _complete(record, user, how):
    web_session.store().mark_verified(record, web_session.now())
    record_request_event(db.session, "sign_in", target_type="staff_user", target_id=user.id, actor=user,
                         detail=how)
    db.session.commit()


@bp.route("/login/code", methods=["GET", "POST"])
@staff_only(PUBLIC)
@rate_limited("LOGIN_RATE_LIMIT", methods=("POST",))
def second_factor():
    """The second step: a code from the authenticator app, or a recovery code."""
    found = _pending()
    if found is None:
        return redirect(url_for("staff.login"))
    record, user = found
    if not user.has_second_factor:
        return redirect(url_for("staff.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        now, code = web_session.now(), form.code.data
        if verify_totp(db.session, user, code, cipher_for(current_app.config), now):
            _complete(record, user, "authenticator code")
            return _continue_to(request.args.get("next"))
        if use_recovery_code(db.session, user, code, now):
            _complete(record, user, "recovery code")
            flash("You used a recovery code; each one works once.", "info")
            return _continue_to(request.args.get("next"))
        return _wrong_code(form, record, user)
    return render_template("staff/second_factor.html", form=form), (400 if form.errors else 200)


def _wrong_code(form, record, user):
    """Count a wrong code like a wrong password; too many end the half-open session."""
    record_failure(db.session, user, request.remote_addr, web_session.now())
    record_request_event(db.session, "sign_in_failed", target_type="staff_user", target_id=user.id, actor=user,
                         detail="wrong code")
    if is_locked(db.session, user, request.remote_addr, web_session.now(),
                 SignInPolicy.from_config(current_app.config)):
        response = redirect(url_for("staff.login"))
        web_session.close_session(response)
        db.session.commit()
        flash("Too many wrong codes. Sign in again later, or ask an administrator.", "error")
        return response
    db.session.commit()
    form.code.errors.append("That code is not right, or was already used. Try the newest code.")
    return render_template("staff/second_factor.html", form=form), 400


@bp.route("/login/enrol", methods=["GET", "POST"])
@staff_only(PUBLIC)
@rate_limited("LOGIN_RATE_LIMIT", methods=("POST",))
def enrol():
    """First sign-in with a second factor: scan the QR code (or type the secret), confirm one code."""
    found = _pending()
    if found is None:
        return redirect(url_for("staff.login"))
    record, user = found
    if user.has_second_factor:
        return redirect(url_for("staff.second_factor"))
    cipher = cipher_for(current_app.config)
    secret = start_enrolment(user, cipher)
    form = CodeForm()
    if form.validate_on_submit():
        codes = confirm_enrolment(db.session, user, form.code.data, cipher, web_session.now())
        if codes is not None:
            _complete(record, user, "authenticator enrolled")
            return render_template("staff/recovery_codes.html", codes=codes,
                                   next_url=_safe_next(request.args.get("next")) or url_for("staff.home"))
        form.code.errors.append("That code is not right. Check the time on your phone and try the newest code.")
    db.session.commit()  # keep the waiting secret, so a reload shows the same QR code
    uri = provisioning_uri(secret, user.email, current_app.config["CLINIC_NAME"])
    return render_template("staff/enrol.html", form=form, qr=qr_svg(uri), secret=secret), \
        (400 if form.errors else 200)


@bp.post("/logout")
@staff_only(PUBLIC)
def logout():
    """Sign out (a POST, so a link elsewhere cannot sign anyone out): the session ends on the server."""
    found = web_session.current()
    if found is not None:
        record_request_event(db.session, "sign_out", target_type="staff_user", target_id=found[1].id,
                             actor=found[1])
    response = redirect(url_for("staff.login"))
    web_session.close_session(response)
    db.session.commit()
    session.clear()
    flash("You are signed out.", "info")
    return response


@bp.get("/")
@staff_only("admin", "receptionist", "clinician")
def home():
    """The staff home page: the sections this role may use."""
    return render_template("staff/home.html", sections=nav_for(current_user.role))
