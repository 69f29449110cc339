"""Load at provincial scale: gunicorn on PostgreSQL and on SQLite, driven by 50 locust users for 60 s.

The catalogue is the generated Vietnamese one of bench/search_bench.py (250,000 records, 500,000
copies over 13 libraries), built once and cached in bench/data/ (never rebuilt when cached). Each run
works on a throwaway copy: a temporary copy of the SQLite file, or a throwaway PostgreSQL server
(tests/pg.py) loaded from it. On it the bench adds what the pages need: rotation points, rotation
staff and one point operator per point (known password), a few years of past batches, batches of
200-300 copies and shipments of them to the points, waiting for the operators' receipt.

The app is served by gunicorn (gthread workers) with the production configuration (TRAMSACH_ENV=
production, a random SECRET_KEY, the login throttle and the OPAC limit on, trusting one proxy hop as
behind nginx), on a free port of 127.0.0.1. Locust runs headless in a second process
(bench/load_locustfile.py): readers search the public catalogue (varied queries with and without
diacritics, filters, next pages) and open records; staff open batch pages, the batch list, the staff
search and record pages, and sign in again now and then; point operators open their receipts and
confirm them (POST with the form's CSRF token). Every user waits 1-3 s between requests (--wait).

Prints a markdown table per engine: requests, failures, req/s, median/p95/p99 per request type and in
all. Target (issue 7): 0 errors and p95 ≤ 200 ms on PostgreSQL. Every process started (gunicorn,
PostgreSQL, locust) is stopped at the end, also on errors. Nothing is downloaded.

    .venv/bin/python -m bench.load_bench [--records 250000] [--users 50] [--duration 60]
        [--workers 4] [--threads 2] [--engines postgresql,sqlite] [--wait 1,3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
QUICK_ARGV = ["--records", "20000", "--users", "20", "--duration", "20", "--points", "4", "--staff", "3"]
QUICK_ARGV += ["--operators", "4", "--shipments-per-point", "3", "--extra-batches", "6"]
QUICK_ARGV += ["--closed-batches", "10", "--open-batches", "5", "--workers", "2", "--queries", "200"]
PASSWORD = "bench-load-2026"
P95_TARGET_MS = 200.0


# --- the data --------------------------------------------------------------------------------------


def _opac_params(args: dict[str, Any]) -> dict[str, Any]:
    """Turn SearchQuery arguments into the OPAC page's query string."""
    params = {}
    for key, value in args.items():
        if value is None:
            continue
        params["library" if key == "library_id" else key] = value
    return params


def prepare(url: str, sqlite_source: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Add points, users, past batches, batches and shipments to the database; return the plan."""
    from sqlalchemy import func, insert, select, text, update
    from sqlalchemy.orm import Session

    from app.auth.models import Role
    from app.auth.services import create_user
    from app.db import transaction
    from app.network.models import Site, SiteKind
    from app.network.services import create_site
    from bench import rotation_bench, search_bench
    from catalog.models import Item, Record
    from rotation.models import Batch, BatchItem
    from rotation.services import shipments as svc

    started = time.perf_counter()
    rng = random.Random(2026)
    rotation_bench._complete_schema(url)
    engine = rotation_bench._engine(url)
    plan: dict[str, Any] = {"password": PASSWORD}
    with Session(engine) as session:
        library = session.scalar(select(Site).where(Site.code == "TVT"))
        communes = ("Chiềng Ngần", "Mường Bú", "Tà Xùa", "Chiềng Sơn", "Mường Giàng", "Nậm Ty", "Phiêng Pằn")
        points = [
            create_site(
                session,
                {
                    "code": f"LOAD-P{i:02d}",
                    "name": f"Điểm Bưu điện văn hóa xã {communes[i % len(communes)]} {i}",
                    "kind": SiteKind.POST_CULTURE_POINT,
                },
                actor_id=None,
            )
            for i in range(1, args.points + 1)
        ]
        session.flush()
        staff = [
            create_user(
                session,
                username=f"bench-staff-{i:02d}",
                password=PASSWORD,
                role=Role.ROTATION,
                full_name=f"Cán bộ luân chuyển {i}",
            )
            for i in range(1, args.staff + 1)
        ]
        operators = [
            create_user(
                session,
                username=f"bench-op-{i:02d}",
                password=PASSWORD,
                role=Role.POINT_OPERATOR,
                full_name=f"Người phụ trách điểm {i}",
                site_ids=[point.id],
            )
            for i, point in enumerate(points, 1)
        ]
        session.commit()
        memberships = rotation_bench.add_history(session, library.id, args.closed_batches, args.open_batches)

        # Batches of 200-300 available copies, each of one library; the first ones go to the points.
        shipped = args.points * args.shipments_per_point
        sizes = [rng.randint(200, 300) for _ in range(shipped + args.extra_batches)]
        taken = select(BatchItem.item_id).where(BatchItem.is_open)
        pool: dict[int, list[int]] = {}
        for item_id, library_id in session.execute(
            select(Item.id, Item.library_id)
            .where(Item.status == "available", Item.is_rare.is_(False), Item.id.not_in(taken))
            .order_by(Item.id)
        ):
            pool.setdefault(library_id, []).append(item_id)
        libraries = sorted(pool, key=lambda lib: -len(pool[lib]))
        batches, rows, ids = [], [], []
        for n, size in enumerate(sizes, 1):
            home = next(
                (lib for lib in libraries[n % len(libraries) :] + libraries if len(pool[lib]) >= size), None
            )
            if home is None:
                raise RuntimeError(f"not enough available copies for {len(sizes)} batches of 200-300")
            members, pool[home] = pool[home][:size], pool[home][size:]
            ready = n <= shipped or n % 2 == 1
            batch = Batch(
                code=f"LC-2026-{n:04d}",
                home_library_id=home,
                holder_site_id=home,
                status="ready" if ready else "assembling",
                target_size=300,
                seal_number=f"NB-{n:04d}" if ready else "",
                box_count=2,
                created_by_id=staff[0].id,
            )
            session.add(batch)
            session.flush()
            batches.append(batch)
            rows += [
                {"batch_id": batch.id, "item_id": i, "is_open": True, "added_by_id": staff[0].id}
                for i in members
            ]
            ids += members
        for chunk in range(0, len(rows), 10_000):
            session.execute(insert(BatchItem), rows[chunk : chunk + 10_000])
        for chunk in range(0, len(ids), 5_000):
            session.execute(
                update(Item).where(Item.id.in_(ids[chunk : chunk + 5_000])).values(status="in_rotation")
            )
        session.commit()
        shipments: dict[int, list[int]] = {p.id: [] for p in points}
        for n, batch in enumerate(batches[:shipped]):
            point = points[n % len(points)]
            with transaction(session):
                shipment = svc.dispatch(session, batch, to_site_id=point.id, actor_id=staff[0].id)
            shipments[point.id].append(shipment.id)
        session.execute(text("ANALYZE"))
        session.commit()
        plan["max_record_id"] = session.scalar(select(func.max(Record.id)))
        plan["copies"] = session.scalar(select(func.count()).select_from(Item))
        plan["records"] = session.scalar(select(func.count()).select_from(Record))
        plan["staff"] = [u.username for u in staff]
        plan["operators"] = [
            {"username": u.username, "shipments": shipments[p.id]}
            for u, p in zip(operators, points, strict=True)
        ]
        history = [f"LC-2020-{n:04d}" for n in range(1, args.closed_batches + args.open_batches + 1)]
        plan["batches"] = [b.code for b in batches] + history[: len(batches)]
        plan["batch_sizes"] = f"{min(sizes)}-{max(sizes)}"
        plan["memberships"] = memberships + len(rows)
    engine.dispose()
    queries = search_bench.make_queries(sqlite_source, args.queries)
    plan["queries"] = [_opac_params(q) for _, q in queries]
    print(f"  prepared in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return plan


# --- processes -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(process: subprocess.Popen | None, grace: float = 10.0) -> None:
    """Stop a process started in its own session, and everything it started."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> int:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - http://127.0.0.1 only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@contextlib.contextmanager
def gunicorn(database_url: str, workdir: Path, workers: int, threads: int) -> Iterator[str]:
    """Serve the app with gunicorn in production configuration; yield its base URL; stop it at the end."""
    port = _free_port()
    env = {
        **os.environ,
        "TRAMSACH_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "TRAMSACH_INSTANCE": str(workdir / "instance"),
        "IMPORT_DIR": str(workdir / "imports"),
        "BASE_URL": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT),
    }
    log = workdir / "gunicorn.log"
    cmd = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    cmd += ["--worker-class", "gthread", "--threads", str(threads), "--timeout", "60"]
    # Idle connections stay open 75 s, as nginx's upstream keep-alive would hold them: with gunicorn's
    # 2 s default, a user thinking 1-3 s would find its connection closed under it.
    cmd += ["--keep-alive", "75"]
    cmd += ["--graceful-timeout", "5", "--error-logfile", str(log), "bench.load_wsgi:app"]
    process = None
    try:
        with open(log, "ab") as out:
            process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn stopped (status {process.returncode}): {log.read_text()[-2000:]}"
                )
            with contextlib.suppress(OSError):
                if _get(f"{base}/healthz", timeout=2) == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer within 90 s: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        _stop(process)


def warm_up(base: str, plan: dict[str, Any], workers: int) -> None:
    """A few requests per worker before measuring: templates compiled, connections open."""
    from urllib.parse import urlencode

    rng = random.Random(1)
    for n in range(6 * workers):
        headers = {"X-Forwarded-For": f"192.0.2.{n + 1}"}
        for path in (
            f"/opac/?{urlencode(rng.choice(plan['queries']))}",
            f"/opac/records/{rng.randint(1, plan['max_record_id'])}",
        ):
            status = _get(base + path, headers)
            if status != 200:  # 503: a migration was added after the database was prepared
                raise RuntimeError(f"warm-up: {path} answered HTTP {status}; not measuring a broken server")


def _ramp(args: argparse.Namespace) -> int:
    """Seconds to start every user at --spawn-rate (they sign in as they start)."""
    return math.ceil(args.users / args.spawn_rate)


def run_locust(base: str, plan_path: Path, workdir: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run the locust scenario headless in its own process: users start over the ramp-up, then
    --duration seconds with all of them; return every request's samples and when all had started."""
    out = workdir / "samples.json"
    staff = min(args.staff_users, args.users // 3)
    operators = min(args.operators, args.points, args.users // 3)
    env = {
        **os.environ,
        "LOAD_PLAN": str(plan_path),
        "LOAD_OUT": str(out),
        "LOAD_WAIT": args.wait,
        "LOAD_STAFF": str(staff),
        "LOAD_OPERATORS": str(operators),
    }
    cmd = [str(VENV_BIN / "locust"), "-f", str(ROOT / "bench" / "load_locustfile.py"), "--headless"]
    cmd += ["--host", base, "--users", str(args.users), "--spawn-rate", str(args.spawn_rate)]
    cmd += [
        "--run-time",
        f"{_ramp(args) + args.duration}s",
        "--stop-timeout",
        "10",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    cmd += ["--exit-code-on-error", "0"]
    log = workdir / "locust.log"
    process = None
    try:
        with open(log, "wb") as logfile:
            process = subprocess.Popen(
                cmd, cwd=ROOT, env=env, stdout=logfile, stderr=logfile, start_new_session=True
            )
            process.wait(timeout=_ramp(args) + args.duration + 120)
    finally:
        _stop(process)
    if not out.exists():
        raise RuntimeError(
            f"locust wrote no samples (status {process.returncode}): {log.read_text()[-3000:]}"
        )
    return json.loads(out.read_text())


# --- numbers -------------------------------------------------------------------------------------------


def _percentile(ordered: list[float], p: float) -> float:
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))]


def summarise(samples: list[list], duration: float) -> dict[str, Any]:
    """Return requests, failures, req/s and median/p95/p99/max per request name and in all."""
    by_name: dict[str, list] = {}
    for sample in samples:
        by_name.setdefault(sample[0], []).append(sample)
    rows = {}
    for name, group in sorted(by_name.items()) + [("all", samples)]:
        ordered = sorted(s[1] for s in group)
        failures = [s[3] for s in group if not s[2]]
        rows[name] = {
            "requests": len(group),
            "failures": len(failures),
            "req_s": len(group) / duration,
            "median_ms": _percentile(ordered, 50),
            "p95_ms": _percentile(ordered, 95),
            "p99_ms": _percentile(ordered, 99),
            "max_ms": ordered[-1],
            "first_failures": sorted(set(failures))[:3],
        }
    return rows


def _confirmed(url: str) -> int:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from bench import rotation_bench
    from rotation.models import Shipment

    engine = rotation_bench._engine(url)
    with Session(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(Shipment).where(Shipment.received_at.is_not(None))
        )
    engine.dispose()
    return count


def _children_cpu() -> float:
    """CPU seconds (user + system) of the child processes ended and waited for so far."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def postgres_cpu(data_dir: Path) -> float:
    """CPU seconds of a PostgreSQL server: the postmaster and its ended backends (from /proc)."""
    pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def run_engine(
    engine_name: str,
    url: str,
    source: Path,
    args: argparse.Namespace,
    workdir: Path,
    db_cpu=lambda: 0.0,
) -> dict:
    """Prepare one database, serve it, load it; return the numbers (db_cpu: the database server's CPU)."""
    plan = prepare(url, source, args)
    plan_path = workdir / "plan.json"
    plan_path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    load_before = os.getloadavg()
    cpu_start, db_cpu_start = _children_cpu(), db_cpu()
    with gunicorn(url, workdir, args.workers, args.threads) as base:
        warm_up(base, plan, args.workers)
        print(f"  {engine_name}: {args.users} users for {args.duration} s on {base}", file=sys.stderr)
        cpu_before_locust = _children_cpu()
        data = run_locust(base, plan_path, workdir, args)
        locust_cpu = _children_cpu() - cpu_before_locust
        load_after = os.getloadavg()
    server_cpu = _children_cpu() - cpu_start - locust_cpu  # gunicorn and its workers, once stopped
    time.sleep(1)  # the database sessions of the workers end
    database_cpu = db_cpu() - db_cpu_start
    samples, spawned_at = data["samples"], data["spawned_at"]
    if not samples or spawned_at is None:
        raise RuntimeError(f"{engine_name}: no request was made, or the users did not all start")
    steady = [s for s in samples if s[4] >= spawned_at]
    ramp = [s for s in samples if s[4] < spawned_at]
    window = max(s[4] for s in samples) - spawned_at
    return {
        "records": plan["records"],
        "copies": plan["copies"],
        "memberships": plan["memberships"],
        "batch_sizes": plan["batch_sizes"],
        "shipments": sum(len(o["shipments"]) for o in plan["operators"]),
        "confirmed": _confirmed(url),
        "load_before": load_before,
        "load_after": load_after,
        "cpu": {"gunicorn_s": server_cpu, "locust_s": locust_cpu, "database_s": database_cpu},
        "rows": summarise(steady, window),
        "ramp": summarise(ramp, max(1.0, spawned_at - min(s[4] for s in samples)))["all"] if ramp else None,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Serve the app with gunicorn on each engine and load it with locust; print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=250_000, help="records (copies are twice as many)")
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated users")
    parser.add_argument("--duration", type=int, default=60, help="seconds of load")
    parser.add_argument(
        "--spawn-rate", type=float, default=5, help="users started (and signed in) per second"
    )
    parser.add_argument("--wait", default="1,3", help="think time between a user's requests, min,max seconds")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--engines", default="postgresql,sqlite")
    parser.add_argument("--points", type=int, default=20, help="rotation points, one operator account each")
    parser.add_argument("--staff", type=int, default=10, help="rotation staff accounts")
    parser.add_argument("--staff-users", type=int, default=10, help="simulated staff among --users")
    parser.add_argument("--operators", type=int, default=10, help="simulated point operators among --users")
    parser.add_argument("--shipments-per-point", type=int, default=4, help="shipments waiting at each point")
    parser.add_argument("--extra-batches", type=int, default=20, help="batches at the library (not shipped)")
    parser.add_argument("--closed-batches", type=int, default=200, help="past batches of 250 copies")
    parser.add_argument("--open-batches", type=int, default=80, help="batches out at points, 250 copies")
    parser.add_argument("--queries", type=int, default=1000, help="distinct catalogue queries")
    parser.add_argument("--json", dest="json_path", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)
    engines = [e for e in args.engines.split(",") if e]
    if not (VENV_BIN / "locust").exists() or not (VENV_BIN / "gunicorn").exists():
        raise RuntimeError("locust or gunicorn is missing: .venv/bin/pip install -e '.[bench]' (make venv)")
    from bench import rotation_bench, search_bench

    source = rotation_bench.catalogue(args.records)  # cached; built only the first time
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-ups on SIGTERM
    results: dict[str, Any] = {}
    try:
        for engine_name in engines:
            print(f"  load bench on {engine_name}", file=sys.stderr)
            workdir = Path(tempfile.mkdtemp(prefix=f"tramsach-load-{engine_name}-"))
            try:
                if engine_name == "sqlite":
                    target = workdir / "load.sqlite"
                    shutil.copyfile(source, target)
                    results[engine_name] = run_engine(
                        engine_name, f"sqlite:///{target}", source, args, workdir
                    )
                else:
                    from tests import pg

                    with pg.running_server() as base_url:
                        url = pg.create_database(base_url, "bench_load")
                        search_bench.load_postgresql(source, url)
                        data_dir = pg.data_directory(base_url)
                        results[engine_name] = run_engine(
                            engine_name, url, source, args, workdir, db_cpu=lambda d=data_dir: postgres_cpu(d)
                        )
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    print(render(results, args))
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(results, indent=1))
    return results


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    """Return the results as markdown: the set-up, then a table per engine."""
    first = next(iter(results.values()), None)
    lines = []
    if first:
        lines += [
            f"### Load: {first['records']:,} records, {first['copies']:,} copies, "
            f"{first['memberships']:,} batch memberships; {args.users} users for {args.duration} s "
            f"(after a {_ramp(args)} s ramp-up)",
            "",
            f"gunicorn {args.workers} workers × {args.threads} threads (gthread), production configuration; "
            f"locust {args.users} users ({min(args.staff_users, args.users // 3)} staff, "
            f"{min(args.operators, args.points, args.users // 3)} point operators, the others readers), "
            f"think time {args.wait.replace(',', '–')} s; batches of {first['batch_sizes']} copies.",
        ]
    for engine_name, res in results.items():
        rows = res["rows"]
        total, ramp = rows["all"], res["ramp"]
        ramp_failures = ramp["failures"] if ramp else 0
        verdict = (
            "met"
            if total["failures"] + ramp_failures == 0 and total["p95_ms"] <= P95_TARGET_MS
            else "NOT met"
        )
        lines += [
            "",
            f"**{engine_name}**, with all users running: {total['requests']:,} requests, "
            f"{total['failures']} failures, "
            f"{total['req_s']:.1f} req/s; receipts confirmed {res['confirmed']} of {res['shipments']}; "
            "load average (1 min) before "
            f"{res['load_before'][0]:.2f}, at the end {res['load_after'][0]:.2f}; "
            f"target 0 errors and p95 ≤ {P95_TARGET_MS:.0f} ms: {verdict}."
            + (
                f" Before that, while the users started and signed in: {ramp['requests']} requests, "
                f"{ramp['failures']} failures, p95 {ramp['p95_ms']:.0f} ms."
                if ramp
                else ""
            ),
            "",
            "| request | requests | failures | req/s | median ms | p95 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, s in rows.items():
            label = "**all**" if name == "all" else name
            lines.append(
                f"| {label} | {s['requests']} | {s['failures']} | {s['req_s']:.1f} | {s['median_ms']:.0f} | "
                f"{s['p95_ms']:.0f} | {s['p99_ms']:.0f} | {s['max_ms']:.0f} |"
            )
        cpu = res["cpu"]
        lines += [
            "",
            f"CPU time: gunicorn and its {args.workers} workers {cpu['gunicorn_s']:.0f} s (their start-up "
            f"and the warm-up included), "
            + (f"PostgreSQL {cpu['database_s']:.0f} s, " if cpu["database_s"] else "")
            + f"locust {cpu['locust_s']:.0f} s, over a {_ramp(args) + args.duration} s run on "
            f"{os.cpu_count()} cores.",
        ]
        failures = sorted({f for s in [*rows.values(), ramp or {}] for f in s.get("first_failures", [])})
        if failures:
            lines += ["", "First failures: " + "; ".join(f"`{f[:160]}`" for f in failures[:5])]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
