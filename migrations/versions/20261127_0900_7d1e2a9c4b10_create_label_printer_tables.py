"""Create the table of label printers and their calibration offsets.

Revision ID: 7d1e2a9c4b10
Revises: c45ce2e48bb2
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '7d1e2a9c4b10'
down_revision = 'c45ce2e48bb2'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
