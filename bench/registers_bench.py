"""Registers: the individual register of a year of 20,000 copies as PDF and XLSX, time and peak memory.

For each engine, a fresh migrated database with two libraries: one with --small copies (5,000) and one
with --copies (20,000), five copies of each title, received through intakes of 10,000 copies at most,
1% of them withdrawn.
Each register is written by a child process (`--child`), which reports its wall time and its peak
resident memory (ru_maxrss), next to a child that only loads the app and reads nothing (the baseline):
flat memory means the 20,000-copy register peaks about as high as the 5,000-copy one. Target: PDF ≤ 10 s.

    .venv/bin/python -m bench.registers_bench [--copies 20000] [--small 5000] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

QUICK_ARGV = ["--copies", "4000", "--small", "1000", "--engines", "sqlite"]
LIMIT_SECONDS = 10.0
TODAY = date.today()
COPIES_PER_TITLE = 5  # a few copies of each title: most lines of the register differ from the next
PUBLISHERS = ["Chính trị Quốc gia Sự thật", "Kim Đồng", "Giáo dục Việt Nam", "Văn hóa dân tộc", "Trẻ"]


def _flask_app(url: str):
    from app.factory import create_app

    return create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})


def build(url: str, sizes: dict[str, int]) -> None:
    """Migrate the database and give each library (code → copies) its received copies."""
    from flask_migrate import upgrade
    from sqlalchemy.orm import Session

    from app.extensions import db
    from app.network.models import SiteKind
    from app.network.services import create_site
    from catalog import marc
    from catalog.acquisitions import services as acq
    from catalog.services import create_record, create_sequence

    application = _flask_app(url)
    with application.app_context():
        upgrade()
        engine = db.engine
        for code, copies in sizes.items():
            with Session(engine) as session:
                kind = SiteKind.PROVINCIAL_LIBRARY if code == "BIG" else SiteKind.DISTRICT_LIBRARY
                lib = create_site(
                    session, {"code": code, "name": f"Thư viện {code}", "kind": kind}, actor_id=None
                )
                seq = create_sequence(
                    session, library_id=lib.id, prefix=f"V{code[0]}", width=6, actor_id=None
                )
                titles = max(1, copies // COPIES_PER_TITLE)
                record_ids = [
                    create_record(
                        session,
                        marc.build_record(
                            f"Lịch sử Đảng bộ tỉnh Sơn La, tập {n}",
                            authors=[f"Nguyễn Văn Đức {n}"],
                            publisher=PUBLISHERS[n % len(PUBLISHERS)],
                            place="Hà Nội" if n % 3 else "Sơn La",
                            year=2020 + n % 6,
                        ),
                        actor_id=None,
                    ).id
                    for n in range(titles)
                ]
                session.commit()
                lib_id, seq_id = lib.id, seq.id
            left = copies
            while left > 0:
                with Session(engine) as session:
                    intake = acq.create_intake(
                        session,
                        {"library_id": lib_id, "intake_date": TODAY, "document_number": "HĐ 01"},
                        actor_id=None,
                    )
                    size = min(left, 10_000)
                    per_line = COPIES_PER_TITLE
                    lines = max(1, size // per_line)
                    for n in range(lines):
                        acq.add_line(
                            session,
                            intake.id,
                            {
                                "record_id": record_ids[n % len(record_ids)],
                                "copies": per_line if n < lines - 1 else size - per_line * (lines - 1),
                                "unit_price_vnd": 85_000 + 1_000 * (n % 7),
                                "sequence_id": seq_id,
                            },
                            actor_id=None,
                        )
                    session.commit()
                    result = acq.receive_intake(session, intake.id, None)
                    session.commit()
                    left -= size
            with Session(engine) as session:
                numbers = result.accession_numbers[: max(1, copies // 100)]
                acq.withdraw(session, lib_id, numbers, "damaged", "BB 01/2026", None)
                session.commit()
        db.session.remove()
        engine.dispose()


def _status_mib(field_name: str) -> float:
    """Return a memory figure of this process from /proc/self/status, in MiB (0 when unknown)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _reset_peak() -> None:
    """Reset this process's peak resident memory (VmHWM) on Linux, so it measures the writing only."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def child(url: str, code: str, fmt: str, output: str) -> dict[str, Any]:
    """Write one register (or nothing, when fmt is "none") and return seconds and peak memory."""
    from app.extensions import db
    from catalog.acquisitions import registers

    application = _flask_app(url)
    with application.app_context():
        rss_before = _status_mib("VmRSS")
        _reset_peak()
        started = time.perf_counter()
        if fmt != "none":
            library = registers.find_library(db.session, code)
            register = registers.individual_register(
                db.session, library.id, date(TODAY.year, 1, 1), date(TODAY.year, 12, 31)
            )
            with open(output, "wb") as out:
                registers.write_register(register, fmt, out)
        seconds = time.perf_counter() - started
    size = os.path.getsize(output) if fmt != "none" else 0
    return {
        "seconds": seconds,
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_before_mib": rss_before,
        "peak_while_writing_mib": _status_mib("VmHWM"),
        "bytes": size,
    }


def _run_child(url: str, code: str, fmt: str, folder: Path) -> dict[str, Any]:
    output = str(folder / f"register-{code}.{fmt}")
    cmd = [sys.executable, "-m", "bench.registers_bench", "--child", url, code, fmt, output]
    result = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Build the data, write the registers in child processes and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument(
        "--child", nargs=4, metavar=("URL", "CODE", "FORMAT", "OUTPUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return {}
    results: dict[str, list[tuple[str, int, dict[str, Any]]]] = {}
    with contextlib.ExitStack() as stack:
        for engine_name in [e for e in args.engines.split(",") if e]:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            if engine_name == "sqlite":
                url = f"sqlite:///{folder / 'registers.db'}"
            else:
                from tests import pg

                base_url = stack.enter_context(pg.running_server())
                url = pg.create_database(base_url, "bench_registers")
            print(f"  building {args.small:,} + {args.copies:,} copies on {engine_name}", file=sys.stderr)
            build(url, {"SMALL": args.small, "BIG": args.copies})
            rows = [("baseline (app loaded, nothing written)", 0, _run_child(url, "BIG", "none", folder))]
            for fmt in ("pdf", "xlsx"):
                for code, copies in (("SMALL", args.small), ("BIG", args.copies)):
                    print(f"  {engine_name}: {fmt} of {copies:,} copies", file=sys.stderr)
                    rows.append((fmt.upper(), copies, _run_child(url, code, fmt, folder)))
            results[engine_name] = rows
    lines = [
        f"Individual register of one year, one line per copy; target PDF of {args.copies:,} copies "
        f"≤ {LIMIT_SECONDS:.0f} s. Each row is a fresh child process: its RSS once the app is loaded, "
        "its peak RSS while writing (VmHWM reset first) and its ru_maxrss (whole life).",
        "",
        "| engine | output | copies | seconds | RSS before MiB | peak RSS while writing MiB | "
        "ru_maxrss MiB | file MiB | within target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for engine_name, rows in results.items():
        for label, copies, r in rows:
            ok = (
                ""
                if label != "PDF" or copies != args.copies
                else ("yes" if r["seconds"] <= LIMIT_SECONDS else "NO")
            )
            lines.append(
                f"| {engine_name} | {label} | {copies:,} | {r['seconds']:.2f} | {r['rss_before_mib']:.0f} | "
                f"{r['peak_while_writing_mib']:.0f} | {r['maxrss_mib']:.0f} | "
                f"{r['bytes'] / 1024 / 1024:.1f} | {ok} |"
            )
    print("\n".join(lines))
    return {k: [{"output": a, "copies": b, **c} for a, b, c in v] for k, v in results.items()}


if __name__ == "__main__":
    main()
