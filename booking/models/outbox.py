"""The outbox: every email is a row written in the same transaction as the change that caused it.

A sender claims due rows, delivers them and marks them; failures are retried with back-off
until a configurable number of tries, and the last error is kept. Nothing here holds
health data: bodies are built from the booking's time, the clinic and private links only.
The recipient, the body and the invite are encrypted with the intake keys (a patient's address
and private links are in them); only the address's domain is kept readable, for the status page.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from booking.extensions import db
from booking.timeutil import UTCDateTime, utcnow

__all__ = ["OutboxMessage", "OUTBOX_STATUSES", "OUTBOX_KINDS"]

# pending: waiting (or waiting to retry); sending: claimed by a sender; sent; failed: gave up.
OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")
OUTBOX_KINDS = (
    "booking_confirmation", "booking_reminder", "booking_change", "booking_cancellation", "booking_link",
    "intake_resume", "intake_correction", "intake_cleared", "staff_new_intake", "staff_urgent_intake", "staff_booking_changed",
    "waitlist_offer", "booking_restored",
)


class OutboxMessage(db.Model):
    """One email waiting to be sent, being sent, sent, or given up on."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    recipient: Mapped[str] = mapped_column(sa.Text)  # encrypted (booking.outbox.sender.recipient_of)
    recipient_domain: Mapped[str] = mapped_column(sa.String(254), default="")  # readable: the status page
    subject: Mapped[str] = mapped_column(sa.String(200))
    body_text: Mapped[str] = mapped_column(sa.Text)
    # An iMIP invite: the .ics text and its METHOD (REQUEST or CANCEL), or neither. Once the
    # message is delivered the body and the .ics are erased (booking.outbox.sender.deliver).
    ics: Mapped[str | None] = mapped_column(sa.Text)
    ics_method: Mapped[str | None] = mapped_column(sa.String(10))
    # Refuses a second copy of a message that must exist once (e.g. "reminder:<booking>:<start>").
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    booking_id: Mapped[int | None] = mapped_column(index=True)  # no foreign key: the outbox outlives rows

    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    tries: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_at: Mapped[object | None] = mapped_column(UTCDateTime())
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[object | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        sa.CheckConstraint(sa.text("status IN ('pending', 'sending', 'sent', 'failed')"), name="status"),
        sa.CheckConstraint(sa.text("ics_method IS NULL OR ics_method IN ('REQUEST', 'CANCEL')"), name="ics_method"),
        # The sender's query: due messages by status and time.
        sa.Index("ix_outbox_message_due", "status", "next_attempt_at"),
    )

    def __repr__(self):
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"
