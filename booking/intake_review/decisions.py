"""The clinician's side of an intake: the queue's order, decisions and clearing for booking.

Plain functions over the session: the staff member and `now` are arguments.
"""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import flag_modified

from booking.intake.service import issue_booking_token
from booking.models import Intake
from booking.models.intake import INTAKE_DECISIONS, QUEUE_ORDER
from booking.signals import intake_cleared

SENDER = "intake_review"

# status filter -> description; "waiting" is what a clinician has still to look at.
STATUS_FILTERS = {
    "waiting": "Waiting for review (and urgent unfinished ones)",
    "submitted": "Sent, not yet reviewed",
    "reviewed": "Reviewed",
    "draft": "Unfinished drafts",
    "all": "All",
}
DECISION_LABELS = {
    "suitable": "Suitable for consultation",
    "not_suitable": "Not suitable",
    "need_info": "Need more information",
}
assert set(DECISION_LABELS) == set(INTAKE_DECISIONS)


class ReviewError(Exception):
    """A review action that cannot be taken; `message` is shown to the clinician."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _waiting():
    """The "waiting" filter's conditions: (for clinicians, for the front desk). Built once: the
    aliased correlation costs more to build than the queue's first page takes to read."""
    # One entry per questionnaire: a correction still being written is not a new one, and a
    # sent correction takes the place of the version it corrects (the page shows both).
    later = aliased(Intake)
    superseded = sa.exists().where(later.previous_id == Intake.id, later.status != "draft")
    sent = Intake.status == "submitted"
    # Urgent drafts reach clinicians only: the front desk never sees urgency.
    urgent_draft = sa.and_(Intake.status == "draft", Intake.urgent, Intake.previous_id.is_(None))
    return (sa.or_(sent, urgent_draft), ~superseded), (sent, ~superseded)


WAITING_CLINICAL, WAITING_DESK = _waiting()


def queue_query(status="waiting", since=None, until=None, zone_name="UTC", clinical=True):
    """The SELECT for the queue; `since`/`until` are clinic-local dates (inclusive) or None.

    Without `clinical` (the front desk), neither the rows nor their order may tell urgency:
    no urgent drafts among those waiting, and oldest first.
    """
    query = sa.select(Intake)
    if status == "waiting":
        query = query.where(*(WAITING_CLINICAL if clinical else WAITING_DESK))
    elif status in ("submitted", "reviewed", "draft"):
        query = query.where(Intake.status == status)
    arrived = sa.func.coalesce(Intake.submitted_at, Intake.created_at)
    zone = ZoneInfo(zone_name)
    if since is not None:
        query = query.where(arrived >= datetime.combine(since, time(), zone))
    if until is not None:
        query = query.where(arrived < datetime.combine(until + timedelta(days=1), time(), zone))
    return query.order_by(*QUEUE_ORDER) if clinical else query.order_by(arrived.asc(), Intake.id.asc())


def queue_page(session, query, limit, offset):
    """The intakes of one page of `query`, in its order.

    The ids are sorted first and the rows loaded after: sorting ten thousand narrow rows is a
    third of the cost of sorting the whole encrypted rows the page never shows.
    """
    ids = session.scalars(query.with_only_columns(Intake.id).limit(limit).offset(offset)).all()
    if not ids:
        return []
    loaded = {intake.id: intake for intake in session.scalars(sa.select(Intake).where(Intake.id.in_(ids))).unique()}
    return [loaded[intake_id] for intake_id in ids]


def mark_urgent_seen(intake, *, staff, now):
    """Note that a clinician has seen an urgent intake (from then on a stale draft may be purged).

    Seeing is not the patient touching the draft, so updated_at keeps its value.
    """
    if intake.urgent and intake.urgent_seen_at is None and staff.role == "clinician":
        intake.urgent_seen_at = now
        flag_modified(intake, "updated_at")  # keep the column's onupdate (the wall clock) out of it


def record_decision(intake, *, staff, decision, notes, cipher, now):
    """Record a clinician's decision with notes (notes are encrypted). Raises ReviewError."""
    if intake.status == "draft":
        raise ReviewError("This questionnaire has not been sent yet, so there is nothing to decide.")
    if decision not in DECISION_LABELS:
        raise ReviewError("Choose one of the decisions.")
    intake.decision = decision
    intake.decision_notes_encrypted = cipher.encrypt(notes or "")
    intake.decided_at = now
    intake.decided_by_id = staff.id
    intake.status = "reviewed"


def clear_for_booking(session, intake, *, staff, now, link_for):
    """Let the patient book, and return a fresh booking-link token. Raises ReviewError.

    Sends intake_cleared with the absolute booking link (`link_for(token)`), which emails it.
    """
    if intake.status == "draft":
        raise ReviewError("This questionnaire has not been sent yet.")
    if intake.decision == "not_suitable":
        raise ReviewError("The recorded decision is “not suitable”. Record a different decision before clearing.")
    intake.cleared_at = now
    intake.cleared_by_id = staff.id
    token = issue_booking_token(intake)
    intake_cleared.send(SENDER, session=session, now=now, intake=intake, actor=staff, link=link_for(token))
    return token
