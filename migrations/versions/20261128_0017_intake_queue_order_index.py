"""intake: an index in the clinicians' queue order

The queue sorts waiting intakes by urgency, flag level, arrival and id, and shows 50. Without
an index in that order the database sorted every waiting intake for each page (10-20 ms at
10,000 on SQLite); with it the first page reads its rows in order and stops. The expressions
are booking.models.intake.QUEUE_ORDER's, constants written as literals so that SQLite's
planner matches them.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

QUEUE_ORDER = [sa.text("urgent DESC"),
               sa.text("(CASE WHEN (flag_level = 'clearance') THEN 0 WHEN (flag_level = 'review') THEN 1 ELSE 2 END)"),
               sa.text("coalesce(submitted_at, created_at)"), sa.text("id")]


def upgrade():
    op.create_index('ix_intake_queue_order', 'intake', QUEUE_ORDER, unique=False)


def downgrade():
    op.drop_index('ix_intake_queue_order', table_name='intake')
