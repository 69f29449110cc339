"""Filling a rotation batch automatically: a 300-copy fill (preview, then add) on the generated catalogue.

The catalogue is the one of bench/rotation_bench.py (bench/search_bench.py's generated Vietnamese
records, twice as many copies), on a throwaway SQLite copy. Measured: `plan_fill` (load a sample of
candidates in SQL, choose) for a few kinds of request, and `fill` (plan, then add every chosen copy
through add_copy, audited) once. The sample size is reported: it must stay far below the stock.

    .venv/bin/python -m bench.filling_bench [--records 250000] [--size 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

QUICK_ARGV = ["--records", "20000", "--repeat", "3"]

REQUESTS = {
    "any class, vie": {},
    "classes 8:40 3:30 9:10, vie/tha/hmn": {
        "class_shares": {"8": 40, "3": 30, "9": 10},
        "language_shares": {"vie": None, "tha": 10, "hmn": 10},
    },
    "even classes, 25% children": {"even_classes": True, "children_percent": 25},
}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time automatic fills on SQLite; print a markdown table and return the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=250_000, help="records (copies are twice as many)")
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from app.network.models import Site
    from bench import rotation_bench as rb
    from catalog.models import Item
    from rotation.services import batches as batch_services
    from rotation.services import filling as fill_services

    source = rb.catalogue(args.records)
    results: dict[str, Any] = {}
    with rb._sqlite_copy(source) as url:
        rb._complete_schema(url)
        engine = rb._engine(url)
        with Session(engine) as session:
            results["copies"] = session.scalar(select(func.count()).select_from(Item))
            library = session.scalar(select(Site).where(Site.code == "TVT"))
            batch = batch_services.create_batch(
                session, home_library_id=library.id, target_size=args.size, actor_id=None
            )
            session.commit()
            for name, values in REQUESTS.items():
                times, sampled, chosen = [], 0, 0
                for seed in range(args.repeat):
                    settings = fill_services.FillSettings(size=args.size, seed=seed, **values)
                    started = time.perf_counter()
                    plan = fill_services.plan_fill(session, batch, settings)
                    times.append((time.perf_counter() - started) * 1000)
                    sampled, chosen = plan.sampled, len(plan.result.chosen)
                    session.rollback()
                results[f"preview: {name}"] = {
                    "median_ms": statistics.median(times),
                    "max_ms": max(times),
                    "sampled": sampled,
                    "chosen": chosen,
                }
            started = time.perf_counter()
            plan, report = fill_services.fill(
                session, batch, fill_services.FillSettings(size=args.size, seed=1), actor_id=None
            )
            session.commit()
            results["fill and add (one transaction)"] = {
                "median_ms": (time.perf_counter() - started) * 1000,
                "max_ms": (time.perf_counter() - started) * 1000,
                "sampled": plan.sampled,
                "chosen": len(report.added),
            }
        engine.dispose()
    print(render(results, args))
    return results


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    """Return the results as a markdown table."""
    lines = [
        f"Automatic fill of {args.size} copies, SQLite, {results['copies']:,} copies in the catalogue",
        "",
        "| measurement | median ms | max ms | candidates loaded | chosen |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in results.items():
        if isinstance(row, dict):
            ms = f"{row['median_ms']:.0f} | {row['max_ms']:.0f}"
            lines.append(f"| {name} | {ms} | {row['sampled']} | {row['chosen']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
