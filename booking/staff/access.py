"""Deny by default: every view under /staff declares the roles it allows.

`staff_only(...)` marks a view; `enforce_staff_access` runs before every request and
refuses any /staff view that declared nothing, so a forgotten decorator fails closed.
Every refusal (403) is written to the audit log.
"""

from flask import abort, current_app, flash, g, redirect, request, url_for

from booking.audit import record_request_event
from booking.errors import render_error
from booking.extensions import db
from booking.models import ROLES
from booking.staff import web_session

PUBLIC = "public"
STAFF_PREFIX = "/staff"
# Pages a signed-in person may still open while a new password is due.
PASSWORD_DUE_ENDPOINTS = ("staff.change_password", "staff.logout", "static")
ENDED_MESSAGES = {
    "idle": "You were signed out after a period of inactivity. Please sign in again.",
    "expired": "Your session has ended. Please sign in again.",
}


def staff_only(*roles):
    """Allow the decorated view to signed-in staff with one of `roles` (or PUBLIC)."""
    unknown = set(roles) - set(ROLES) - {PUBLIC}
    if not roles or unknown:
        raise ValueError(f"staff_only needs roles from {ROLES}, got {roles}")

    def mark(view):
        view.allowed_roles = frozenset(roles)
        return view

    return mark


def allowed_roles_for(endpoint):
    """The roles the view behind `endpoint` declared, or None if it declared none."""
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "allowed_roles", None)


def enforce_staff_access():
    """before_request: sign-in, second factor, password due and role checks for the staff area."""
    if not request.path.startswith(STAFF_PREFIX) or request.endpoint is None:
        return None
    roles = allowed_roles_for(request.endpoint)
    if roles is None:
        current_app.logger.warning("staff view %s declares no roles; refused", request.endpoint)
        abort(403)
    if PUBLIC in roles:
        return None
    found = web_session.current()
    if found is None:
        ended = ENDED_MESSAGES.get(g.get("staff_session_ended"))
        if ended:
            flash(ended, "info")
            return redirect(url_for("staff.login"))
        return redirect(url_for("staff.login", next=request.full_path if request.method == "GET" else None))
    record, user = found
    if not record.verified:
        return redirect(url_for("staff.second_factor"))
    if user.must_change_password and request.endpoint not in PASSWORD_DUE_ENDPOINTS:
        return redirect(url_for("staff.change_password"))
    if user.role not in roles:
        abort(403)
    return None


def refused(error):
    """Error handler for 403: audit the refusal (method and endpoint, never the path), then explain."""
    db.session.rollback()  # nothing a refused request started may be committed with the audit row
    record_request_event(db.session, "access_refused", target_type="endpoint",
                         detail=f"{request.method} {request.endpoint or '-'}")
    db.session.commit()
    return render_error(403)
