"""Whether the database is at the newest migration, and what to run when it is not."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


# Tables made by hand in migrations, outside the models: the full-text index (SQLite FTS5 and its
# shadow tables, or PostgreSQL's table with tsvector columns).
UNMODELLED_PREFIXES = ("record_search",)


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave hand-made tables out of autogenerate comparisons."""
    table = obj.name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    return not (table or "").startswith(UNMODELLED_PREFIXES)


@dataclass
class MigrationState:
    """The database's revision compared with the newest one in the code."""

    current: str | None
    head: str | None

    @property
    def ok(self) -> bool:
        return self.current is not None and self.current == self.head

    @property
    def command(self) -> str:
        return "flask --app wsgi db upgrade"


def head_revision() -> str | None:
    """Return the newest revision in migrations/."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def migration_state(engine=None) -> MigrationState:
    """Return the revision of the app's database (or `engine`) and the code's head revision."""
    if engine is None:
        from app.extensions import db  # the web edge calls this without an engine

        engine = db.engine
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return MigrationState(current=current, head=head_revision())
