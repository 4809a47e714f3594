"""Booking history may record an undone status change ("undone").

Revision ID: 0011
Revises: 0007
Create Date: 2026-11-28
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD = "kind IN ('created', 'moved', 'cancelled', 'arrived', 'completed', 'no_show')"
NEW = "kind IN ('created', 'moved', 'cancelled', 'arrived', 'completed', 'no_show', 'undone')"


def _replace_check(condition):
    """Swap booking_event's kind check (a batch rebuild on SQLite; booking_event has no triggers)."""
    with op.batch_alter_table('booking_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_booking_event_kind'), type_='check')
        batch_op.create_check_constraint('kind', condition)


def upgrade():
    _replace_check(NEW)


def downgrade():
    # The old check has no room for undone rows: going back drops those history lines.
    op.execute("DELETE FROM booking_event WHERE kind = 'undone'")
    _replace_check(OLD)
