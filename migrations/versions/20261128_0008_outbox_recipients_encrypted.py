"""outbox recipients encrypted; only the address's domain kept readable

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 13:45:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

outbox = sa.table('outbox_message', sa.column('id', sa.Integer), sa.column('recipient', sa.Text),
                  sa.column('recipient_domain', sa.String))


def _cipher():
    """The app's intake keys (`flask db upgrade` runs in the app)."""
    from flask import current_app

    from booking.crypto import cipher_for

    return cipher_for(current_app.config)


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('recipient', existing_type=sa.String(length=254), type_=sa.Text(),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('recipient_domain', sa.String(length=254), nullable=False,
                                      server_default=''))
    connection = op.get_bind()
    rows = connection.execute(sa.select(outbox.c.id, outbox.c.recipient)).all()
    if rows:
        cipher = _cipher()
        for row in rows:
            connection.execute(outbox.update().where(outbox.c.id == row.id).values(
                recipient=cipher.encrypt(row.recipient), recipient_domain=row.recipient.rpartition('@')[2]))
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('recipient_domain', server_default=None)


def downgrade():
    connection = op.get_bind()
    rows = connection.execute(sa.select(outbox.c.id, outbox.c.recipient)).all()
    if rows:
        cipher = _cipher()
        for row in rows:
            connection.execute(outbox.update().where(outbox.c.id == row.id).values(
                recipient=cipher.decrypt(row.recipient)))
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('recipient_domain')
        batch_op.alter_column('recipient', existing_type=sa.Text(), type_=sa.String(length=254),
                              existing_nullable=False)
