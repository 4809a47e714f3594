"""Intake tables. Answers, scores, flags and the signature are stored encrypted (booking.crypto);
only what orders the queue is clear: urgent or not, the highest flag level, when it was sent."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import Grouping

from booking.extensions import db
from booking.timeutil import UTCDateTime, utcnow

__all__ = ["Intake", "INTAKE_STATUSES", "INTAKE_DECISIONS", "FLAG_LEVELS", "QUEUE_ORDER", "booking_allowed"]

INTAKE_STATUSES = ("draft", "submitted", "reviewed")
INTAKE_DECISIONS = ("suitable", "not_suitable", "need_info")
# Highest first: the queue sorts urgent, then clearance, then review, then the rest.
FLAG_LEVELS = ("clearance", "review", "info")


class Intake(db.Model):
    """One patient's health history, from first draft to the clinician's decision.

    A submitted intake is never changed: a correction is a new row whose
    `previous_id` points at the one it corrects.
    """

    __tablename__ = "intake"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="draft", index=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow, index=True)
    submitted_at: Mapped[object | None] = mapped_column(UTCDateTime(), index=True)
    # The furthest step the patient has saved (1-based).
    last_step: Mapped[int] = mapped_column(default=0)

    # Private resume link: only the SHA-256 of the token is kept.
    resume_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    resume_expires_at: Mapped[object | None] = mapped_column(UTCDateTime())
    # One-time "correct my answers" link of a sent intake, emailed to the address on file:
    # the hash until it is used (then NULL), and when it stops working.
    correction_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    correction_expires_at: Mapped[object | None] = mapped_column(UTCDateTime())
    # Private booking link, issued on submit (no clearance flag) or when a clinician clears.
    booking_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    # The person this questionnaire belongs to (their contact details live on the patient).
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), index=True)
    patient = relationship("Patient", lazy="joined")
    # Encrypted JSON: every answer by step. Never stored or logged in the clear.
    answers_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    # Encrypted JSON list of the screening flags ({"level", "code", "reason"}) computed on submit:
    # codes and reasons both say what the patient has, so neither is kept in the clear.
    flags_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    # Encrypted JSON {"phq9": total, "gad7": total, "pcl5": total} of the complete questionnaires.
    scores_encrypted: Mapped[str | None] = mapped_column(sa.Text)

    # Clear, because the queue sorts on them; they reveal only the order of review.
    urgent: Mapped[bool] = mapped_column(default=False, index=True)
    crisis_acknowledged_at: Mapped[object | None] = mapped_column(UTCDateTime())  # the patient read the panel
    # A clinician has seen the urgent intake: until then `flask purge-drafts` keeps the draft.
    urgent_seen_at: Mapped[object | None] = mapped_column(UTCDateTime())
    flag_level: Mapped[str | None] = mapped_column(sa.String(20))  # highest level present

    # Consent: what was shown (version and SHA-256 of the exact text) and when, from where.
    consent_version: Mapped[str | None] = mapped_column(sa.String(20))
    consent_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    consent_at: Mapped[object | None] = mapped_column(UTCDateTime())
    consent_ip: Mapped[str | None] = mapped_column(sa.String(64))
    consent_user_agent: Mapped[str | None] = mapped_column(sa.String(255))

    # Clinician review.
    decision: Mapped[str | None] = mapped_column(sa.String(20))
    decision_notes_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    decided_at: Mapped[object | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    cleared_at: Mapped[object | None] = mapped_column(UTCDateTime())
    cleared_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))

    # Indexed: the queue asks, for every waiting intake, whether a later version corrects it.
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("intake.id"))
    previous = relationship("Intake", remote_side=[id])

    __table_args__ = (
        sa.CheckConstraint(sa.text("status IN ('draft', 'submitted', 'reviewed')"), name="status"),
        # The queue asks, per waiting intake, "is there a later version of it?". Only corrections
        # have a previous_id: indexing just those keeps the index small, and keeps table statistics
        # (ANALYZE) from calling it useless because nearly every row is NULL, which led SQLite to
        # scan the whole table once per waiting intake (47 s at 10,000 intakes).
        sa.Index("ix_intake_corrections", "previous_id", sqlite_where=sa.text("previous_id IS NOT NULL"),
                 postgresql_where=sa.text("previous_id IS NOT NULL")),
    )

    @property
    def has_clearance_flag(self):
        """True if a rule asks a clinician to clear this patient before booking."""
        return self.flag_level == "clearance"

    def booking_allowed(self, clearance_blocks_booking=True):
        """May this intake book? Submitted, and cleared if a clearance flag requires it."""
        return booking_allowed(self.status, self.decision, self.flag_level, self.cleared_at, clearance_blocks_booking)


def _literal(value):
    # A literal, not a bound parameter: SQLite's planner matches an expression index only when
    # the query's expression is the index's, constants included.
    return sa.literal_column(repr(value))


_columns = Intake.__table__.c
# The clinicians' queue order (intake_review.decisions.queue_query): urgent first, then clearance,
# then review, then the rest; oldest first within each. The index of the same expressions lets
# the queue's first page read its 51 rows in order instead of sorting every waiting intake
# (10-20 ms at 10,000 on SQLite).
QUEUE_ORDER = (_columns.urgent.desc(),
               # In brackets: PostgreSQL takes an index expression other than a function call only so.
               Grouping(sa.case((_columns.flag_level == _literal("clearance"), _literal(0)),
                                (_columns.flag_level == _literal("review"), _literal(1)), else_=_literal(2))),
               sa.func.coalesce(_columns.submitted_at, _columns.created_at).asc(), _columns.id.asc())
sa.Index("ix_intake_queue_order", *QUEUE_ORDER)


def booking_allowed(status, decision, flag_level, cleared_at, clearance_blocks_booking=True):
    """The booking rule on an intake's four columns (the week view reads them without the entity)."""
    if status == "draft" or decision == "not_suitable":
        return False
    if flag_level == "clearance" and clearance_blocks_booking:
        return cleared_at is not None
    return True
