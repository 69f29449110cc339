"""Models and migrations agree, and upgrade/downgrade run on the engine under test."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from app.db import Base
from app.factory import load_all_models
from app.migrations_state import UNMODELLED_PREFIXES, head_revision, include_object, migration_state
from tests.conftest import make_app


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        names = set(inspect(engine).get_table_names()) - {"alembic_version"}
        return {n for n in names if not n.startswith(UNMODELLED_PREFIXES)}
    finally:
        engine.dispose()


def _all_tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_models_and_migrations_agree(database_factory):
    url = database_factory()
    application = make_app(url)
    with application.app_context():
        upgrade()
        from app.extensions import db

        load_all_models()
        with db.engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(
                    conn, opts={"compare_type": True, "include_object": include_object}
                ),
                Base.metadata,
            )
        db.engine.dispose()
    assert diff == [], f"models differ from migrations: {diff}"


def test_upgrade_to_head_and_downgrade_to_base(database_factory):
    url = database_factory()
    application = make_app(url)
    with application.app_context():
        upgrade()
        assert migration_state().ok
        assert _tables(url) == set(Base.metadata.tables)
        assert "record_search" in _all_tables(url)
        downgrade(revision="base")
        assert _all_tables(url) == set()
        upgrade()
        assert migration_state().current == head_revision()
        from app.extensions import db

        db.engine.dispose()


def test_unmigrated_database_gets_a_clear_page(database_factory):
    application = make_app(database_factory())
    response = application.test_client().get("/login")
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "flask --app wsgi db upgrade" in html
    with application.app_context():
        from app.extensions import db

        db.engine.dispose()
