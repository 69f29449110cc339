"""Plan progress speed: the progress page with five years of data, on SQLite and PostgreSQL.

Load: 13 libraries (the provincial one and 12 district ones), the plan's targets for five years, the
hand-entered indicators every month for every library (7 indicators x 13 libraries x 60 months), and for
the computed indicators ~100,000 copies a year (500,000 in all; 80 % at the provincial library), ~8,000
records a year and ~150 batches dispatched a year. The progress page (/plan/) is requested through the
Flask test client, signed in as a viewer, for the province and for one district library, for each of the
five years; the table gives the median and p95 of all requests, and the same for `progress()` alone.

    .venv/bin/python -m bench.plan_bench [--copies-per-year 100000] [--requests 100]
        [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

QUICK_ARGV = ["--copies-per-year", "10000", "--requests", "20"]
LIMIT_MS = 200.0
YEARS = 5
OUT = Path(__file__).resolve().parent / "out"
PASSWORD = "bench-password-123"  # noqa: S105


def _flask_app(url: str):
    from app.factory import create_app, settle_heap

    settings = {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False}
    application = create_app("testing", overrides=settings)
    settle_heap()  # as wsgi.py does before serving
    return application


def _stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"n": len(times), "median_ms": statistics.median(times), "p95_ms": p95, "max_ms": ordered[-1]}


def build(url: str, copies_per_year: int, last_year: int) -> dict[str, Any]:
    """Migrate an empty database and fill it with five years of plan data; return what was made."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app.auth.models import Role
    from app.auth.services import create_user
    from app.extensions import db
    from app.network.models import SiteKind
    from app.network.services import create_site
    from app.plan.models import ENTERED_INDICATORS, MonthlyFigure
    from app.plan.services import plan_defaults, prefill_from_plan
    from catalog.models import Item, Record
    from rotation.models import Batch, Shipment

    rng = random.Random(2026)
    application = _flask_app(url)
    with application.app_context():
        upgrade()
        session = db.session
        libraries = [
            create_site(
                session,
                {"code": "TVT", "name": "Thư viện tỉnh Sơn La", "kind": SiteKind.PROVINCIAL_LIBRARY},
                actor_id=None,
            )
        ]
        for i in range(1, 13):
            libraries.append(
                create_site(
                    session,
                    {"code": f"TVH{i:02d}", "name": f"Thư viện huyện {i}", "kind": SiteKind.DISTRICT_LIBRARY},
                    actor_id=None,
                )
            )
        point = create_site(
            session,
            {"code": "BDVH001", "name": "Điểm BĐVH xã 1", "kind": SiteKind.POST_CULTURE_POINT},
            actor_id=None,
        )
        create_user(session, username="benchviewer", password=PASSWORD, role=Role.VIEWER)
        session.commit()
        ids = [s.id for s in libraries]
        years = list(range(last_year - YEARS + 1, last_year + 1))

        def moment(year: int) -> datetime:
            return datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(365 * 86400))

        accession = 0
        for year in years:
            prefill_from_plan(session, year=year, actor_id=None)
            figures = [
                {
                    "library_id": site.id,
                    "year": year,
                    "month": month,
                    "indicator": ind.value,
                    "value": int((plan_defaults(site.kind).get(ind) or 12) / 12 * rng.uniform(0.5, 1.5)),
                }
                for site in libraries
                for month in range(1, 13)
                for ind in ENTERED_INDICATORS
            ]
            session.execute(insert(MonthlyFigure), figures)
            records = copies_per_year // 12  # ~8,000 records for 100,000 copies
            first = session.execute(
                insert(Record).returning(Record.id),
                [{"title": f"Sách {year}-{n}", "created_at": moment(year)} for n in range(records)],
            )
            record_ids = list(first.scalars())
            rows = []
            for _ in range(copies_per_year):
                accession += 1
                rows.append(
                    {
                        "record_id": rng.choice(record_ids),
                        "accession_number": f"VV.{accession:07d}",
                        "library_id": ids[0] if rng.random() < 0.8 else rng.choice(ids[1:]),
                        "status": "available",
                        "created_at": moment(year),
                    }
                )
                if len(rows) == 20_000:
                    session.execute(insert(Item), rows)
                    rows = []
            if rows:
                session.execute(insert(Item), rows)
            for n in range(150):
                batch = Batch(code=f"LC-{year}-{n:04d}", home_library_id=rng.choice(ids), status="closed")
                session.add(batch)
                session.flush()
                session.add(
                    Shipment(
                        batch_id=batch.id,
                        kind="library_to_point",
                        from_site_id=batch.home_library_id,
                        to_site_id=point.id,
                        status="received",
                        expected_count=200,
                        dispatched_at=moment(year),
                    )
                )
            session.commit()
            print(f"  {year}: {copies_per_year:,} copies, {records:,} records", file=sys.stderr)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
        else:
            with db.engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
        db.session.remove()
        db.engine.dispose()
    return {"years": years, "library_id": ids[1]}


def measure(url: str, years: list[int], library_id: int, requests: int) -> dict[str, Any]:
    """Time the progress page (test client) and progress() for the province and one library."""
    from flask_migrate import upgrade

    from app.extensions import db
    from app.plan.progress import progress

    application = _flask_app(url)
    with application.app_context():
        upgrade()  # other work may have added a migration since the data was built
    client = application.test_client()
    page = client.get("/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True))
    if token is None:
        raise RuntimeError(f"no login form (HTTP {page.status_code})")
    token = token.group(1)
    response = client.post(
        "/login", data={"csrf_token": token, "username": "benchviewer", "password": PASSWORD}
    )
    if response.status_code != 302:
        raise RuntimeError("bench login failed")
    targets = [(y, lib) for y in years for lib in (None, library_id)]
    for year, lib in targets:  # warm up
        client.get("/plan/", query_string={"year": year, "library": lib or ""})
    pages, calls = [], []
    for n in range(requests):
        year, lib = targets[n % len(targets)]
        started = time.perf_counter()
        response = client.get("/plan/", query_string={"year": year, "library": lib or ""})
        pages.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"/plan/ {year} {lib}: HTTP {response.status_code}")
    with application.app_context():
        for n in range(requests):
            year, lib = targets[n % len(targets)]
            started = time.perf_counter()
            progress(db.session, year, lib)
            calls.append((time.perf_counter() - started) * 1000)
        db.session.remove()
        db.engine.dispose()
    return {"page": _stats(pages), "progress()": _stats(calls)}


@contextlib.contextmanager
def _postgresql_server() -> Iterator[str]:
    from tests import pg

    with pg.running_server() as base_url:
        yield base_url


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Build the data on each engine, time the progress page; print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies-per-year", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the SQLite file of an earlier run of the same size"
    )
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    last_year = datetime.now(UTC).year
    results: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        base_url = stack.enter_context(_postgresql_server()) if "postgresql" in engines else None
        for engine_name in engines:
            if engine_name == "sqlite":
                OUT.mkdir(exist_ok=True)
                path = OUT / f"plan-bench-{args.copies_per_year}.db"
                url = f"sqlite:///{path}"
                if args.reuse and path.exists():
                    years = list(range(last_year - YEARS + 1, last_year + 1))
                    results[engine_name] = measure(url, years, 2, args.requests)  # 2: the first district
                    continue
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
            else:
                from tests import pg

                url = pg.create_database(base_url, "bench_plan")
            print(f"  building on {engine_name}", file=sys.stderr)
            started = time.perf_counter()
            made = build(url, args.copies_per_year, last_year)
            print(f"  built in {time.perf_counter() - started:.0f} s; measuring", file=sys.stderr)
            results[engine_name] = measure(url, made["years"], made["library_id"], args.requests)
    print(render(results, args))
    return results


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    """Return the results as a markdown table."""
    lines = [
        f"### Plan progress: 5 years, 13 libraries, {args.copies_per_year:,} copies a year "
        f"({YEARS * args.copies_per_year:,} in all), {args.requests} requests (target ≤ {LIMIT_MS:.0f} ms)",
        "",
        "| engine | what | n | median ms | p95 ms | max ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for engine, res in results.items():
        for what, s in res.items():
            numbers = f"{s['n']} | {s['median_ms']:.1f} | {s['p95_ms']:.1f} | {s['max_ms']:.1f}"
            lines.append(f"| {engine} | {what} | {numbers} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
