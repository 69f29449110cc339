"""Running the app's work in a real process and killing it (SIGKILL) at a chosen moment."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).parent / "flask")


def env_for(database_url: str, instance: Path) -> dict[str, str]:
    """The environment of a development-configured app on `database_url` (as an operator runs it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "FLASK_", "TRAMSACH_"))}
    env.update(
        TRAMSACH_ENV="development",
        TRAMSACH_INSTANCE=str(instance),
        DATABASE_URL=database_url,
        SECRET_KEY="fault-drill-secret-key-0123456789abcdef",
        FLASK_APP="wsgi",
        PYTHONUNBUFFERED="1",
    )
    return env


def start_flask(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start `flask ARGS` in its own process group, output captured."""
    return subprocess.Popen(
        [FLASK, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def start_worker(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start `python -m tests.faults.worker ARGS` in its own process group."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def writer_active(database_url: str) -> bool:
    """True while another connection holds an open write transaction on the database."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1]
        conn = sqlite3.connect(path, timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.rollback()
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            conn.close()
    import psycopg

    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        n = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
            "AND backend_xid IS NOT NULL"
        ).fetchone()[0]
    return n > 0


@dataclass
class Kill:
    """What happened to one process: killed or finished, when, and whether it had begun writing."""

    killed: bool
    seconds: float
    was_writing: bool
    returncode: int | None
    stderr: str
    orphans: int = 0


def run_and_kill(
    proc: subprocess.Popen, database_url: str, *, moment: str, rng: random.Random, timeout: float = 240
) -> Kill:
    """SIGKILL `proc` at `moment`: "start" (0–1 s after it started, before it writes), "writing" (as soon
    as it holds a write transaction, at once), "late" (writing, plus 0.05–0.5 s), or "never"."""
    started = time.monotonic()
    deadline = started + timeout
    was_writing = False
    if moment == "start":
        time.sleep(rng.uniform(0.05, 1.0))
    elif moment in ("writing", "late"):
        while time.monotonic() < deadline and proc.poll() is None:
            if writer_active(database_url):
                was_writing = True
                break
            time.sleep(0.02)
        if moment == "late":
            time.sleep(rng.uniform(0.05, 0.5))
    if moment != "never" and proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, as when a server process dies
        proc.wait()
        time.sleep(0.5)  # give what it started the time to notice
        orphans = _kill_group(proc.pid)  # its pipes stay open while they live
        proc.communicate()  # close the pipes
        return Kill(True, time.monotonic() - started, was_writing, proc.returncode, "", orphans)
    try:
        _out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        _kill_group(proc.pid)
    return Kill(False, time.monotonic() - started, was_writing, proc.returncode, err.decode(errors="replace"))


def _zombie(entry: Path) -> bool:
    """True for a process that has exited and waits to be reaped (by PID 1, which may be slow here)."""
    return "\nState:\tZ" in (entry / "status").read_text()


def _kill_group(pgid: int) -> int:
    """Kill what is left of the process group we started (reader processes of an import); count the
    live ones (an exited process not yet reaped holds no memory and no pipe)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return 0
    left = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid and not _zombie(entry):
                    left += 1
            except (ProcessLookupError, FileNotFoundError):
                continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return left
