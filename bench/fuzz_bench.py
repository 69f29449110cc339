"""Fuzzing at scale: many mutated MARC files and random site CSVs through the real import paths.

The same properties as tests/fuzz (tests/fuzz/harness.py), on many more inputs than the test run:
each mutated MARC input (a real file of tests/data/marc damaged by 1–4 operators of
tests/fuzz/mutators.py) is staged; every `--commit-every`-th one is also committed (and every
`--fault-every`-th commit fails on purpose at its first bulk insert and must leave every table as it
was). Each random sites CSV goes through app.network.services.import_sites. A crash is any exception
other than the documented ones (marc.MarcFileError; DomainError for CSV); a violation is a broken
property (AssertionError). Both must be 0. Failing inputs are listed with their seed and operators,
so `tests.fuzz.mutators.mutate(seeds()[name], ops)` reproduces them.

`python -m bench.fuzz_bench [--marc 20000] [--csv 5000] [--seed 1]`; `main()` returns the numbers.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

QUICK_ARGV = ["--marc", "400", "--csv", "300"]
_NASTY = [
    "\x00",
    "\x1f",
    "\u200f",
    "\u202e",
    "\ufeff",
    "Nguye\u0302\u0303n",
    "Lê Thị Ằ",
    '"',
    "=1+1",
    "\r\n",
    ";",
    ",",
    "\t",
    "9" * 40,
    "-1",
    "x" * 5000,
]


def _app(db_path: Path):
    from flask_migrate import upgrade

    from app.factory import create_app

    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}"})
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
    return app


def _random_text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randint(0, 6)):
        if rng.random() < 0.4:
            parts.append(rng.choice(_NASTY))
        else:
            parts.append("".join(chr(rng.randrange(0x20, 0x2FF)) for _ in range(rng.randint(0, 12))))
    return "".join(parts)


def fuzz_marc(session, n: int, rng: random.Random, commit_every: int, fault_every: int) -> dict:
    """Stage (and every k-th time commit) n mutated MARC inputs; return the counts."""
    from catalog import importing
    from tests.fuzz import harness
    from tests.fuzz import mutators as m

    seeds = m.seeds()
    names = sorted(seeds)
    stats = {"inputs": 0, "file_errors": 0, "staged": 0, "committed": 0, "faults_injected": 0}
    stats |= {"records_read": 0, "records_rejected": 0, "records_created": 0, "crashes": 0, "violations": 0}
    failures: list[str] = []
    for i in range(n):
        name = rng.choice(names)
        ops = m.random_ops(rng, seeds[name], rng.randint(1, 4))
        try:
            data = m.mutate(seeds[name], ops)
        except Exception:  # noqa: BLE001 - a bug of the fuzzer, not of the app: shown, not counted
            traceback.print_exc(limit=-2, file=sys.stderr)
            continue
        stats["inputs"] += 1
        try:
            if i % commit_every == 0:
                fault = 1 if (i // commit_every) % fault_every == fault_every - 1 else None
                outcome = harness.stage_then_commit(
                    session, data, on_duplicate=rng.choice(importing.ON_DUPLICATE), fail_at_insert=fault
                )
                stats["committed"] += outcome.status == "imported"
                stats["faults_injected"] += outcome.status == "failed_on_purpose"
            else:
                outcome = _stage_only(session, data)
            if outcome.status == "file_error":
                stats["file_errors"] += 1
            elif outcome.report is not None:
                stats["staged"] += 1
                stats["records_read"] += outcome.report.read
                stats["records_rejected"] += outcome.report.rejected
                stats["records_created"] += outcome.report.created
        except AssertionError as exc:
            session.rollback()
            stats["violations"] += 1
            failures.append(f"violation {name} {ops}: {str(exc)[:200]}")
        except Exception as exc:  # noqa: BLE001 - counting crashes is the point
            session.rollback()
            stats["crashes"] += 1
            failures.append(f"crash {name} {ops}: {type(exc).__name__}: {exc}"[:400])
            traceback.print_exc(limit=-3, file=sys.stderr)
    stats["failures"] = failures[:20]
    return stats


def _stage_only(session, data: bytes):
    from catalog import importing, marc
    from tests.fuzz import harness

    try:
        report = importing.stage(session, data)
    except marc.MarcFileError as exc:
        session.rollback()
        assert str(exc).strip()
        return harness.Outcome("file_error", error=str(exc))
    session.rollback()
    harness.check_report(report)
    return harness.Outcome("staged", report=report)


def fuzz_csv(session, n: int, rng: random.Random) -> dict:
    """Import n random sites CSVs; a file is imported whole, or refused with nothing written."""
    from app.errors import DomainError
    from app.network import csvio
    from app.network import services as network
    from tests.fuzz import harness

    stats = {"inputs": 0, "refused": 0, "imported": 0, "sites_created": 0, "crashes": 0, "violations": 0}
    failures: list[str] = []
    for _ in range(n):
        sep = rng.choice([",", ";", "\t"])
        header = rng.choice([list(csvio.COLUMNS), ["code", "name", "kind"], None])
        if header is None:
            header = [_random_text(rng) for _ in range(rng.randint(0, 5))]
        rows = []
        for _ in range(rng.randint(0, 6)):
            cells = [_random_text(rng) for _ in range(len(header) + rng.randint(-2, 2))]
            if cells and rng.random() < 0.5:
                cells[0] = f"F{rng.randrange(10**6)}"
                if len(cells) > 2:
                    cells[2] = rng.choice(["bdvhx", "post_culture_point", "thư viện huyện", cells[2]])
            rows.append(cells)
        text = "\n".join(sep.join(cells) for cells in [header, *rows])
        data = text.encode(rng.choice(["utf-8", "utf-8-sig", "utf-16", "cp1258"]), errors="replace")
        stats["inputs"] += 1
        before = harness.table_counts(session)
        session.rollback()
        try:
            try:
                report = network.import_sites(session, data, skip_bad=rng.random() < 0.5, actor_id=None)
                session.commit()
            except DomainError:
                session.rollback()
                assert harness.table_counts(session) == before, "a refused file wrote rows"
                session.rollback()
                stats["refused"] += 1
                continue
            after = harness.table_counts(session)
            session.rollback()
            assert after["sites"] - before["sites"] == report.created
            stats["imported"] += 1
            stats["sites_created"] += report.created
        except AssertionError as exc:
            session.rollback()
            stats["violations"] += 1
            failures.append(f"violation: {exc} in {data[:200]!r}")
        except Exception as exc:  # noqa: BLE001
            session.rollback()
            stats["crashes"] += 1
            failures.append(f"crash {type(exc).__name__}: {exc} in {data[:200]!r}"[:400])
    stats["failures"] = failures[:20]
    return stats


def main(argv: list[str] | None = None) -> dict:
    """Run the fuzzers and print a markdown table; return the numbers."""
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--marc", type=int, default=20_000, help="mutated MARC inputs (default 20,000)")
    parser.add_argument("--csv", type=int, default=5_000, help="random site CSV files (default 5,000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--commit-every", type=int, default=4, help="commit every k-th MARC input")
    parser.add_argument("--fault-every", type=int, default=5, help="every k-th commit fails on purpose")
    args = parser.parse_args(argv)
    from sqlalchemy.orm import Session

    from app.extensions import db

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="tramsach-fuzz-") as tmp:
        app = _app(Path(tmp) / "fuzz.db")
        with app.app_context(), Session(db.engine) as session:
            started = time.perf_counter()
            marc_stats = fuzz_marc(session, args.marc, rng, args.commit_every, args.fault_every)
            marc_seconds = time.perf_counter() - started
            started = time.perf_counter()
            csv_stats = fuzz_csv(session, args.csv, rng)
            csv_seconds = time.perf_counter() - started
        with app.app_context():
            db.engine.dispose()
    print(f"Seed {args.seed}; MARC: every {args.commit_every}th input committed, every {args.fault_every}th")
    print("commit failing on purpose at its first insert. SQLite.\n")
    print(
        "| fuzzer | inputs | refused as a file | accepted | records read | rejected | created | crashes |"
        " violations | seconds |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| MARC (stage, commit) | {marc_stats['inputs']:,} | {marc_stats['file_errors']:,} | "
        f"{marc_stats['staged']:,} | {marc_stats['records_read']:,} | {marc_stats['records_rejected']:,} | "
        f"{marc_stats['records_created']:,} | {marc_stats['crashes']} | {marc_stats['violations']} | "
        f"{marc_seconds:.0f} |"
    )
    print(
        f"| sites CSV | {csv_stats['inputs']:,} | {csv_stats['refused']:,} | {csv_stats['imported']:,} | "
        f"– | – | {csv_stats['sites_created']:,} | {csv_stats['crashes']} | {csv_stats['violations']} | "
        f"{csv_seconds:.0f} |"
    )
    print(
        f"\nMARC commits: {marc_stats['committed']:,} imported, {marc_stats['faults_injected']:,} failed on "
        "purpose (all rolled back to the same row counts)."
    )
    for line in marc_stats["failures"] + csv_stats["failures"]:
        print(f"- {line}")
    return {"marc": marc_stats, "csv": csv_stats, "marc_seconds": marc_seconds, "csv_seconds": csv_seconds}


if __name__ == "__main__":
    result = main()
    sys.exit(
        1
        if result["marc"]["crashes"]
        + result["marc"]["violations"]
        + result["csv"]["crashes"]
        + result["csv"]["violations"]
        else 0
    )
