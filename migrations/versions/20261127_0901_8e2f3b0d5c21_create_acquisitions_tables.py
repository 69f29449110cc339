"""Create the tables of suppliers, intakes, withdrawals and stock checks.

Revision ID: 8e2f3b0d5c21
Revises: 7d1e2a9c4b10
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '8e2f3b0d5c21'
down_revision = '7d1e2a9c4b10'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
