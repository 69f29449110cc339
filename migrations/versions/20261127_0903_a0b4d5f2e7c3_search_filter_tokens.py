"""Write the record filters (language, year, classification) into the search text; drop `exact_tsv`.

Each record's folded search text gets filter tokens at its end (see catalog.indexing.filter_tokens:
" zzf zzfl<hex language> zzfm<year/1000> zzfc<year/100> zzfd<year/10> zzfy<year> zzfk<hex class>"),
so the full-text index alone answers "these words and this filter". They are computed here with SQL
from the `records` columns, exactly as the application writes them.

On PostgreSQL the search table is rebuilt without the unused `exact_tsv` column and its GIN index
(a third of the table), compact and in record order. On SQLite the FTS5 table is updated in place.

Revision ID: a0b4d5f2e7c3
Revises: 9f3a4c1e6d32
Create Date: 2026-11-27 09:03:00
"""

from alembic import op

revision = "a0b4d5f2e7c3"
down_revision = "9f3a4c1e6d32"
branch_labels = None
depends_on = None


def _tokens(hex_of) -> str:
    """Return an SQL expression over `records r` giving the filter tokens of a record."""
    return (
        "' zzf'"
        " || CASE WHEN r.language IS NOT NULL AND r.language <> ''"
        f" THEN ' zzfl' || {hex_of('lower(substr(r.language, 1, 3))')} ELSE '' END"
        " || CASE WHEN r.year BETWEEN 0 AND 9999"
        " THEN ' zzfm' || (r.year / 1000) || ' zzfc' || (r.year / 100)"
        " || ' zzfd' || (r.year / 10) || ' zzfy' || r.year ELSE '' END"
        " || CASE WHEN r.classification IS NOT NULL AND r.classification <> ''"
        f" THEN ' zzfk' || {hex_of('substr(r.classification, 1, 100)')} ELSE '' END"
    )


def _pg_hex(expr: str) -> str:
    return f"encode(convert_to({expr}, 'UTF8'), 'hex')"


def _sqlite_hex(expr: str) -> str:
    return f"lower(hex({expr}))"


def _pg_rebuild(with_exact_tsv: bool, folded: str) -> None:
    """Re-create the PostgreSQL search table from the old one, compact and in record order."""
    exact_tsv = (
        " exact_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', exact)) STORED,"
        if with_exact_tsv
        else ""
    )
    op.execute(
        "CREATE TABLE record_search_new ("
        " record_id INTEGER NOT NULL, exact TEXT NOT NULL, folded TEXT NOT NULL,"
        f"{exact_tsv}"
        " folded_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', folded)) STORED)"
    )
    op.execute(
        "INSERT INTO record_search_new (record_id, exact, folded)"  # noqa: S608 - fixed SQL
        f" SELECT s.record_id, s.exact, {folded} FROM record_search s"
        " LEFT JOIN records r ON r.id = s.record_id ORDER BY s.record_id"
    )
    op.execute("DROP TABLE record_search")
    op.execute("ALTER TABLE record_search_new RENAME TO record_search")
    op.execute("ALTER TABLE record_search ADD CONSTRAINT record_search_pkey PRIMARY KEY (record_id)")
    op.execute(
        "ALTER TABLE record_search ADD CONSTRAINT record_search_record_id_fkey"
        " FOREIGN KEY (record_id) REFERENCES records(id) ON DELETE CASCADE"
    )
    if with_exact_tsv:
        op.execute("CREATE INDEX ix_record_search_exact_tsv ON record_search USING gin (exact_tsv)")
    op.execute("CREATE INDEX ix_record_search_folded_tsv ON record_search USING gin (folded_tsv)")


def _stripped(column: str, find: str) -> str:
    """Return an SQL expression: the folded text without its filter tokens (if it has them)."""
    return (
        f"CASE WHEN {find}({column} || ' ', ' zzf ') > 0"
        f" THEN substr({column}, 1, {find}({column} || ' ', ' zzf ') - 1) ELSE {column} END"
    )


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        tokens = f"(SELECT {_tokens(_sqlite_hex)} FROM records r WHERE r.id = record_search.rowid)"  # noqa: S608
        folded = f"{_stripped('folded', 'instr')} || coalesce({tokens}, ' zzf')"
        op.execute(f"UPDATE record_search SET folded = {folded}")  # noqa: S608
        # Rewriting every row leaves FTS5 with many segments and delete markers: merge them into one.
        op.execute("INSERT INTO record_search(record_search) VALUES ('optimize')")
    else:
        folded = _stripped("s.folded", "strpos") + f" || coalesce({_tokens(_pg_hex)}, ' zzf')"
        _pg_rebuild(False, folded)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"UPDATE record_search SET folded = {_stripped('folded', 'instr')}")  # noqa: S608
        op.execute("INSERT INTO record_search(record_search) VALUES ('optimize')")
    else:
        _pg_rebuild(True, _stripped("s.folded", "strpos"))
