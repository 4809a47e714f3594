"""Deny by default: every view under /staff declares the roles it allows.

`staff_only(...)` marks a view; `enforce_staff_access` runs before every request and
refuses any /staff view that declared nothing, so a forgotten decorator fails closed.
"""

from datetime import datetime, timezone

from flask import abort, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from booking.models import ROLES

PUBLIC = "public"
STAFF_PREFIX = "/staff"


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
    """before_request: sign-in, idle timeout and role checks for the staff area."""
    if not request.path.startswith(STAFF_PREFIX) or request.endpoint is None:
        return None
    roles = allowed_roles_for(request.endpoint)
    if roles is None:
        current_app.logger.warning("staff view %s declares no roles; refused", request.endpoint)
        abort(403)
    if PUBLIC in roles:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("staff.login", next=request.full_path if request.method == "GET" else None))
    if _idle_too_long():
        logout_user()
        session.clear()
        flash("You were signed out after a period of inactivity. Please sign in again.", "info")
        return redirect(url_for("staff.login"))
    session["last_seen"] = datetime.now(timezone.utc).timestamp()
    if current_user.role not in roles:
        abort(403)
    return None


def _idle_too_long():
    last_seen = session.get("last_seen")
    if last_seen is None:
        return False
    idle = datetime.now(timezone.utc).timestamp() - float(last_seen)
    return idle > current_app.config["STAFF_IDLE_TIMEOUT"].total_seconds()

