"""Take and restore backups of the database, on SQLite and on PostgreSQL.

SQLite: the online backup API copies the live database under one read transaction, so the snapshot is
consistent while the app keeps serving (readers and the WAL writer are not blocked for long). Restore
copies the snapshot back into the live file the same way, page by page under a write lock: other
connections see either the old or the restored database, never a mix.

PostgreSQL: `pg_dump --format=custom` (one consistent snapshot by MVCC) and `pg_restore --clean
--single-transaction`: the restore is all or nothing. The client tools of the server's major version
are looked up in /usr/lib/postgresql/<version>/bin first, then on PATH (or PG_BIN).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from app.errors import N_, DomainError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(DomainError):
    """A backup or restore that could not be done; nothing was changed."""


@dataclass(frozen=True)
class BackupResult:
    """Where a backup went, what it holds and how big it is."""

    path: Path
    engine: str
    revision: str | None
    size: int


def default_backup_path(folder: Path, engine: str, now: dt.datetime | None = None) -> Path:
    """Return a time-stamped file name in `folder` for a backup of the given engine."""
    now = now or dt.datetime.now()
    suffix = "db" if engine == "sqlite" else "dump"
    return folder / f"tramsach-{now:%Y%m%d-%H%M%S}.{suffix}"


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError(N_("An in-memory SQLite database cannot be backed up."))
    return Path(url.database)


def _sqlite_revision(path: Path) -> str | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()


def _atomic_target(output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".backup-", dir=output.parent)
    os.close(fd)
    return Path(tmp)


def backup_sqlite(url: URL, output: Path) -> BackupResult:
    """Copy the live SQLite database to `output` as one consistent snapshot."""
    source_path = _sqlite_path(url)
    if not source_path.exists():
        raise BackupError(N_("The database file %(path)s does not exist."), path=str(source_path))
    tmp = _atomic_target(output)
    try:
        src = sqlite3.connect(str(source_path), timeout=30)
        dst = sqlite3.connect(str(tmp))
        try:
            with dst:
                src.backup(dst)  # all pages in one step: one read transaction, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        finally:
            dst.close()
            src.close()
        tmp.replace(output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupResult(output, "sqlite", _sqlite_revision(output), output.stat().st_size)


def restore_sqlite(url: URL, backup: Path) -> BackupResult:
    """Replace the live SQLite database with the snapshot, all at once."""
    target = _sqlite_path(url)
    check = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    try:
        status = check.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as err:
        raise BackupError(
            N_("%(path)s is not a readable SQLite backup: %(error)s"), path=str(backup), error=str(err)
        ) from None
    finally:
        check.close()
    if status != "ok":
        raise BackupError(N_("The backup %(path)s is damaged: %(error)s"), path=str(backup), error=status)
    revision = _sqlite_revision(backup)
    if revision is None:
        raise BackupError(
            N_("%(path)s is not a Trạm Sách backup (no schema version in it)."), path=str(backup)
        )
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target), timeout=30)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return BackupResult(backup, "sqlite", revision, backup.stat().st_size)


def pg_tool(name: str) -> str:
    """Return the path of a PostgreSQL client tool (pg_dump, pg_restore)."""
    candidates = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]) / name)
    candidates += [Path(p) / name for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(N_("The PostgreSQL tool %(tool)s is not installed."), tool=name)


def _pg_args(url: URL) -> tuple[list[str], dict[str, str]]:
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return [*args, "--dbname", url.database or "postgres"], env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
        raise BackupError(
            N_("%(tool)s failed: %(error)s"), tool=Path(cmd[0]).name, error=lines[0] if lines else "?"
        )


def backup_postgresql(url: URL, output: Path, revision: str | None) -> BackupResult:
    """Dump the PostgreSQL database in custom format to `output`."""
    args, env = _pg_args(url)
    tmp = _atomic_target(output)
    try:
        dump = [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(tmp)]
        _run([*dump, *args], env)
        tmp.replace(output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupResult(output, "postgresql", revision, output.stat().st_size)


def restore_postgresql(url: URL, backup: Path) -> BackupResult:
    """Restore a custom-format dump into the database, replacing what is there, in one transaction."""
    args, env = _pg_args(url)
    _run([pg_tool("pg_restore"), "--list", str(backup)], env)  # refuses a file that is not a dump
    _run(
        [
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            *args,
            str(backup),
        ],
        env,
    )
    return BackupResult(backup, "postgresql", None, backup.stat().st_size)


def file_kind(path: Path) -> str:
    """Return 'sqlite' or 'postgresql' from the file's magic bytes, or raise BackupError."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as err:
        raise BackupError(
            N_("Cannot read %(path)s: %(error)s"), path=str(path), error=err.strerror or str(err)
        ) from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(N_("%(path)s is neither a SQLite backup nor a PostgreSQL custom dump."), path=str(path))


def take_backup(database_url: str, output: Path, revision: str | None = None) -> BackupResult:
    """Back up the database at `database_url` to `output` (see the module docstring)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return backup_sqlite(url, output)
    if url.get_backend_name() == "postgresql":
        return backup_postgresql(url, output, revision)
    raise BackupError(N_("Backups of %(engine)s databases are not supported."), engine=url.get_backend_name())


def restore_backup(database_url: str, backup: Path) -> BackupResult:
    """Restore `backup` into the database at `database_url`, all or nothing."""
    url = make_url(database_url)
    kind = file_kind(backup)
    engine = url.get_backend_name()
    if kind != engine:
        raise BackupError(
            N_("%(path)s is a %(kind)s backup but the database is %(engine)s."),
            path=str(backup),
            kind=kind,
            engine=engine,
        )
    if kind == "sqlite":
        return restore_sqlite(url, backup)
    return restore_postgresql(url, backup)
