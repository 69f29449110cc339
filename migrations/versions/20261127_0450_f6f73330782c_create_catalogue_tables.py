"""Create the catalogue tables: records, match keys, copies, accession series and the search index.

Revision ID: f6f73330782c
Revises: ab1555746784
Create Date: 2026-11-27 04:50:15.051838
"""

import sqlalchemy as sa
from alembic import op

import app.db

revision = 'f6f73330782c'
down_revision = 'ab1555746784'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('marc', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('title_sort', sa.String(length=1000), nullable=False),
    sa.Column('responsibility', sa.Text(), nullable=False),
    sa.Column('main_author', sa.String(length=500), nullable=False),
    sa.Column('authors', sa.Text(), nullable=False),
    sa.Column('isbn', sa.String(length=20), nullable=True),
    sa.Column('publisher', sa.String(length=500), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('edition', sa.String(length=300), nullable=False),
    sa.Column('language', sa.String(length=3), nullable=True),
    sa.Column('classification', sa.String(length=100), nullable=True),
    sa.Column('classification_scheme', sa.String(length=10), nullable=True),
    sa.Column('subjects', sa.Text(), nullable=False),
    sa.Column('physical_description', sa.String(length=500), nullable=False),
    sa.Column('series', sa.Text(), nullable=False),
    sa.Column('control_number', sa.String(length=64), nullable=True),
    sa.Column('control_number_source', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_records_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_records_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_records'))
    )
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.create_index('ix_records_classification', ['classification'], unique=False)
        batch_op.create_index('ix_records_language', ['language'], unique=False)
        batch_op.create_index('ix_records_title_sort', ['title_sort'], unique=False)
        batch_op.create_index('ix_records_year', ['year'], unique=False)

    op.create_table('accession_sequences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('library_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('next_number', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('next_number >= 1', name=op.f('ck_accession_sequences_next_positive')),
    sa.CheckConstraint('width BETWEEN 1 AND 12', name=op.f('ck_accession_sequences_width_range')),
    sa.ForeignKeyConstraint(['library_id'], ['sites.id'], name=op.f('fk_accession_sequences_library_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accession_sequences')),
    sa.UniqueConstraint('prefix', name=op.f('uq_accession_sequences_prefix'))
    )
    with op.batch_alter_table('accession_sequences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accession_sequences_library_id'), ['library_id'], unique=False)

    op.create_table('items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('accession_number', sa.String(length=40), nullable=False),
    sa.Column('barcode', sa.String(length=64), nullable=True),
    sa.Column('class_number', sa.String(length=60), nullable=False),
    sa.Column('author_mark', sa.String(length=30), nullable=False),
    sa.Column('call_number', sa.String(length=120), nullable=False),
    sa.Column('library_id', sa.Integer(), nullable=False),
    sa.Column('location', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('price_vnd', sa.BigInteger(), nullable=True),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('is_rare', sa.Boolean(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('price_vnd IS NULL OR price_vnd >= 0', name=op.f('ck_items_price_non_negative')),
    sa.ForeignKeyConstraint(['library_id'], ['sites.id'], name=op.f('fk_items_library_id_sites')),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_items_record_id_records'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('accession_number', name='uq_items_accession_number'),
    sa.UniqueConstraint('barcode', name='uq_items_barcode')
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_call_number', ['call_number'], unique=False)
        batch_op.create_index('ix_items_library_status', ['library_id', 'status'], unique=False)
        batch_op.create_index('ix_items_record_id', ['record_id'], unique=False)

    op.create_table('record_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('value', sa.String(length=400), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_record_keys_record_id_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_keys'))
    )
    with op.batch_alter_table('record_keys', schema=None) as batch_op:
        batch_op.create_index('ix_record_keys_kind_value', ['kind', 'value'], unique=False)
        batch_op.create_index('ix_record_keys_record_id', ['record_id'], unique=False)


    create_search_index()

def downgrade():
    drop_search_index()
    with op.batch_alter_table('record_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_record_keys_record_id')
        batch_op.drop_index('ix_record_keys_kind_value')

    op.drop_table('record_keys')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_record_id')
        batch_op.drop_index('ix_items_library_status')
        batch_op.drop_index('ix_items_call_number')

    op.drop_table('items')
    with op.batch_alter_table('accession_sequences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accession_sequences_library_id'))

    op.drop_table('accession_sequences')
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_year')
        batch_op.drop_index('ix_records_title_sort')
        batch_op.drop_index('ix_records_language')
        batch_op.drop_index('ix_records_classification')

    op.drop_table('records')


def create_search_index():
    """The full-text index: FTS5 on SQLite, tsvector columns with GIN indexes on PostgreSQL.

    `exact` holds lower-cased NFC text with its diacritics, `folded` the same text folded
    (marks removed, đ→d), so "duong" finds "đường" and an exact match can rank first.
    """
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE record_search USING fts5("
            "exact, folded, tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3')"
        )
    else:
        op.execute(
            "CREATE TABLE record_search ("
            " record_id INTEGER PRIMARY KEY REFERENCES records(id) ON DELETE CASCADE,"
            " exact TEXT NOT NULL, folded TEXT NOT NULL,"
            " exact_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', exact)) STORED,"
            " folded_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', folded)) STORED)"
        )
        op.execute("CREATE INDEX ix_record_search_exact_tsv ON record_search USING gin (exact_tsv)")
        op.execute("CREATE INDEX ix_record_search_folded_tsv ON record_search USING gin (folded_tsv)")


def drop_search_index():
    """Remove the full-text index."""
    op.execute("DROP TABLE IF EXISTS record_search")
