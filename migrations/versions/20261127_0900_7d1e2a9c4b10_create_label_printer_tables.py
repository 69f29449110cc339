"""Create the table of label printers and their calibration offsets.

Revision ID: 7d1e2a9c4b10
Revises: c45ce2e48bb2
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.db

revision = '7d1e2a9c4b10'
down_revision = 'c45ce2e48bb2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('label_printers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('offset_x', sa.Numeric(precision=5, scale=2, asdecimal=False), nullable=False),
    sa.Column('offset_y', sa.Numeric(precision=5, scale=2, asdecimal=False), nullable=False),
    sa.Column('default_template', sa.String(length=40), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('offset_x BETWEEN -20 AND 20', name=op.f('ck_label_printers_offset_x_range')),
    sa.CheckConstraint('offset_y BETWEEN -20 AND 20', name=op.f('ck_label_printers_offset_y_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_printers')),
    sa.UniqueConstraint('name', name=op.f('uq_label_printers_name'))
    )


def downgrade():
    op.drop_table('label_printers')
