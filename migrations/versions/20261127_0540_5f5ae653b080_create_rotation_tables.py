"""Create the rotation tables: batches and their copies, shipments and their lines, plans, point usage.

Revision ID: 5f5ae653b080
Revises: f6f73330782c
Create Date: 2026-11-27 05:51:41.018917
"""

import sqlalchemy as sa
from alembic import op

import app.db

revision = '5f5ae653b080'
down_revision = 'f6f73330782c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rotation_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('period_months', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('period_months IN (1, 3)', name=op.f('ck_rotation_plans_period_months')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_rotation_plans_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotation_plans'))
    )
    op.create_table('batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('home_library_id', sa.Integer(), nullable=False),
    sa.Column('holder_site_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('target_size', sa.Integer(), nullable=False),
    sa.Column('box_count', sa.Integer(), nullable=False),
    sa.Column('seal_number', sa.String(length=64), nullable=False),
    sa.Column('due_back_on', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('parent_batch_id', sa.Integer(), nullable=True),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('box_count > 0', name=op.f('ck_batches_boxes_positive')),
    sa.CheckConstraint('target_size > 0', name=op.f('ck_batches_target_positive')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_batches_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['holder_site_id'], ['sites.id'], name=op.f('fk_batches_holder_site_id_sites')),
    sa.ForeignKeyConstraint(['home_library_id'], ['sites.id'], name=op.f('fk_batches_home_library_id_sites')),
    sa.ForeignKeyConstraint(['parent_batch_id'], ['batches.id'], name=op.f('fk_batches_parent_batch_id_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batches')),
    sa.UniqueConstraint('code', name=op.f('uq_batches_code'))
    )
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.create_index('ix_batches_holder_site_id', ['holder_site_id'], unique=False)
        batch_op.create_index('ix_batches_status', ['status'], unique=False)

    op.create_table('point_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('visitors', sa.Integer(), nullable=False),
    sa.Column('item_uses', sa.Integer(), nullable=False),
    sa.Column('reader_requests', sa.Integer(), nullable=False),
    sa.Column('notes', sa.String(length=500), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('visitors >= 0 AND item_uses >= 0 AND reader_requests >= 0', name=op.f('ck_point_usage_non_negative')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_point_usage_entered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_point_usage_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_point_usage')),
    sa.UniqueConstraint('site_id', 'month', name='uq_point_usage_site_month')
    )
    op.create_table('batch_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('added_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_batch_items_added_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_batch_items_batch_id_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_batch_items_item_id_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch_items')),
    sa.UniqueConstraint('batch_id', 'item_id', name='uq_batch_items_batch_item')
    )
    with op.batch_alter_table('batch_items', schema=None) as batch_op:
        batch_op.create_index('ix_batch_items_batch_id', ['batch_id'], unique=False)
        batch_op.create_index('uq_batch_items_open_item', ['item_id'], unique=True, sqlite_where=sa.text('is_open'), postgresql_where=sa.text('is_open'))

    op.create_table('plan_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Integer(), nullable=False),
    sa.Column('is_pinned', sa.Boolean(), nullable=False),
    sa.CheckConstraint('period >= 0', name=op.f('ck_plan_assignments_period_non_negative')),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_plan_assignments_batch_id_batches')),
    sa.ForeignKeyConstraint(['plan_id'], ['rotation_plans.id'], name=op.f('fk_plan_assignments_plan_id_rotation_plans'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['point_id'], ['sites.id'], name=op.f('fk_plan_assignments_point_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_assignments')),
    sa.UniqueConstraint('plan_id', 'batch_id', 'period', name='uq_plan_assignments_batch_period'),
    sa.UniqueConstraint('plan_id', 'point_id', 'period', name='uq_plan_assignments_point_period')
    )
    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('from_site_id', sa.Integer(), nullable=False),
    sa.Column('to_site_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('expected_count', sa.Integer(), nullable=False),
    sa.Column('dispatched_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dispatched_by_id', sa.Integer(), nullable=True),
    sa.Column('received_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.Column('received_by_name', sa.String(length=200), nullable=False),
    sa.Column('received_count', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batches.id'], name=op.f('fk_shipments_batch_id_batches')),
    sa.ForeignKeyConstraint(['dispatched_by_id'], ['users.id'], name=op.f('fk_shipments_dispatched_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['from_site_id'], ['sites.id'], name=op.f('fk_shipments_from_site_id_sites')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_shipments_received_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['to_site_id'], ['sites.id'], name=op.f('fk_shipments_to_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index('ix_shipments_batch_id', ['batch_id'], unique=False)
        batch_op.create_index('ix_shipments_to_site_status', ['to_site_id', 'status'], unique=False)
        batch_op.create_index('uq_shipments_open_batch', ['batch_id'], unique=True, sqlite_where=sa.text("status = 'dispatched'"), postgresql_where=sa.text("status = 'dispatched'"))

    op.create_table('shipment_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('scanned_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.String(length=24), nullable=True),
    sa.Column('resolved_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_shipment_lines_item_id_items')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_shipment_lines_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_lines_shipment_id_shipments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_lines')),
    sa.UniqueConstraint('shipment_id', 'item_id', name='uq_shipment_lines_shipment_item')
    )
    with op.batch_alter_table('shipment_lines', schema=None) as batch_op:
        batch_op.create_index('ix_shipment_lines_item_id', ['item_id'], unique=False)



def downgrade():
    with op.batch_alter_table('shipment_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_shipment_lines_item_id')

    op.drop_table('shipment_lines')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('uq_shipments_open_batch', sqlite_where=sa.text("status = 'dispatched'"), postgresql_where=sa.text("status = 'dispatched'"))
        batch_op.drop_index('ix_shipments_to_site_status')
        batch_op.drop_index('ix_shipments_batch_id')

    op.drop_table('shipments')
    op.drop_table('plan_assignments')
    with op.batch_alter_table('batch_items', schema=None) as batch_op:
        batch_op.drop_index('uq_batch_items_open_item', sqlite_where=sa.text('is_open'), postgresql_where=sa.text('is_open'))
        batch_op.drop_index('ix_batch_items_batch_id')

    op.drop_table('batch_items')
    op.drop_table('point_usage')
    with op.batch_alter_table('batches', schema=None) as batch_op:
        batch_op.drop_index('ix_batches_status')
        batch_op.drop_index('ix_batches_holder_site_id')

    op.drop_table('batches')
    op.drop_table('rotation_plans')
