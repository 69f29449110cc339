"""A throwaway PostgreSQL server for the test suite, started from the installed binaries."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def find_bin_dir() -> Path | None:
    """Return the folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    env = os.environ.get("PG_BIN")
    candidates = [env] if env else []
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(which).parent))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as the postgres system user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@contextlib.contextmanager
def running_server(settings: dict[str, str] | None = None) -> Iterator[str]:
    """Start a PostgreSQL server on a free loopback port; yield a base URL without database name.

    `settings` adds server settings (name → value), e.g. the production memory settings the
    benchmarks use; the test suite runs with the defaults.
    """
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    root = Path(tempfile.mkdtemp(prefix="tramsach-pg-"))
    data = root / "data"
    sock = root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    log = root / "server.log"
    try:
        subprocess.run(
            _as_server_user(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ]
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        subprocess.run(
            _as_server_user(
                [
                    str(bin_dir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(log),
                    "-w",
                    "-t",
                    "30",
                    "-o",
                    f"-p {port} -h 127.0.0.1 -k {sock} -c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off -c max_connections=200"
                    + "".join(f" -c {name}={value}" for name, value in (settings or {}).items()),
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
            text=True,
        )
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    except subprocess.CalledProcessError as err:
        detail = err.stderr or ""
        if log.exists():
            detail += log.read_text()
        raise RuntimeError(f"could not start PostgreSQL: {detail}") from err
    finally:
        if data.exists():
            subprocess.run(
                _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
            )
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


def create_database(base_url: str, name: str) -> str:
    """Create a database on the server and return its URL."""
    import psycopg

    dsn = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


# --- stopping and starting a running server (fault drills) ----------------------------------------


def data_directory(base_url: str) -> Path:
    """Return the data folder of the server at `base_url` (asked of the server itself)."""
    import psycopg

    dsn = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        return Path(conn.execute("SHOW data_directory").fetchone()[0])


def stop_server(data: Path, mode: str = "fast") -> None:
    """Stop the server of a data folder (`fast`: roll back and disconnect every session)."""
    bin_dir = find_bin_dir()
    subprocess.run(
        _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"]),
        check=True,
        capture_output=True,
        text=True,
    )


def start_server(data: Path) -> None:
    """Start a stopped server again with the options it last ran with (its postmaster.opts)."""
    import shlex

    bin_dir = find_bin_dir()
    argv = shlex.split((data / "postmaster.opts").read_text())[1:]
    options = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "-D":
            skip = True
        else:
            options.append(shlex.quote(arg))
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(data.parent / "server.log"),
                "-w",
                "-t",
                "30",
                "-o",
                " ".join(options),
                "start",
            ]
        ),
        check=True,
        capture_output=True,
        text=True,
    )
