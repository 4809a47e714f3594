"""The audit log: append-only, enforced by the database as well as by having no edit route."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from booking.extensions import db
from booking.timeutil import UTCDateTime, utcnow

AUDIT_ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "view_intake",
    "decide_intake",
    "clear_intake",
    "export",
    "feed_fetch",
    "change_staff",
    "change_booking",
    "change_settings",
    "end_session",
    "access_refused",
    "change_patient",
    "merge_patients",
    "erase_patient",
)


class AuditEvent(db.Model):
    """Who did what to which record, when, and from where. Never holds health data."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[object] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("staff_user.id"))
    actor_role: Mapped[str | None] = mapped_column(sa.String(20))
    action: Mapped[str] = mapped_column(sa.String(40), index=True)
    target_type: Mapped[str | None] = mapped_column(sa.String(40))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(255))
    detail: Mapped[str | None] = mapped_column(sa.String(255))


# The database itself refuses to change or remove audit rows (TRUNCATE is left to the
# operator, and to the test suite's clean-up).
_SQLITE_GUARDS = [
    sa.DDL(
        f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
        "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
    ).execute_if(dialect="sqlite")
    for verb in ("UPDATE", "DELETE")
]
_POSTGRES_GUARDS = [
    sa.DDL(
        "CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql"
    ).execute_if(dialect="postgresql"),
    sa.DDL(
        "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
        "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
    ).execute_if(dialect="postgresql"),
]
for _guard in _SQLITE_GUARDS + _POSTGRES_GUARDS:
    sa.event.listen(AuditEvent.__table__, "after_create", _guard)
