"""Export speed: 20,000 LoC records from SQLite to MARCXML and ISO 2709, next to yaz-marcdump.

The first 20,000 records of the Library of Congress file (bench/data.py) are loaded into a fresh
SQLite database (Core bulk inserts of catalog.indexing.index_record rows, and their record_marc rows
with the ISO 2709 bytes cached as the import stores them: the export reads only record_marc). Then,
in the same run and on the same file, each conversion is timed `--repeat` times
(the best run counts, as the machine is shared):
- ours: catalog.exporting.export_to_stream, the whole catalogue to a file, MARCXML and ISO 2709;
- yaz: `yaz-marcdump -i marc -o marcxml` and `-i marc -o marc` on the 20,000-record file, to a file.
The issue's target: ours at most 2× yaz. Prints a markdown table; returns the numbers as a dict.

    .venv/bin/python -m bench.export_bench [--records 20000] [--repeat 3] [--quick] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

RECORDS = 20_000
QUICK_RECORDS = 2_000
REPEAT = 3
BATCH = 2_000
TARGET_RATIO = 2.0
YAZ_FORMATS = {"marcxml": "marcxml", "iso2709": "marc"}


def _source_file(count: int) -> Path:
    """The first `count` LoC records as their own ISO 2709 file (cached in bench/data/)."""
    from bench import data

    if count == 20_000 and hasattr(data, "loc20k"):
        return data.loc20k()
    return data.loc_slice(count)


def _load(url: str, source: Path) -> int:
    """Create the schema at `url` and bulk-insert the records of `source`; return how many."""
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, insert
    from sqlalchemy.orm import Session

    from app.extensions import db
    from app.factory import create_app
    from catalog import marc
    from catalog.indexing import index_record
    from catalog.models import Record, RecordMarc, iso2709_or_none

    application = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": url})
    with application.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    engine = create_engine(url)
    count = 0

    def store(session: Session, batch: list[dict[str, Any]]) -> None:
        nonlocal count
        marcs = []
        for row in batch:
            count += 1
            row["id"] = count
            text = row.pop("marc")
            marcs.append({"record_id": count, "marc": text, "iso2709": iso2709_or_none(text)})
        session.execute(insert(Record), batch)
        session.execute(insert(RecordMarc), marcs)

    with Session(engine) as session:
        batch: list[dict[str, Any]] = []
        for parsed in marc.read_records(source):
            if parsed.record is None:
                continue
            batch.append(dict(index_record(parsed.record).row))
            if len(batch) >= BATCH:
                store(session, batch)
                batch = []
        if batch:
            store(session, batch)
        session.commit()
    engine.dispose()
    return count


def _time_ours(url: str, fmt: str, out: Path, profile: bool) -> tuple[float, float, int, int]:
    """Export the whole catalogue to `out`; return (wall seconds, CPU seconds, records written, bytes)."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from catalog.exporting import export_to_stream

    engine = create_engine(url)
    profiler = cProfile.Profile() if profile else None
    with Session(engine) as session, open(out, "wb") as stream:
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        report = export_to_stream(session, stream, fmt)
        if profiler:
            profiler.disable()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    engine.dispose()
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
        print(text.getvalue())
    return elapsed, cpu, report.written, out.stat().st_size


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_yaz(yaz: str, fmt: str, source: Path, out: Path) -> tuple[float, float]:
    """Convert `source` with yaz-marcdump into `out`; return (wall seconds, CPU seconds)."""
    with open(out, "wb") as stream:
        started, cpu_started = time.perf_counter(), _children_cpu()
        subprocess.run([yaz, "-i", "marc", "-o", YAZ_FORMATS[fmt], str(source)], stdout=stream, check=True)
        return time.perf_counter() - started, _children_cpu() - cpu_started


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the export benchmark, print a markdown table and return the numbers."""
    parser = argparse.ArgumentParser(prog="python -m bench.export_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=None, help=f"records to export (default {RECORDS:,})")
    parser.add_argument("--repeat", type=int, default=None, help=f"runs per measurement (default {REPEAT})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RECORDS:,} records, one run")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of our exports")
    args = parser.parse_args(argv)
    count = args.records or (QUICK_RECORDS if args.quick else RECORDS)
    repeat = args.repeat or (1 if args.quick else REPEAT)

    source = _source_file(count)
    yaz = shutil.which("yaz-marcdump")
    results: dict[str, Any] = {"records": count, "repeat": repeat, "source": str(source), "formats": {}}
    with tempfile.TemporaryDirectory(prefix="tramsach-export-bench-") as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'catalogue.db'}"
        started = time.perf_counter()
        loaded = _load(url, source)
        results["load_seconds"] = time.perf_counter() - started
        results["loaded"] = loaded
        for fmt in ("marcxml", "iso2709"):
            ours = [_time_ours(url, fmt, folder / f"ours.{fmt}", args.profile) for _ in range(repeat)]
            row: dict[str, Any] = {
                "ours_seconds": min(r[0] for r in ours),
                "ours_cpu": min(r[1] for r in ours),
                "written": ours[0][2],
                "ours_bytes": ours[0][3],
            }
            if yaz:
                theirs = [_time_yaz(yaz, fmt, source, folder / f"yaz.{fmt}") for _ in range(repeat)]
                row["yaz_seconds"] = min(r[0] for r in theirs)
                row["yaz_cpu"] = min(r[1] for r in theirs)
                row["yaz_bytes"] = (folder / f"yaz.{fmt}").stat().st_size
                row["ratio"] = row["ours_seconds"] / row["yaz_seconds"]
                row["cpu_ratio"] = row["ours_cpu"] / row["yaz_cpu"] if row["yaz_cpu"] else None
            results["formats"][fmt] = row

    print(report_markdown(results))
    return results


def report_markdown(results: dict[str, Any]) -> str:
    """Return the results as a markdown section."""
    count = results["records"]
    lines = [
        f"**Export of {count:,} LoC records from SQLite (best of {results['repeat']} runs)**",
        "",
        f"Loaded {results['loaded']:,} records into a fresh SQLite database in "
        f"{results['load_seconds']:.1f} s (bulk insert, not measured against a target).",
        "",
        "Wall-clock seconds decide the target; CPU seconds (ours: this process; yaz: the child process) "
        "are shown too, as they move less when other work shares the machine.",
        "",
        "| format | ours (s) | records/s | yaz-marcdump (s) | ours ÷ yaz "
        "| CPU: ours / yaz (s) | CPU ratio | target ≤ 2× |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for fmt, row in results["formats"].items():
        rate = row["written"] / row["ours_seconds"] if row["ours_seconds"] else 0
        if "yaz_seconds" in row:
            ok = "met" if row["ratio"] <= TARGET_RATIO else "**missed**"
            yaz = f"{row['yaz_seconds']:.2f}"
            ratio = f"{row['ratio']:.2f}×"
            cpu = f"{row['ours_cpu']:.2f} / {row['yaz_cpu']:.2f}"
            cpu_ratio = f"{row['cpu_ratio']:.2f}×" if row["cpu_ratio"] else "–"
        else:
            ok, yaz, ratio, cpu, cpu_ratio = (
                "yaz-marcdump not installed",
                "–",
                "–",
                f"{row['ours_cpu']:.2f}",
                "–",
            )
        cells = [fmt, f"{row['ours_seconds']:.2f}", f"{rate:,.0f}", yaz, ratio, cpu, cpu_ratio, ok]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
