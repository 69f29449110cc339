"""Index batch memberships by copy, so a scan and a copy's history do not read every membership.

Revision ID: b1c5e6a3f8d4
Revises: a0b4d5f2e7c3
Create Date: 2026-11-27 09:04:00
"""

from alembic import op

revision = 'b1c5e6a3f8d4'
down_revision = 'a0b4d5f2e7c3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('batch_items', schema=None) as batch_op:
        batch_op.create_index('ix_batch_items_item_id', ['item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('batch_items', schema=None) as batch_op:
        batch_op.drop_index('ix_batch_items_item_id')
