"""Shared fixtures: the app on SQLite or PostgreSQL (`--db`), a client, a CLI runner, factories."""

from __future__ import annotations

import itertools
import os
import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from tests import pg

DEFAULT_PASSWORD = "mat-khau-thu-nghiem"


def pytest_addoption(parser):
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql"],
        default=os.environ.get("TEST_DB", "sqlite"),
        help="database engine to run the suite on (default: sqlite, or $TEST_DB)",
    )


def pytest_report_header(config):
    return f"database engine: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def db_engine_name(request) -> str:
    return request.config.getoption("--db")


@pytest.fixture(scope="session")
def pg_server(db_engine_name) -> Iterator[str]:
    """A PostgreSQL server started for this test session (only with --db postgresql)."""
    if pg.find_bin_dir() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; .ci/run installs them")
    with pg.running_server() as base_url:
        yield base_url


@pytest.fixture(scope="session")
def database_factory(db_engine_name, tmp_path_factory, request):
    """Return a function that makes a new empty database of the chosen engine and returns its URL."""
    counter = itertools.count(1)
    if db_engine_name == "postgresql":
        base_url = request.getfixturevalue("pg_server")

        def make() -> str:
            return pg.create_database(base_url, f"tramsach_test_{next(counter)}")
    else:
        folder = tmp_path_factory.mktemp("sqlite")

        def make() -> str:
            return f"sqlite:///{folder / f'test_{next(counter)}.db'}"

    return make


def make_app(database_url: str, **overrides):
    from app.factory import create_app

    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "BASE_URL": "http://tram.test"}
    settings.update(overrides)
    return create_app("testing", overrides=settings)


@pytest.fixture
def other_app(app):
    """Return a function building an extra app on the same database; its engine is closed after."""
    built = []

    def build(**overrides):
        application = make_app(app.config["SQLALCHEMY_DATABASE_URI"], **overrides)
        built.append(application)
        return application

    yield build
    from app.extensions import db

    for application in built:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def _app(database_factory):
    """One migrated application per test session."""
    from flask_migrate import upgrade

    application = make_app(database_factory())
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()


def _wipe(application) -> None:
    from app.db import Base
    from app.extensions import db, limiter

    with application.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
                conn.execute(text(f"TRUNCATE {names}, record_search RESTART IDENTITY CASCADE"))
            else:
                # The search index is made by a migration, outside the models' metadata.
                conn.execute(text("DELETE FROM record_search"))
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(table.delete())
        limiter.reset()


@pytest.fixture
def app(_app):
    """The application, with an empty database after the test.

    No app context stays pushed during the test: each request gets its own, as in production
    (a pushed context would be shared by every request, and with it `g` and the scoped session).
    """
    try:
        yield _app
    finally:
        _wipe(_app)


@pytest.fixture
def engine(app):
    from app.extensions import db

    with app.app_context():
        return db.engine


@pytest.fixture
def session(engine):
    """A database session of the test's own, separate from the app's per-request sessions."""
    from sqlalchemy.orm import Session

    with Session(engine) as db_session:
        yield db_session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- factories: one style, `make_*` fixtures returning functions ---

_seq = itertools.count(1)


@pytest.fixture
def make_site(session):
    from app.network.models import SiteKind
    from app.network.services import create_site

    def make(**kwargs):
        n = next(_seq)
        values = {
            "code": f"S{n:04d}",
            "name": f"Điểm thử nghiệm {n}",
            "kind": SiteKind.POST_CULTURE_POINT,
        }
        values.update(kwargs)
        site = create_site(session, values, actor_id=None)
        session.commit()
        return site

    return make


@pytest.fixture
def make_ready_batch(session):
    """Make a ready batch of `copies` new in-rotation copies of one new title, held by its library."""
    from catalog import marc
    from catalog.models import ItemStatus
    from catalog.services import add_items, create_record
    from rotation.models import Batch, BatchItem, BatchStatus

    def make(*, library_id: int, sequence_id: int, code: str, title: str, copies: int):
        record = create_record(session, marc.build_record(title), actor_id=None)
        items = add_items(
            session,
            record,
            count=copies,
            sequence_id=sequence_id,
            values={"library_id": library_id, "status": ItemStatus.IN_ROTATION.value},
            actor_id=None,
        )
        batch = Batch(
            code=code, home_library_id=library_id, holder_site_id=library_id, status=BatchStatus.READY.value
        )
        session.add(batch)
        session.flush()
        session.add_all(BatchItem(batch_id=batch.id, item_id=item.id) for item in items)
        return batch

    return make


@pytest.fixture
def make_user(session, make_site):
    from app.auth.models import Role
    from app.auth.services import create_user

    def make(role=Role.CATALOGUER, username=None, password=DEFAULT_PASSWORD, sites=None, **kwargs):
        role = Role(role)
        if role == Role.POINT_OPERATOR and sites is None:
            sites = [make_site()]
        user = create_user(
            session,
            username=username or f"{role.value.replace('_', '')}{next(_seq)}",
            password=password,
            role=role,
            site_ids=[s.id for s in sites or []],
            **kwargs,
        )
        session.commit()
        return user

    return make


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def post_form(client, url: str, data: dict, *, page: str | None = None, **kwargs):
    """GET the page that holds the form, take its CSRF token, then POST the form like a browser."""
    html = client.get(page or url).get_data(as_text=True)
    payload = {"csrf_token": csrf_from(html), **data}
    return client.post(url, data=payload, **kwargs)


@pytest.fixture
def login(client):
    """Return a function that signs a user in through the login form."""

    def do(user_or_name, password: str = DEFAULT_PASSWORD):
        name = getattr(user_or_name, "username", user_or_name)
        response = post_form(client, "/login", {"username": name, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return do


@pytest.fixture
def logged_in(make_user, login):
    """Return a function that creates a user of a role and signs them in."""

    def do(role="admin", **kwargs):
        user = make_user(role=role, **kwargs)
        login(user)
        return user

    return do


def unique(prefix: str = "x") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"
