"""`flask backup` and `flask restore`: a round trip that compares every table, on both engines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select, text

from app.auth.models import Role, User
from app.db import Base
from app.network.models import Site, SiteKind
from catalog import marc
from catalog.services import add_items, create_record, create_sequence


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every row of every table (and the hand-made search index and schema version), sorted."""
    tables: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            rows = conn.execute(table.select()).all()
            tables[table.name] = sorted(tuple(map(repr, row)) for row in rows)
        if conn.dialect.name == "postgresql":
            search = conn.execute(text("SELECT record_id, exact, folded FROM record_search")).all()
        else:
            search = conn.execute(text("SELECT rowid, exact, folded FROM record_search")).all()
        tables["record_search"] = sorted(tuple(map(repr, row)) for row in search)
        tables["alembic_version"] = [tuple(r) for r in conn.execute(text("SELECT * FROM alembic_version"))]
    return tables


@pytest.fixture
def catalogue(session, make_site, make_user):
    """A little of everything: a library, users, records with Vietnamese titles, copies."""
    library = make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)
    make_user(role=Role.CATALOGUER, username="thu.thu")
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    for title, author in [("Truyện Kiều", "Nguyễn Du"), ("Số đỏ", "Vũ Trọng Phụng")]:
        record = create_record(session, marc.build_record(title, authors=[author], year=2020), actor_id=None)
        add_items(
            session, record, count=2, sequence_id=seq.id, values={"library_id": library.id}, actor_id=None
        )
    session.commit()
    return library


def change_everything(session) -> None:
    """Edits after the backup that the restore must undo."""
    session.execute(text("DELETE FROM items WHERE accession_number LIKE 'VN.%1'"))
    site = session.scalar(select(Site).where(Site.code == "TVT"))
    site.name = "Đổi tên"
    session.delete(session.scalar(select(User).where(User.username == "thu.thu")))
    create_record(session, marc.build_record("Tắt đèn", authors=["Ngô Tất Tố"], year=1939), actor_id=None)
    session.commit()


def test_backup_and_restore_round_trip(app, engine, session, runner, catalogue, tmp_path, client, login):
    before = snapshot(engine)
    assert before["items"] and before["record_search"], "the fixture must put data in the tables"
    path = tmp_path / "backup.bin"

    result = runner.invoke(args=["backup", "--output", str(path)])
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output
    assert path.stat().st_size > 0

    change_everything(session)
    session.close()
    assert snapshot(engine) != before

    result = runner.invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    assert snapshot(engine) == before

    # The running app works on the restored database without a restart.
    login("thu.thu")
    assert client.get("/catalog/").status_code == 200


def test_backup_without_output_goes_to_the_instance_folder(app, runner, catalogue):
    result = runner.invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    written = Path(result.output.split("Backup written to ", 1)[1].split(" (", 1)[0])
    try:
        assert written.parent == Path(app.instance_path) / "backups"
        assert written.name.startswith("tramsach-")
    finally:
        written.unlink()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a backup at all", "neither a SQLite backup nor a PostgreSQL custom dump"),
        (b"PGDMP\x01\x0e\x00garbage", "pg_restore failed"),
        (b"SQLite format 3\x00" + b"\x00" * 200, "SQLite"),
    ],
)
def test_a_bad_backup_file_is_refused_and_nothing_changes(
    engine, runner, catalogue, tmp_path, db_engine_name, content, message
):
    before = snapshot(engine)
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    result = runner.invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    if content.startswith(b"PGDMP") and db_engine_name == "sqlite":
        assert "is a postgresql backup but the database is sqlite" in result.output
    elif content.startswith(b"SQLite") and db_engine_name == "postgresql":
        assert "is a sqlite backup but the database is postgresql" in result.output
    else:
        assert message in result.output
    assert snapshot(engine) == before


def test_restore_asks_for_confirmation(engine, runner, catalogue, tmp_path):
    path = tmp_path / "b.bin"
    assert runner.invoke(args=["backup", "--output", str(path)]).exit_code == 0
    result = runner.invoke(args=["restore", str(path)], input="n\n")
    assert result.exit_code == 1
    assert "Aborted" in result.output


def test_backup_is_a_consistent_snapshot_while_a_writer_is_busy(
    engine, session, runner, catalogue, tmp_path, db_engine_name
):
    path = tmp_path / "live.bin"
    with engine.connect() as writer:
        writer.execute(text("UPDATE sites SET name = 'uncommitted' WHERE code = 'TVT'"))
        result = runner.invoke(args=["backup", "--output", str(path)])
        assert result.exit_code == 0, result.output
        writer.rollback()
    change_everything(session)
    session.close()
    assert runner.invoke(args=["restore", str(path), "--yes"]).exit_code == 0
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT name FROM sites WHERE code = 'TVT'")) == "Thư viện tỉnh Sơn La"
    if db_engine_name == "sqlite":
        copy = sqlite3.connect(path)
        try:
            assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finally:
            copy.close()
