"""Import benchmark: 20,000 LoC records against pymarc reading them, and 250,000 records' time and memory.

(a) pymarc.MARCReader reading the first 20,000 records of BooksAll.2016.part01.utf8, and our import of
the same file end to end (read, validate, match, store, commit) into a fresh migrated SQLite file,
alternately, 5 times each, in the same run; the target is import ≤ 2 × pymarc (wall-clock, median ÷
median). The CPU seconds of both are reported too (the import's: its own plus its reader processes'),
with the load average before the run.
(b) the whole 250,000 records imported in a child process, which reports its time and peak memory
(ru_maxrss of the importing process plus, for each reader process, the largest reader's); the target
is < 1 GiB.

`python -m bench.import_bench [--scale 0.1] [--skip-full]`; `main()` returns the numbers as a dict.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.data import first_records, loc_file  # noqa: E402

SMALL = 20_000
FULL = 250_000
REPEAT = 5


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def pymarc_read(path: Path) -> tuple[float, int, float]:
    """Return (seconds, records, CPU seconds) for pymarc.MARCReader reading the file."""
    import pymarc

    cpu = _cpu()
    start = time.perf_counter()
    count = 0
    with open(path, "rb") as fh:
        for record in pymarc.MARCReader(fh):
            if record is not None:
                count += 1
    return time.perf_counter() - start, count, _cpu() - cpu


def _fresh_app(db_path: Path):
    """Return an app on a new migrated SQLite file."""
    from flask_migrate import upgrade

    from app.factory import create_app

    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}"})
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
    return app


def import_file(path: Path, db_path: Path) -> tuple[float, dict, float]:
    """Import a file into a fresh migrated SQLite database; return (seconds, counts, CPU seconds).

    The time covers the import itself: opening the file to the committed transaction (not building
    the app or migrating the empty database). The CPU seconds are this process's and its reader's.
    """
    from app.db import transaction
    from app.extensions import db
    from catalog import importing

    app = _fresh_app(db_path)
    with app.app_context():
        cpu = _cpu()
        start = time.perf_counter()
        with transaction(db.session):
            report = importing.commit(db.session, path, actor_id=None)
        seconds = time.perf_counter() - start
        cpu = _cpu() - cpu
        db.session.remove()
        db.engine.dispose()
    counts = {k: getattr(report, k) for k in ("read", "created", "duplicates", "rejected", "skipped")}
    return seconds, counts, cpu


def small(count: int, workdir: Path) -> dict:
    """Time pymarc and our import on the first `count` records, alternately, REPEAT times."""
    path = first_records(count)
    load = os.getloadavg()[0]
    pymarc_times = []
    import_times = []
    pymarc_cpu = []
    import_cpu = []
    counts: dict = {}
    for n in range(REPEAT):
        seconds, read, cpu = pymarc_read(path)
        pymarc_times.append(seconds)
        pymarc_cpu.append(cpu)
        seconds, counts, cpu = import_file(path, workdir / f"small{n}.db")
        import_times.append(seconds)
        import_cpu.append(cpu)
    pymarc_s = statistics.median(pymarc_times)
    import_s = statistics.median(import_times)
    return {
        "records": count,
        "load_before": round(load, 2),
        "pymarc_read_s": round(pymarc_s, 3),
        "import_s": round(import_s, 3),
        "ratio": round(import_s / pymarc_s, 2),
        "pymarc_runs_s": [round(t, 3) for t in pymarc_times],
        "import_runs_s": [round(t, 3) for t in import_times],
        "pymarc_cpu_s": round(statistics.median(pymarc_cpu), 3),
        "import_cpu_s": round(statistics.median(import_cpu), 3),
        "counts": counts,
    }


def full(count: int, workdir: Path) -> dict:
    """Import `count` records in a child process; return its time and peak memory."""
    path = loc_file() if count >= FULL else first_records(count)
    command = [sys.executable, "-m", "bench.import_bench", "--child", str(path), str(workdir / "full.db")]
    out = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout  # noqa: S603
    result = json.loads(out.strip().splitlines()[-1])
    result["records"] = result["counts"]["read"]
    return result


def _child(path: str, db_path: str) -> None:
    seconds, counts, _cpu_s = import_file(Path(path), Path(db_path))
    from catalog.importing import READERS

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The largest reader process's peak (RUSAGE_CHILDREN gives the largest of the children).
    reader = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {
        "import_s": round(seconds, 2),
        "peak_mib": round(own + READERS * reader, 1),  # every process at the largest peak: an upper bound
        "importer_peak_mib": round(own, 1),
        "reader_peak_mib": round(reader, 1),
        "readers": READERS,
        "counts": counts,
    }
    print(json.dumps(result))


def run(scale: float = 1.0, skip_full: bool = False) -> dict:
    """Run the import benchmarks (`scale` shrinks both sizes, e.g. 0.1) and return the numbers."""
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        workdir = Path(tmp)
        results["small"] = small(max(int(SMALL * scale), 100), workdir)
        if not skip_full:
            results["full"] = full(max(int(FULL * scale), 100), workdir)
    return results


def table(results: dict) -> str:
    """Return the results as a markdown table."""
    lines = [
        "| import benchmark | records | time (s) | pymarc read (s) | ratio | CPU: import / pymarc (s) "
        "| peak memory (MiB) |"
    ]
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    s = results["small"]
    lines.append(
        f"| import into SQLite vs pymarc reading (target ≤ 2×) | {s['records']:,} | {s['import_s']} | "
        f"{s['pymarc_read_s']} | {s['ratio']}× | {s['import_cpu_s']} / {s['pymarc_cpu_s']} | – |"
    )
    if "full" in results:
        f = results["full"]
        lines.append(
            f"| whole file into SQLite (target < 1024 MiB) | {f['records']:,} | {f['import_s']} "
            f"| – | – | – | {f['peak_mib']} |"
        )
    runs = ", ".join(f"{i} / {p}" for i, p in zip(s["import_runs_s"], s["pymarc_runs_s"], strict=True))
    lines.append("")
    lines.append(f"Runs (import / pymarc, s): {runs}; load average before: {s['load_before']}.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmarks, print a markdown table and return the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the record counts (e.g. 0.1)")
    parser.add_argument("--skip-full", action="store_true", help="only the 20,000-record comparison")
    parser.add_argument("--child", nargs=2, metavar=("FILE", "DB"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return {}
    results = run(args.scale, args.skip_full)
    print(table(results))
    return results


if __name__ == "__main__":
    main()
