"""Calendar feed tokens: one secret per clinician, stored only as its SHA-256 hash."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.extensions import db
from booking.timeutil import UTCDateTime, utcnow

__all__ = ["FeedToken"]


class FeedToken(db.Model):
    """The current feed token of a clinician. Rotating replaces the hash, killing the old URL."""

    __tablename__ = "calendar_feed_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(sa.ForeignKey("staff_user.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))

    clinician = relationship("StaffUser", foreign_keys=[clinician_id])
