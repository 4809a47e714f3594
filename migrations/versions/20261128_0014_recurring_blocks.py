"""recurring_block: a clinician's weekly blocked time (e.g. every Wednesday afternoon) until an end date

Revision ID: 0014_recurring_blocks
Revises: 0013
Create Date: 2026-11-28 15:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0014_recurring_blocks'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('recurring_block',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinician_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_recurring_block_weekday')),
    sa.CheckConstraint('start_time < end_time', name=op.f('ck_recurring_block_start_before_end')),
    sa.CheckConstraint('first_day <= last_day', name=op.f('ck_recurring_block_first_day_before_last')),
    sa.ForeignKeyConstraint(['clinician_id'], ['staff_user.id'], name=op.f('fk_recurring_block_clinician_id_staff_user')),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_user.id'], name=op.f('fk_recurring_block_created_by_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recurring_block'))
    )
    op.create_index(op.f('ix_recurring_block_clinician_id'), 'recurring_block', ['clinician_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_recurring_block_clinician_id'), table_name='recurring_block')
    op.drop_table('recurring_block')
