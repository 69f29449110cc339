"""Create the tables of the plan's yearly targets and monthly figures.

Revision ID: 9f3a4c1e6d32
Revises: 8e2f3b0d5c21
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '9f3a4c1e6d32'
down_revision = '8e2f3b0d5c21'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
