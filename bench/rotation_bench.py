"""Rotation speed with 500,000 copies: a scan into a batch, a return-count scan, a 300-copy batch page.

The catalogue is the generated Vietnamese one of bench/search_bench.py (250,000 records, 500,000
copies over 13 libraries), built once and cached in bench/data/. Each run works on a throwaway copy of
the SQLite file (the cache is never changed), and on PostgreSQL loads it into a throwaway server.

Measured on each engine:
- scan (service): `rotation.services.batches.add_copy` by accession number, in its own transaction,
  exactly as the batch page's scan view calls it; --scans times, each a different copy.
- scan (web): POST /rotation/batches/<code>/scan through the Flask test client, logged in (CSRF,
  login, the view, the redirect): --scans times.
- return scan: `rotation.services.shipments.scan_return` of every copy of that batch once it has been
  to a point and come back (the keyboard-wedge scan at the library).
- batch page: GET /rotation/batches/<code> of the batch of --scans copies, --page-requests times.

Targets (issue 4): a scan ≤ 20 ms, a 300-copy batch page ≤ 100 ms.

    .venv/bin/python -m bench.rotation_bench [--records 250000] [--scans 300] [--page-requests 100]
        [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

QUICK_ARGV = ["--records", "20000", "--scans", "100", "--page-requests", "30", "--engines", "sqlite"]
QUICK_ARGV += ["--closed-batches", "20", "--open-batches", "10"]  # bench/__main__.py repeats it
SCAN_TARGET_MS = 20.0
PAGE_TARGET_MS = 100.0
PASSWORD = "bench-rotation-2026"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _stats(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, max(0, int(round(0.95 * len(ordered))) - 1))]
    return {"n": len(times), "median_ms": statistics.median(ordered), "p95_ms": p95, "max_ms": ordered[-1]}


def catalogue(records: int) -> Path:
    """Return the cached generated Vietnamese catalogue (built by search_bench the first time)."""
    from bench import search_bench

    path = search_bench.DATA_DIR / f"search_vi_{records}.sqlite"
    if not path.exists():
        search_bench.DATA_DIR.mkdir(parents=True, exist_ok=True)
        search_bench.build_sqlite("vi", path, records)
    return path


def _flask_app(url: str):
    from app.factory import create_app, settle_heap

    settings = {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False}
    application = create_app("testing", overrides=settings)
    settle_heap()  # as wsgi.py does before serving
    return application


def _complete_schema(url: str) -> None:
    """Bring the working copy to the newest schema (migrations, then any table still missing)."""
    from bench.search_bench import _migrate

    _migrate(url)
    from app.extensions import db

    application = _flask_app(url)
    with application.app_context():
        db.create_all()  # tables whose migrations are not written yet; a no-op once they are
        db.session.remove()
        db.engine.dispose()


def _engine(url: str):
    from sqlalchemy import create_engine

    from app.db import configure_sqlite

    engine = create_engine(url)
    if url.startswith("sqlite"):
        configure_sqlite(engine)
    return engine


def _setup(session, count: int) -> dict[str, Any]:
    """Create a point and an admin, and pick 2×`count` available copies of the provincial library."""
    from sqlalchemy import select

    from app.auth.models import Role
    from app.auth.services import create_user
    from app.network.models import Site, SiteKind
    from app.network.services import create_site
    from catalog.models import Item

    library = session.scalar(select(Site).where(Site.code == "TVT"))
    point = create_site(
        session,
        {
            "code": "BENCH-P1",
            "name": "Điểm Bưu điện văn hóa xã Chiềng Ngần",
            "kind": SiteKind.POST_CULTURE_POINT,
        },
        actor_id=None,
    )
    user = create_user(session, username="benchrotation", password=PASSWORD, role=Role.ADMIN)
    session.commit()
    codes = list(
        session.scalars(
            select(Item.accession_number)
            .where(Item.library_id == library.id, Item.status == "available", Item.is_rare.is_(False))
            .order_by(Item.id)
            .limit(2 * count)
        )
    )
    if len(codes) < 2 * count:
        raise RuntimeError(f"only {len(codes)} available copies at {library.code}; need {2 * count}")
    return {"library_id": library.id, "point_id": point.id, "user_id": user.id, "codes": codes}


def add_history(session, library_id: int, closed: int, open_: int, size: int = 250) -> int:
    """Insert `closed` past batches and `open_` batches out in the network, `size` copies each.

    Scans look up a copy's open batch and the batch page counts each title's copies in open batches,
    so batch_items must hold a few years of rotation, as a real database would (bulk inserted).
    """
    from sqlalchemy import insert, select

    from catalog.models import Item
    from rotation.models import Batch, BatchItem

    # Copies of the other libraries: never among the copies the measurements scan.
    ids = list(
        session.scalars(
            select(Item.id).where(Item.library_id != library_id).order_by(Item.id).limit(open_ * size)
        )
    )
    rows = []
    for n in range(closed + open_):
        is_open = n >= closed
        batch = Batch(
            code=f"LC-2020-{n + 1:04d}",
            home_library_id=library_id,
            holder_site_id=library_id,
            status="at_point" if is_open else "closed",
            target_size=size,
        )
        session.add(batch)
        session.flush()
        start = (n - closed) * size if is_open else (n * 37) % max(1, len(ids) - size)
        rows += [{"batch_id": batch.id, "item_id": i, "is_open": is_open} for i in ids[start : start + size]]
    for chunk in range(0, len(rows), 10_000):
        session.execute(insert(BatchItem), rows[chunk : chunk + 10_000])
    session.commit()
    return len(rows)


def _new_batch(session, library_id: int, user_id: int, size: int):
    from rotation.services import batches as services

    batch = services.create_batch(session, home_library_id=library_id, target_size=size, actor_id=user_id)
    session.commit()
    return batch


def measure_service_scans(session, setup: dict[str, Any], codes: list[str]) -> dict[str, float]:
    """Time add_copy of each code into a new batch, one transaction per scan (as the view does)."""
    from app.db import transaction
    from rotation.rules import DEFAULT_RULES
    from rotation.services import batches as services

    batch = _new_batch(session, setup["library_id"], setup["user_id"], len(codes) + 10)
    times = []
    for code in codes:
        started = time.perf_counter()
        with transaction(session):
            services.add_copy(session, batch, code, setup["user_id"], rules=DEFAULT_RULES)
        times.append((time.perf_counter() - started) * 1000)
    return _stats(times)


def _login(client) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(html)[1]
    response = client.post(
        "/login", data={"csrf_token": token, "username": "benchrotation", "password": PASSWORD}
    )
    if response.status_code != 302:
        raise RuntimeError(f"login failed: HTTP {response.status_code}")


def measure_web(url: str, session, setup: dict[str, Any], codes: list[str], page_requests: int) -> dict:
    """Scan each code through the web view into a new batch, then time that batch's page."""
    from app.extensions import db

    batch = _new_batch(session, setup["library_id"], setup["user_id"], len(codes) + 10)
    code = batch.code
    application = _flask_app(url)
    client = application.test_client()
    _login(client)
    page = f"/rotation/batches/{code}"
    token = CSRF_RE.search(client.get(page).get_data(as_text=True))[1]
    scans = []
    for number in codes:
        started = time.perf_counter()
        response = client.post(f"{page}/scan", data={"csrf_token": token, "code": number})
        scans.append((time.perf_counter() - started) * 1000)
        if response.status_code != 302 or "added=" not in response.headers.get("Location", ""):
            raise RuntimeError(f"scan of {number} refused: HTTP {response.status_code}")
        # The browser follows the redirect and the batch page shows (and so drops) the flash
        # message; without this the session cookie would grow by one message per scan.
        with client.session_transaction() as cookie:
            cookie.pop("_flashes", None)
    for _ in range(min(10, page_requests)):
        client.get(page)
    pages = []
    for _ in range(page_requests):
        started = time.perf_counter()
        response = client.get(page)
        pages.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{page}: HTTP {response.status_code}")
    shown = len(re.findall(r'<tr id="copy-\d+"', response.get_data(as_text=True)))
    if shown != len(codes):
        raise RuntimeError(f"{page} shows {shown} copies, expected {len(codes)}")
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    return {"batch_code": code, "scan": _stats(scans), "page": _stats(pages)}


def measure_return_scans(session, setup: dict[str, Any], batch_code: str, codes: list[str]) -> dict:
    """Send the batch to the point and back, then time scan_return of each of its copies."""
    from app.db import transaction
    from rotation.services import batches as batch_services
    from rotation.services import shipments as svc

    user = setup["user_id"]
    batch = batch_services.get_batch(session, batch_code)
    with transaction(session):
        batch_services.mark_ready(session, batch, seal_number="NB-0001", box_count=2, actor_id=user)
    for to_site in (setup["point_id"], setup["library_id"]):
        with transaction(session):
            shipment = svc.dispatch(session, batch, to_site_id=to_site, actor_id=user)
        with transaction(session):
            svc.receive(
                session,
                shipment,
                actor_id=user,
                actor_site_ids=None,
                received_count=shipment.expected_count,
                received_by_name="Lò Thị Đào",
            )
    times = []
    for code in codes:
        started = time.perf_counter()
        with transaction(session):
            result = svc.scan_return(session, shipment, code, actor_id=user)
        times.append((time.perf_counter() - started) * 1000)
        if result.outcome != "returned":
            raise RuntimeError(f"return scan of {code}: {result.outcome}")
    return _stats(times)


def run_engine(url: str, count: int, page_requests: int, history: tuple[int, int]) -> dict[str, Any]:
    """Set up, then take every measurement on one database."""
    from sqlalchemy import func, select, text
    from sqlalchemy.orm import Session

    from catalog.models import Item

    _complete_schema(url)
    engine = _engine(url)
    with Session(engine) as session:
        copies = session.scalar(select(func.count()).select_from(Item))
        setup = _setup(session, count)
        memberships = add_history(session, setup["library_id"], *history)
        if url.startswith("postgresql"):
            session.execute(text("ANALYZE"))  # what autovacuum would do after such an insert
            session.commit()
        codes = setup["codes"]
        service = measure_service_scans(session, setup, codes[:count])
        web = measure_web(url, session, setup, codes[count:], page_requests)
        returns = measure_return_scans(session, setup, web["batch_code"], codes[count:])
    engine.dispose()
    return {
        "copies": copies,
        "memberships": memberships,
        "scan (service)": service,
        "scan (web)": web["scan"],
        "return scan (service)": returns,
        f"batch page, {count} copies": web["page"],
    }


COPIED_TABLES = ("records", "items")  # scans and the batch page read no other catalogue table


def load_postgresql(sqlite_path: Path, url: str) -> None:
    """Create the schema on PostgreSQL and copy the catalogue's records and copies into it with COPY."""
    import sqlite3

    import psycopg
    from sqlalchemy.orm import Session

    from bench.search_bench import _make_libraries, _migrate

    _migrate(url)
    engine = _engine(url)
    with Session(engine) as session:
        _make_libraries(session)  # the same 13 libraries, in the same order: the same ids
    engine.dispose()
    src = sqlite3.connect(sqlite_path)
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        for table in COPIED_TABLES:
            cur = src.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed names
            names = [d[0] for d in cur.description]
            bools = {i for i, n in enumerate(names) if n.startswith("is_")}
            with conn.cursor().copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in cur:
                    copy.write_row([bool(v) if i in bools else v for i, v in enumerate(row)])
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    src.close()
    print(f"  loaded into PostgreSQL in {time.perf_counter() - started:.0f} s", file=sys.stderr)


@contextlib.contextmanager
def _sqlite_copy(source: Path) -> Iterator[str]:
    work = Path(tempfile.mkdtemp(prefix="tramsach-rotbench-"))
    try:
        target = work / "rotation.sqlite"
        shutil.copyfile(source, target)
        yield f"sqlite:///{target}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Time scans and the batch page on each engine; print a markdown table and return the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=250_000, help="records (copies are twice as many)")
    parser.add_argument("--scans", type=int, default=300, help="scans per measurement = batch size")
    parser.add_argument("--page-requests", type=int, default=100)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--closed-batches", type=int, default=200, help="past batches of 250 copies")
    parser.add_argument("--open-batches", type=int, default=80, help="batches out at points, 250 copies")
    args = parser.parse_args(argv)
    history = (args.closed_batches, args.open_batches)
    engines = [e for e in args.engines.split(",") if e]
    source = catalogue(args.records)
    results: dict[str, Any] = {}
    for engine_name in engines:
        print(f"  rotation bench on {engine_name}", file=sys.stderr)
        started = time.perf_counter()
        if engine_name == "sqlite":
            with _sqlite_copy(source) as url:
                results[engine_name] = run_engine(url, args.scans, args.page_requests, history)
        else:
            from tests import pg

            with pg.running_server() as base_url:
                url = pg.create_database(base_url, "bench_rotation")
                load_postgresql(source, url)
                results[engine_name] = run_engine(url, args.scans, args.page_requests, history)
        print(f"  {engine_name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(render(results, args))
    return results


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    """Return the results as a markdown table."""
    first = next(iter(results.values())) if results else {"copies": 0, "memberships": 0}
    lines = [
        f"### Rotation: {first['copies']:,} copies in the catalogue, "
        f"{first['memberships']:,} batch memberships ({args.closed_batches} past and "
        f"{args.open_batches} open batches), batches of {args.scans} copies",
        "",
        "| engine | what | n | median ms | p95 ms | max ms | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for engine_name, res in results.items():
        for what, s in res.items():
            if what in ("copies", "memberships"):
                continue
            target = PAGE_TARGET_MS if what.startswith("batch page") else SCAN_TARGET_MS
            verdict = "ok" if s["p95_ms"] <= target else ("median ok" if s["median_ms"] <= target else "over")
            numbers = f"{s['n']} | {s['median_ms']:.1f} | {s['p95_ms']:.1f} | {s['max_ms']:.1f}"
            lines.append(f"| {engine_name} | {what} | {numbers} | ≤ {target:.0f} ms: {verdict} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
