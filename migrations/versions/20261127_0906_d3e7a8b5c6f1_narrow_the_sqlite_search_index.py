"""On SQLite, index only the folded text of `record_search` and drop the unused 2- and 3-letter prefix indexes.

Search matches on the folded column only and reads `exact` for ranking, and its prefix queries are
at least four letters long, so the index of `exact` and the prefix indexes cost every insert (about
half the full-text work of an import) and serve no query. PostgreSQL is unchanged.

Revision ID: d3e7a8b5c6f1
Revises: c2d6f7b4a9e5
Create Date: 2026-11-27 09:06:00
"""

from alembic import op

revision = 'd3e7a8b5c6f1'
down_revision = 'c2d6f7b4a9e5'
branch_labels = None
depends_on = None

NARROW = "exact UNINDEXED, folded, tokenize = 'unicode61 remove_diacritics 0'"
WIDE = "exact, folded, tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3'"


def _rebuild(columns: str) -> None:
    op.execute(f"CREATE VIRTUAL TABLE record_search_new USING fts5({columns})")
    op.execute(
        "INSERT INTO record_search_new (rowid, exact, folded) SELECT rowid, exact, folded FROM record_search"
    )
    op.execute("DROP TABLE record_search")
    op.execute("ALTER TABLE record_search_new RENAME TO record_search")
    op.execute("INSERT INTO record_search(record_search) VALUES ('optimize')")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(NARROW)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(WIDE)
