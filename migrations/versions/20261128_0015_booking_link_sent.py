"""Booking history may record a manage link emailed again ("link_sent").

Revision ID: 0015
Revises: 0014_recurring_blocks
Create Date: 2026-11-28
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014_recurring_blocks'
branch_labels = None
depends_on = None

OLD = "kind IN ('created', 'moved', 'cancelled', 'arrived', 'completed', 'no_show', 'undone')"
NEW = "kind IN ('created', 'moved', 'cancelled', 'arrived', 'completed', 'no_show', 'undone', 'link_sent')"


def _replace_check(condition):
    """Swap booking_event's kind check (a batch rebuild on SQLite; booking_event has no triggers)."""
    with op.batch_alter_table('booking_event', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_booking_event_kind'), type_='check')
        batch_op.create_check_constraint('kind', condition)


def upgrade():
    _replace_check(NEW)


def downgrade():
    # The old check has no room for these rows: going back drops those history lines.
    op.execute("DELETE FROM booking_event WHERE kind = 'link_sent'")
    _replace_check(OLD)
