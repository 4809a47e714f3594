"""Writing the audit log. `record_event` is plain; `record_request_event` reads the request."""

from flask import has_request_context, request
from flask_login import current_user

from booking.models import AuditEvent


def record_event(session, *, action, actor=None, target_type=None, target_id=None,
                 ip=None, user_agent=None, detail=None):
    """Add an audit row to `session` (the caller commits). `detail` must hold no health data."""
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        actor_role=getattr(actor, "role", None),
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
        detail=(detail or "")[:255] or None,
    )
    session.add(event)
    return event


def record_request_event(session, action, *, target_type=None, target_id=None, detail=None, actor=None):
    """Audit an action taken in the current request, by the signed-in staff member by default."""
    if actor is None and current_user and current_user.is_authenticated:
        actor = current_user
    ip = user_agent = None
    if has_request_context():
        ip = request.remote_addr
        user_agent = request.user_agent.string
    return record_event(session, action=action, actor=actor, target_type=target_type,
                        target_id=target_id, ip=ip, user_agent=user_agent, detail=detail)
