"""Create the stock check tables: checks, the copies found, the copies missing at closing.

Revision ID: c2d6f7b4a9e5
Revises: b1c5e6a3f8d4
Create Date: 2026-11-27 09:05:00
"""

import sqlalchemy as sa
from alembic import op

import app.db

revision = 'c2d6f7b4a9e5'
down_revision = 'b1c5e6a3f8d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stock_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('library_id', sa.Integer(), nullable=False),
        sa.Column('location', sa.String(length=120), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('started_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('started_by_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('expected_count', sa.Integer(), nullable=True),
        sa.Column('found_count', sa.Integer(), nullable=True),
        sa.Column('missing_count', sa.Integer(), nullable=True),
        sa.Column('away_count', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['closed_by_id'], ['users.id'], name=op.f('fk_stock_checks_closed_by_id_users'), ondelete='SET NULL'
        ),
        sa.ForeignKeyConstraint(['library_id'], ['sites.id'], name=op.f('fk_stock_checks_library_id_sites')),
        sa.ForeignKeyConstraint(
            ['started_by_id'], ['users.id'], name=op.f('fk_stock_checks_started_by_id_users'), ondelete='SET NULL'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_checks')),
    )
    with op.batch_alter_table('stock_checks', schema=None) as batch_op:
        batch_op.create_index('ix_stock_checks_library_started', ['library_id', 'started_at'], unique=False)
        batch_op.create_index(
            'uq_stock_checks_open_library_location',
            ['library_id', 'location'],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        'stock_check_finds',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('check_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('found_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('found_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['check_id'], ['stock_checks.id'], name=op.f('fk_stock_check_finds_check_id_stock_checks'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['found_by_id'], ['users.id'], name=op.f('fk_stock_check_finds_found_by_id_users'), ondelete='SET NULL'
        ),
        sa.ForeignKeyConstraint(
            ['item_id'], ['items.id'], name=op.f('fk_stock_check_finds_item_id_items'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_check_finds')),
        sa.UniqueConstraint('check_id', 'item_id', name=op.f('uq_stock_check_finds_check_id_item_id')),
    )
    with op.batch_alter_table('stock_check_finds', schema=None) as batch_op:
        batch_op.create_index('ix_stock_check_finds_item_id', ['item_id'], unique=False)

    op.create_table(
        'stock_check_missing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('check_id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('accession_number', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ['check_id'], ['stock_checks.id'], name=op.f('fk_stock_check_missing_check_id_stock_checks'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['item_id'], ['items.id'], name=op.f('fk_stock_check_missing_item_id_items'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_check_missing')),
        sa.UniqueConstraint('check_id', 'item_id', name=op.f('uq_stock_check_missing_check_id_item_id')),
    )
    with op.batch_alter_table('stock_check_missing', schema=None) as batch_op:
        batch_op.create_index('ix_stock_check_missing_item_id', ['item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('stock_check_missing', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_check_missing_item_id')
    op.drop_table('stock_check_missing')
    with op.batch_alter_table('stock_check_finds', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_check_finds_item_id')
    op.drop_table('stock_check_finds')
    with op.batch_alter_table('stock_checks', schema=None) as batch_op:
        batch_op.drop_index(
            'uq_stock_checks_open_library_location',
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index('ix_stock_checks_library_started')
    op.drop_table('stock_checks')
