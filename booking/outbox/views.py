"""The admin outbox page: what is waiting or failed, without any message's content."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for

from booking.audit import record_request_event
from booking.extensions import db
from booking.models import OutboxMessage
from booking.outbox import bp
from booking.outbox.sender import retry_now
from booking.staff.access import staff_only
from booking.timeutil import utcnow

PAGE_LIMIT = 200


@bp.get("/staff/outbox")
@staff_only("admin")
def status():
    """Counts by status, and the unsent messages: kind, recipient domain, tries, last error."""
    counts = dict(db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all())
    waiting = db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.status != "sent")
        .order_by(OutboxMessage.status.desc(), OutboxMessage.next_attempt_at).limit(PAGE_LIMIT)).all()
    return render_template("outbox/status.html", counts=counts, messages=waiting, limit=PAGE_LIMIT)


@bp.post("/staff/outbox/<id:message_id>/retry")
@staff_only("admin")
def retry(message_id):
    """Make a pending or failed message due now; the next sender run picks it up."""
    if db.session.get(OutboxMessage, message_id) is None:
        abort(404)
    if retry_now(db.session, message_id, now=utcnow()):
        record_request_event(db.session, "change_settings", target_type="outbox_message", target_id=message_id,
                             detail="retry now")
        db.session.commit()
        flash(f"Message {message_id} will be sent on the sender's next run.", "success")
    else:
        db.session.rollback()
        flash(f"Message {message_id} is being sent or was already sent; nothing changed.", "info")
    return redirect(url_for("outbox.status"))
