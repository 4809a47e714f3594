"""waitlist: patients waiting for a time, and the freed times offered to them

Revision ID: 0012
Revises: 0007
Create Date: 2026-11-28 13:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

WAITING = sa.text("status = 'waiting'")


def upgrade():
    op.create_table('waitlist_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('intake_id', sa.Integer(), nullable=True),
    sa.Column('clinician_id', sa.Integer(), nullable=True),
    sa.Column('days', sa.SmallInteger(), nullable=False),
    sa.Column('parts', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('waiting', 'booked', 'left')", name=op.f('ck_waitlist_entry_status')),
    sa.CheckConstraint('days BETWEEN 1 AND 127', name=op.f('ck_waitlist_entry_days')),
    sa.CheckConstraint('parts BETWEEN 1 AND 7', name=op.f('ck_waitlist_entry_parts')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_waitlist_entry_patient_id_patient')),
    sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], name=op.f('fk_waitlist_entry_intake_id_intake')),
    sa.ForeignKeyConstraint(['clinician_id'], ['staff_user.id'], name=op.f('fk_waitlist_entry_clinician_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry'))
    )
    op.create_index(op.f('ix_waitlist_entry_patient_id'), 'waitlist_entry', ['patient_id'], unique=False)
    op.create_index(op.f('ix_waitlist_entry_expires_at'), 'waitlist_entry', ['expires_at'], unique=False)
    op.create_index('uq_waitlist_entry_patient_waiting', 'waitlist_entry', ['patient_id'], unique=True,
                    sqlite_where=WAITING, postgresql_where=WAITING)
    op.create_table('waitlist_offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('clinician_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entry.id'], name=op.f('fk_waitlist_offer_entry_id_waitlist_entry')),
    sa.ForeignKeyConstraint(['clinician_id'], ['staff_user.id'], name=op.f('fk_waitlist_offer_clinician_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offer')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_waitlist_offer_token_hash')),
    sa.UniqueConstraint('entry_id', 'clinician_id', 'starts_at', name='uq_waitlist_offer_time')
    )
    op.create_index(op.f('ix_waitlist_offer_entry_id'), 'waitlist_offer', ['entry_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_waitlist_offer_entry_id'), table_name='waitlist_offer')
    op.drop_table('waitlist_offer')
    op.drop_index('uq_waitlist_entry_patient_waiting', table_name='waitlist_entry')
    op.drop_index(op.f('ix_waitlist_entry_expires_at'), table_name='waitlist_entry')
    op.drop_index(op.f('ix_waitlist_entry_patient_id'), table_name='waitlist_entry')
    op.drop_table('waitlist_entry')
