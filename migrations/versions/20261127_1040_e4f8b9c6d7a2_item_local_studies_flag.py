"""Mark local-studies copies (tài liệu địa chí), which never rotate.

Revision ID: e4f8b9c6d7a2
Revises: d3e7a8b5c6f1
Create Date: 2026-11-27 10:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = 'e4f8b9c6d7a2'
down_revision = 'd3e7a8b5c6f1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('is_local_studies', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('is_local_studies')
