"""Create the tables of suppliers, intakes, withdrawals and stock checks.

Revision ID: 8e2f3b0d5c21
Revises: 7d1e2a9c4b10
Create Date: 2026-11-27 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import app.db

revision = '8e2f3b0d5c21'
down_revision = '7d1e2a9c4b10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('suppliers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('name_key', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('phone', sa.String(length=50), nullable=False),
    sa.Column('tax_code', sa.String(length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers')),
    sa.UniqueConstraint('name_key', name='uq_suppliers_name_key')
    )
    op.create_table('intake_register_counters',
    sa.Column('library_id', sa.Integer(), nullable=False),
    sa.Column('next_number', sa.Integer(), nullable=False),
    sa.CheckConstraint('next_number >= 1', name=op.f('ck_intake_register_counters_next_positive')),
    sa.ForeignKeyConstraint(['library_id'], ['sites.id'], name=op.f('fk_intake_register_counters_library_id_sites')),
    sa.PrimaryKeyConstraint('library_id', name=op.f('pk_intake_register_counters'))
    )
    op.create_table('intakes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('library_id', sa.Integer(), nullable=False),
    sa.Column('intake_date', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('supplier_id', sa.Integer(), nullable=True),
    sa.Column('document_number', sa.String(length=100), nullable=False),
    sa.Column('fund', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('register_number', sa.Integer(), nullable=True),
    sa.Column('received_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'received') = (register_number IS NOT NULL)", name=op.f('ck_intakes_register_number_when_received')),
    sa.CheckConstraint('register_number IS NULL OR register_number >= 1', name=op.f('ck_intakes_register_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_intakes_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['library_id'], ['sites.id'], name=op.f('fk_intakes_library_id_sites')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_intakes_received_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_intakes_supplier_id_suppliers'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intakes')),
    sa.UniqueConstraint('library_id', 'register_number', name='uq_intakes_library_id_register_number')
    )
    with op.batch_alter_table('intakes', schema=None) as batch_op:
        batch_op.create_index('ix_intakes_library_date', ['library_id', 'intake_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_intakes_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_intakes_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('withdrawals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('library_id', sa.Integer(), nullable=False),
    sa.Column('withdrawal_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('minutes_number', sa.String(length=100), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_withdrawals_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['library_id'], ['sites.id'], name=op.f('fk_withdrawals_library_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_withdrawals'))
    )
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.create_index('ix_withdrawals_library_date', ['library_id', 'withdrawal_date'], unique=False)

    op.create_table('intake_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intake_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('copies', sa.Integer(), nullable=False),
    sa.Column('unit_price_vnd', sa.BigInteger(), nullable=True),
    sa.Column('sequence_id', sa.Integer(), nullable=True),
    sa.Column('class_number', sa.String(length=60), nullable=False),
    sa.Column('author_mark', sa.String(length=30), nullable=False),
    sa.Column('call_number', sa.String(length=120), nullable=False),
    sa.Column('location', sa.String(length=120), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.CheckConstraint('copies > 0', name=op.f('ck_intake_lines_copies_positive')),
    sa.CheckConstraint('unit_price_vnd IS NULL OR unit_price_vnd >= 0', name=op.f('ck_intake_lines_price_non_negative')),
    sa.ForeignKeyConstraint(['intake_id'], ['intakes.id'], name=op.f('fk_intake_lines_intake_id_intakes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_intake_lines_record_id_records'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sequence_id'], ['accession_sequences.id'], name=op.f('fk_intake_lines_sequence_id_accession_sequences'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_lines'))
    )
    with op.batch_alter_table('intake_lines', schema=None) as batch_op:
        batch_op.create_index('ix_intake_lines_intake_id', ['intake_id'], unique=False)
        batch_op.create_index('ix_intake_lines_record_id', ['record_id'], unique=False)

    op.create_table('withdrawal_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('withdrawal_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('accession_number', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('price_vnd', sa.BigInteger(), nullable=True),
    sa.Column('previous_status', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_withdrawal_lines_item_id_items'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['withdrawal_id'], ['withdrawals.id'], name=op.f('fk_withdrawal_lines_withdrawal_id_withdrawals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_withdrawal_lines')),
    sa.UniqueConstraint('item_id', name='uq_withdrawal_lines_item_id')
    )
    with op.batch_alter_table('withdrawal_lines', schema=None) as batch_op:
        batch_op.create_index('ix_withdrawal_lines_withdrawal_id', ['withdrawal_id'], unique=False)

    op.create_table('intake_items',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('intake_line_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['intake_line_id'], ['intake_lines.id'], name=op.f('fk_intake_items_intake_line_id_intake_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_intake_items_item_id_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', name=op.f('pk_intake_items'))
    )
    with op.batch_alter_table('intake_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_intake_items_intake_line_id'), ['intake_line_id'], unique=False)


def downgrade():
    with op.batch_alter_table('intake_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intake_items_intake_line_id'))

    op.drop_table('intake_items')
    with op.batch_alter_table('withdrawal_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_withdrawal_lines_withdrawal_id')

    op.drop_table('withdrawal_lines')
    with op.batch_alter_table('intake_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_intake_lines_record_id')
        batch_op.drop_index('ix_intake_lines_intake_id')

    op.drop_table('intake_lines')
    with op.batch_alter_table('withdrawals', schema=None) as batch_op:
        batch_op.drop_index('ix_withdrawals_library_date')

    op.drop_table('withdrawals')
    with op.batch_alter_table('intakes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_intakes_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_intakes_status'))
        batch_op.drop_index('ix_intakes_library_date')

    op.drop_table('intakes')
    op.drop_table('intake_register_counters')
    op.drop_table('suppliers')
