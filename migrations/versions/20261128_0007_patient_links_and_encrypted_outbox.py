"""patient links that expire, one-time correction links, outbox encrypted at rest

Revision ID: 0007
Revises: 0004
Create Date: 2026-11-28 12:20:00

"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa

from booking.timeutil import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

outbox = sa.table('outbox_message', sa.column('id', sa.Integer), sa.column('status', sa.String),
                  sa.column('body_text', sa.Text), sa.column('ics', sa.Text))
intake = sa.table('intake', sa.column('id', sa.Integer), sa.column('status', sa.String),
                  sa.column('updated_at', UTCDateTime()), sa.column('resume_expires_at', UTCDateTime()))


def upgrade():
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correction_token_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('correction_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_intake_correction_token_hash'), ['correction_token_hash'])
    connection = op.get_bind()
    # A sent questionnaire's link used to work for ever: it now lasts 30 days from the last save,
    # as a draft's does. Links of questionnaires sent more than 30 days ago stop working now.
    for row in connection.execute(sa.select(intake.c.id, intake.c.updated_at).where(intake.c.status != 'draft')).all():
        expires = (row.updated_at or datetime.now(timezone.utc)) + timedelta(days=30)
        connection.execute(intake.update().where(intake.c.id == row.id).values(resume_expires_at=expires))
    # Email bodies and invites are now stored encrypted. Delivered ones were erased already;
    # encrypt those still waiting, with the app's intake keys (`flask db upgrade` runs in the app).
    waiting = connection.execute(sa.select(outbox.c.id, outbox.c.body_text, outbox.c.ics)
                                 .where(outbox.c.status.in_(('pending', 'sending', 'failed')))).all()
    if waiting:
        from flask import current_app

        from booking.crypto import cipher_for

        cipher = cipher_for(current_app.config)
        for row in waiting:
            connection.execute(outbox.update().where(outbox.c.id == row.id).values(
                body_text=cipher.encrypt(row.body_text or ''),
                ics=None if row.ics is None else cipher.encrypt(row.ics)))
    connection.execute(outbox.update().where(outbox.c.status == 'sent').values(body_text='', ics=None))


def downgrade():
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_intake_correction_token_hash'), type_='unique')
        batch_op.drop_column('correction_expires_at')
        batch_op.drop_column('correction_token_hash')
