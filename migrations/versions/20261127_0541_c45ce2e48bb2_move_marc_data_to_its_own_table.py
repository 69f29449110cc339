"""Move each record's MARC data out of `records` into `record_marc`, with a cache of its ISO 2709 bytes.

Revision ID: c45ce2e48bb2
Revises: 5f5ae653b080
Create Date: 2026-11-27 05:41:49.399629
"""

import sqlalchemy as sa
from alembic import op

revision = 'c45ce2e48bb2'
down_revision = '5f5ae653b080'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('record_marc',
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('marc', sa.Text(), nullable=False),
    sa.Column('iso2709', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_record_marc_record_id_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', name=op.f('pk_record_marc'))
    )
    # The ISO 2709 cache starts empty (NULL): the export writes those records from their MARC text.
    op.execute("INSERT INTO record_marc (record_id, marc) SELECT id, marc FROM records")
    # Both engines drop a column in place. Batch mode would re-create `records` on SQLite, and with
    # foreign keys on, dropping the old table would delete (cascade) the rows just copied.
    op.execute("ALTER TABLE records DROP COLUMN marc")

    # Year order walks (year, id): PostgreSQL needs the id in the index to serve "year DESC, id DESC".
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_year')
        batch_op.create_index('ix_records_year_id', ['year', 'id'], unique=False)

    # Search filters read record ids straight from these indexes, in record order.
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_library_status')
        batch_op.create_index('ix_items_library_record_status', ['library_id', 'record_id', 'status'], unique=False)
        batch_op.create_index('ix_items_status_record', ['status', 'record_id'], unique=False)


def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_status_record')
        batch_op.drop_index('ix_items_library_record_status')
        batch_op.create_index('ix_items_library_status', ['library_id', 'status'], unique=False)

    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_year_id')
        batch_op.create_index('ix_records_year', ['year'], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a NOT NULL column only with a default (and cannot change it afterwards in place).
        op.execute("ALTER TABLE records ADD COLUMN marc TEXT NOT NULL DEFAULT ''")
    else:
        op.add_column('records', sa.Column('marc', sa.Text(), nullable=True))
    op.execute("UPDATE records SET marc = (SELECT m.marc FROM record_marc m WHERE m.record_id = records.id)")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column('records', 'marc', existing_type=sa.Text(), nullable=False)
    op.drop_table('record_marc')
