"""Receiving speed: an intake of 1,000 copies (100 titles x 10) turned into numbered copies in one action.

For each engine, a fresh migrated database with one library, its series and 100 records; each run
builds a new draft intake of --titles lines of --copies copies and times `receive_intake` plus the
commit (the copies, their links, the audit events, the search index). Target: ≤ 2 s.

    .venv/bin/python -m bench.acquisitions_bench [--titles 100] [--copies 10] [--repeat 5]
        [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

QUICK_ARGV = ["--repeat", "2"]
LIMIT_SECONDS = 2.0


def _flask_app(url: str):
    from app.factory import create_app

    return create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})


def measure(url: str, titles: int, copies: int, repeat: int) -> list[float]:
    """Migrate the database at `url`, then receive `repeat` intakes and return the seconds each took."""
    from flask_migrate import upgrade
    from sqlalchemy.orm import Session

    from app.extensions import db
    from app.network.models import SiteKind
    from app.network.services import create_site
    from catalog import marc
    from catalog.acquisitions import services as acq
    from catalog.services import create_record, create_sequence

    application = _flask_app(url)
    times: list[float] = []
    with application.app_context():
        upgrade()
        engine = db.engine
        with Session(engine) as session:
            lib = create_site(
                session,
                {"code": "TVT", "name": "Thư viện tỉnh", "kind": SiteKind.PROVINCIAL_LIBRARY},
                actor_id=None,
            )
            seq = create_sequence(session, library_id=lib.id, prefix="VV", width=6, actor_id=None)
            record_ids = [
                create_record(
                    session,
                    marc.build_record(f"Sách thử nghiệm số {n}", authors=[f"Tác giả {n}"], year=2020),
                    actor_id=None,
                ).id
                for n in range(titles)
            ]
            session.commit()
            lib_id, seq_id = lib.id, seq.id
        for _ in range(repeat):
            with Session(engine) as session:
                intake = acq.create_intake(
                    session, {"library_id": lib_id, "intake_date": date(2026, 11, 1)}, actor_id=None
                )
                for rid in record_ids:
                    acq.add_line(
                        session,
                        intake.id,
                        {"record_id": rid, "copies": copies, "unit_price_vnd": 85_000, "sequence_id": seq_id},
                        actor_id=None,
                    )
                session.commit()
                intake_id = intake.id
            with Session(engine) as session:
                started = time.perf_counter()
                result = acq.receive_intake(session, intake_id, None)
                session.commit()
                times.append(time.perf_counter() - started)
                assert result.copies == titles * copies
        db.session.remove()
        engine.dispose()
    return times


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time receiving on each engine and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--titles", type=int, default=100)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    results: dict[str, list[float]] = {}
    with contextlib.ExitStack() as stack:
        for engine_name in engines:
            print(f"  measuring receiving on {engine_name}", file=sys.stderr)
            if engine_name == "sqlite":
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                url = f"sqlite:///{folder / 'acq.db'}"
            else:
                from tests import pg

                base_url = stack.enter_context(pg.running_server())
                url = pg.create_database(base_url, "bench_acquisitions")
            results[engine_name] = measure(url, args.titles, args.copies, args.repeat)
    total = args.titles * args.copies
    lines = [
        f"Receiving an intake of {total:,} copies ({args.titles} titles x {args.copies}), "
        f"{args.repeat} runs per engine; target ≤ {LIMIT_SECONDS:.0f} s.",
        "",
        "| engine | median s | slowest s | copies/s (median) | within target |",
        "|---|---|---|---|---|",
    ]
    for engine_name, times in results.items():
        median = statistics.median(times)
        lines.append(
            f"| {engine_name} | {median:.2f} | {max(times):.2f} | {total / median:,.0f} | "
            f"{'yes' if max(times) <= LIMIT_SECONDS else 'NO'} |"
        )
    print("\n".join(lines))
    return {k: {"median": statistics.median(v), "max": max(v), "runs": v} for k, v in results.items()}


if __name__ == "__main__":
    main()
