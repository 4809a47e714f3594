"""SQLite's booking overlap guard reads one booking instead of the clinician's whole history

The triggers' check looked at every active booking of the clinician that starts before the
new one ends: with a year of history, every booking's INSERT scanned it all. Active bookings
of a clinician never overlap (the guard sees to it), so the last of them to start before the
new one ends is the only one that can still be running when it starts; the check now reads
that one, by a seek on uq_booking_clinician_start_active. PostgreSQL's exclusion constraint
is unchanged.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""
# Frozen history: the guard's SQL is written out here rather than imported from the models.
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_RAISE = "SELECT RAISE(ABORT, 'booking_no_overlap: the clinician already has a booking at that time') "
ONE_SEEK = (_RAISE + "WHERE (SELECT other.busy_until FROM booking AS other WHERE other.clinician_id = NEW.clinician_id "
            "AND other.status <> 'cancelled' AND other.id IS NOT NEW.id AND other.starts_at < NEW.busy_until "
            "ORDER BY other.starts_at DESC LIMIT 1) > NEW.starts_at")
EVERY_EARLIER = (_RAISE + "WHERE EXISTS (SELECT 1 FROM booking AS other WHERE other.clinician_id = NEW.clinician_id "
                 "AND other.status <> 'cancelled' AND other.id IS NOT NEW.id "
                 "AND other.starts_at < NEW.busy_until AND NEW.starts_at < other.busy_until)")


def _guards(check):
    """Replace SQLite's two overlap triggers with ones running `check`."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS booking_no_overlap_insert")
    op.execute("DROP TRIGGER IF EXISTS booking_no_overlap_update")
    op.execute("CREATE TRIGGER booking_no_overlap_insert BEFORE INSERT ON booking "
               f"WHEN NEW.status <> 'cancelled' BEGIN {check}; END")
    op.execute("CREATE TRIGGER booking_no_overlap_update BEFORE UPDATE OF clinician_id, starts_at, busy_until, status "
               f"ON booking WHEN NEW.status <> 'cancelled' BEGIN {check}; END")


def upgrade():
    _guards(ONE_SEEK)


def downgrade():
    _guards(EVERY_EARLIER)
