"""intake.previous_id: a partial index of the corrections only

The full index's statistics (nearly every previous_id is NULL) told SQLite's planner, after an
ANALYZE, that the index was useless, and the queue then scanned the whole intake table once
per waiting intake. A partial index over the non-NULL rows is small and keeps its use.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

CORRECTIONS = sa.text("previous_id IS NOT NULL")


def upgrade():
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_previous_id')
    op.create_index('ix_intake_corrections', 'intake', ['previous_id'], unique=False,
                    sqlite_where=CORRECTIONS, postgresql_where=CORRECTIONS)


def downgrade():
    op.drop_index('ix_intake_corrections', table_name='intake')
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.create_index('ix_intake_previous_id', ['previous_id'], unique=False)
