"""On PostgreSQL, keep each record's copy filters (library, status) as terms beside its search text.

A search with words and a copy filter ("held by library 7", "a copy lost") used to check the
matching records against `items` one by one: for a common word and a rare status that is 10,000-20,000
index lookups (50-100 ms). `record_search.copy_terms` holds, per record, a term per library
(`lib7`), per status (`stlost`) and per library and status of one copy (`lib7stlost`), under a GIN
index, so PostgreSQL intersects the word's and the filter's bitmaps and reads only the records
passing both.

Triggers keep the terms true, whatever changes a copy (the ORM, a bulk UPDATE in rotation, an
import, a restore): statement-level triggers on `items` recompute the terms of the records whose
copies were inserted, deleted or changed library, status or record; a row trigger on
`record_search` fills them when a record's index row is (re)written. SQLite is unchanged (its
full-text table is intersected with the copy indexes instead).

Revision ID: f5a9c0d7e8b3
Revises: e4f8b9c6d7a2
Create Date: 2026-11-27 11:00:00
"""

from alembic import op

revision = 'f5a9c0d7e8b3'
down_revision = 'e4f8b9c6d7a2'
branch_labels = None
depends_on = None

UPGRADE = [
    "ALTER TABLE record_search ADD COLUMN copy_terms tsvector NOT NULL DEFAULT ''::tsvector",
    # The terms of one record, from its copies (the same spelling as catalog.search.copy_filter_term).
    """
    CREATE FUNCTION record_copy_terms(rid integer) RETURNS tsvector
    LANGUAGE sql STABLE AS $$
        SELECT coalesce(array_to_tsvector(array_agg(DISTINCT t)), ''::tsvector)
        FROM items i,
             unnest(ARRAY['lib' || i.library_id,
                          'st' || replace(i.status, '_', ''),
                          'lib' || i.library_id || 'st' || replace(i.status, '_', '')]) AS t
        WHERE i.record_id = rid
    $$
    """,
    """
    CREATE FUNCTION record_search_fill_copy_terms() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.copy_terms := record_copy_terms(NEW.record_id);
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER record_search_copy_terms BEFORE INSERT ON record_search
    FOR EACH ROW EXECUTE FUNCTION record_search_fill_copy_terms()
    """,
    """
    CREATE FUNCTION items_copy_terms_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE record_search s SET copy_terms = t.terms
        FROM (SELECT r.rid, record_copy_terms(r.rid) AS terms
              FROM (SELECT DISTINCT record_id AS rid FROM items_new) r) t
        WHERE s.record_id = t.rid AND s.copy_terms <> t.terms;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION items_copy_terms_deleted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE record_search s SET copy_terms = t.terms
        FROM (SELECT r.rid, record_copy_terms(r.rid) AS terms
              FROM (SELECT DISTINCT record_id AS rid FROM items_old) r) t
        WHERE s.record_id = t.rid AND s.copy_terms <> t.terms;
        RETURN NULL;
    END $$
    """,
    # Most updates of a copy touch neither its library nor its status (a price, a note): those cost
    # one join of the transition tables and nothing else. A row is only rewritten when its terms
    # change (a title with other copies in the same state keeps them): every rewrite of this wide,
    # GIN-indexed row costs index entries, so scans and receipts mostly skip it.
    """
    CREATE FUNCTION items_copy_terms_updated() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE record_search s SET copy_terms = t.terms
        FROM (SELECT r.rid, record_copy_terms(r.rid) AS terms
              FROM (SELECT n.record_id AS rid FROM items_new n JOIN items_old o ON o.id = n.id
                    WHERE n.status <> o.status OR n.library_id <> o.library_id
                       OR n.record_id <> o.record_id
                    UNION
                    SELECT o.record_id FROM items_new n JOIN items_old o ON o.id = n.id
                    WHERE n.record_id <> o.record_id) r) t
        WHERE s.record_id = t.rid AND s.copy_terms <> t.terms;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER items_copy_terms_insert AFTER INSERT ON items
    REFERENCING NEW TABLE AS items_new
    FOR EACH STATEMENT EXECUTE FUNCTION items_copy_terms_inserted()
    """,
    """
    CREATE TRIGGER items_copy_terms_delete AFTER DELETE ON items
    REFERENCING OLD TABLE AS items_old
    FOR EACH STATEMENT EXECUTE FUNCTION items_copy_terms_deleted()
    """,
    """
    CREATE TRIGGER items_copy_terms_update AFTER UPDATE ON items
    REFERENCING NEW TABLE AS items_new OLD TABLE AS items_old
    FOR EACH STATEMENT EXECUTE FUNCTION items_copy_terms_updated()
    """,
    "UPDATE record_search s SET copy_terms = record_copy_terms(s.record_id)",
    "CREATE INDEX ix_record_search_copy_terms ON record_search USING gin (copy_terms)",
]

DOWNGRADE = [
    "DROP TRIGGER items_copy_terms_update ON items",
    "DROP TRIGGER items_copy_terms_delete ON items",
    "DROP TRIGGER items_copy_terms_insert ON items",
    "DROP TRIGGER record_search_copy_terms ON record_search",
    "DROP FUNCTION items_copy_terms_updated()",
    "DROP FUNCTION items_copy_terms_deleted()",
    "DROP FUNCTION items_copy_terms_inserted()",
    "DROP FUNCTION record_search_fill_copy_terms()",
    "DROP FUNCTION record_copy_terms(integer)",
    "DROP INDEX ix_record_search_copy_terms",
    "ALTER TABLE record_search DROP COLUMN copy_terms",
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
