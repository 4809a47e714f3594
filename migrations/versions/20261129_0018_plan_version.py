"""schedule_version: the plan version's row (id 2)

The plan version changes with everything that decides availability except bookings (hours,
blocks, exceptions, profiles, settings, bookable clinicians): a booking POST keys its cache
of those by it. Its row exists from the start, as the schedule version's does, so a bump is a
plain UPDATE.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("INSERT INTO schedule_version (id, version) SELECT 2, 0 "
               "WHERE NOT EXISTS (SELECT 1 FROM schedule_version WHERE id = 2)")


def downgrade():
    op.execute("DELETE FROM schedule_version WHERE id = 2")
