"""Rotation plan speed: 300 points, 80 batches, 12 periods solved by rotation.planning, every rule checked.

Instances: several random ones (points spread over 12 districts, random capacities, priorities, school
holidays, histories and batches already out), and a realistic Sơn La one: 12 districts with points
spread unevenly (schools closed in June–August, Post-Culture points, commune libraries, border-guard
posts first in line), batches of 150–300 copies whose titles come in 3 copies spread over sibling
batches, last year's plan as history, most batches still out at points, repeated titles avoided. The
realistic one is also solved with 3-month stays (Bình Định's practice), by quarter, and with pins.

Each instance is solved --repeat times; the table gives the median and the slowest solve, the share of
point-periods served (of all, and of those the point is open), stays, trips and the violations
`check()` finds (must be 0). The ceiling for "served" is batches x periods / (points x periods).

    .venv/bin/python -m bench.planning_bench [--points 300] [--batches 80] [--periods 12]
        [--seeds 5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from typing import Any

from rotation.planning import (
    Batch,
    PlanInputs,
    PlanSettings,
    Point,
    Received,
    check,
    served_fraction,
    solve,
)

QUICK_ARGV = ["--seeds", "2", "--repeat", "1"]
LIMIT_SECONDS = 2.0

# District-level units of Sơn La before 2025, with an uneven share of the points.
DISTRICTS = {
    "Thành phố Sơn La": 38,
    "Mai Sơn": 36,
    "Thuận Châu": 34,
    "Mộc Châu": 30,
    "Sông Mã": 28,
    "Yên Châu": 24,
    "Phù Yên": 24,
    "Mường La": 22,
    "Bắc Yên": 18,
    "Quỳnh Nhai": 16,
    "Vân Hồ": 16,
    "Sốp Cộp": 14,
}
REMOTE = {"Sốp Cộp", "Quỳnh Nhai", "Bắc Yên", "Mường La", "Vân Hồ"}


def random_instance(seed: int, n_points: int, n_batches: int, periods: int) -> PlanInputs:
    """Return a random instance: anything goes within the input rules."""
    rng = random.Random(seed)
    districts = list(DISTRICTS)
    batch_ids = [f"LC-2026-{i:04d}" for i in range(1, n_batches + 1)]
    points = []
    for i in range(n_points):
        holiday = rng.choice([(), (), (6, 7), (6, 7, 8), (1,)])
        history = tuple(
            Received(rng.choice(batch_ids), start, min(start + rng.randint(0, 5), 0))
            for start in sorted(rng.sample(range(-11, 1), rng.randint(0, 2)))
        )
        points.append(
            Point(
                f"D{i:03d}",
                rng.choice(districts),
                rng.randint(120, 400),
                rng.randint(0, 3),
                frozenset(p for p in holiday if p <= periods),
                history,
            )
        )
    at = rng.sample(range(n_points), n_batches // 2)
    batches = []
    for i, batch_id in enumerate(batch_ids):
        current = points[at[i]].id if i < len(at) else None
        batches.append(
            Batch(
                batch_id,
                rng.randint(150, 300),
                frozenset(),
                "Thư viện tỉnh",
                rng.choice([1, 1, 1, 2, 3]),
                current,
            )
        )
    settings = PlanSettings(periods=periods, no_repeat_batch_within=rng.choice([None, 6]))
    return PlanInputs(tuple(points), tuple(batches), settings)


def realistic_instance(
    seed: int, n_points: int, n_batches: int, periods: int, period_months: int = 1, stay: int | None = None
) -> PlanInputs:
    """Return the Sơn La instance described in the module docstring."""
    rng = random.Random(seed)
    scale = n_points / sum(DISTRICTS.values())
    per_district = {d: max(1, round(n * scale)) for d, n in DISTRICTS.items()}
    # Batches in families of 4: each title has 3 copies, in 3 of the family's 4 batches.
    batches_titles: list[set[int]] = [set() for _ in range(n_batches)]
    title = 0
    for family in range(0, n_batches, 4):
        members = list(range(family, min(family + 4, n_batches)))
        for _ in range(233):
            for b in rng.sample(members, min(3, len(members))):
                batches_titles[b].add(title)
            title += 1
    batch_ids = [f"LC-2025-{i:04d}" for i in range(1, n_batches + 1)]
    holiday_months = {6, 7, 8}
    # Schools close in June–August: a period is closed when most of its months are.
    holidays = frozenset(
        p
        for p in range(1, periods + 1)
        if 2 * len(set(range((p - 1) * period_months + 1, p * period_months + 1)) & holiday_months)
        > period_months
    )
    points = []
    for district, count in per_district.items():
        for k in range(count):
            kind = rng.choices(["school", "post", "library", "border"], [40, 45, 10, 5])[0]
            remote = district in REMOTE
            if kind == "school":
                capacity, priority, closed = rng.randint(200, 400), 1, holidays
            elif kind == "post":
                capacity, priority, closed = rng.randint(150, 250), 2 if remote else 0, frozenset()
            elif kind == "library":
                capacity, priority, closed = rng.randint(250, 400), 1, frozenset()
            else:
                capacity, priority, closed = rng.randint(150, 200), 3, frozenset()
            points.append(
                Point(f"{district[:3].upper()}-{kind}-{k:02d}", district, capacity, priority, closed)
            )
    points = points[:n_points]
    # Last year's plan as history: two 6-month rounds, the second still out at the points.
    first = rng.sample(range(len(points)), min(n_batches, len(points)))
    second = rng.sample(range(len(points)), min(n_batches, len(points)))
    history: dict[int, list[Received]] = {i: [] for i in range(len(points))}
    for b, x in enumerate(first):
        history[x].append(Received(batch_ids[b], -11, -6))
    out_at: dict[int, str] = {}
    for b, x in enumerate(second):
        arrived = rng.choice([-5, -4, -3, -2])
        if not points[x].unavailable_periods and points[x].capacity >= 150 and b % 4 != 3:
            history[x].append(Received(batch_ids[b], arrived))
            out_at[b] = points[x].id
    points = [
        Point(p.id, p.district, p.capacity, p.priority, p.unavailable_periods, tuple(history[i]))
        for i, p in enumerate(points)
    ]
    batches = tuple(
        Batch(
            batch_ids[b],
            rng.randint(150, 300),
            frozenset(batches_titles[b]),
            "Thư viện tỉnh Sơn La",
            1 if b in out_at or b % 8 else 3,  # a few new batches are still being assembled
            out_at.get(b),
        )
        for b in range(n_batches)
    )
    settings = PlanSettings(
        periods=periods, period_months=period_months, stay_periods=stay, avoid_repeat_titles=True
    )
    return PlanInputs(tuple(points), batches, settings)


def measure(name: str, inputs: PlanInputs, repeat: int) -> dict[str, Any]:
    """Solve the instance `repeat` times; return the timings and what the plan achieves."""
    timings = []
    plan = None
    for _ in range(repeat):
        started = time.perf_counter()
        plan = solve(inputs)
        timings.append(time.perf_counter() - started)
    assert plan is not None
    started = time.perf_counter()
    violations = check(plan, inputs)
    check_seconds = time.perf_counter() - started
    served_all, served_open = served_fraction(plan, inputs)
    settings = inputs.settings
    return {
        "instance": name,
        "points": len(inputs.points),
        "batches": len(inputs.batches),
        "periods": settings.periods,
        "stay_months": settings.stay * settings.period_months,
        "median_s": statistics.median(timings),
        "max_s": max(timings),
        "check_s": check_seconds,
        "served_all": served_all,
        "served_open": served_open,
        "ceiling": min(1.0, len(inputs.batches) / len(inputs.points)) if inputs.points else 1.0,
        "stays": len(plan.assignments),
        "trips": len(plan.trips),
        "violations": len(violations),
        "unassigned": dict(sorted(Counter(str(u.reason) for u in plan.unassigned).items())),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the instances, print a markdown table, and return the numbers."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.planning_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--batches", type=int, default=80)
    parser.add_argument("--periods", type=int, default=12)
    parser.add_argument("--seeds", type=int, default=5, help="random instances")
    parser.add_argument("--repeat", type=int, default=5, help="solves per instance")
    args = parser.parse_args(argv)
    n, b, p = args.points, args.batches, args.periods

    cases: list[tuple[str, PlanInputs]] = [
        (f"random, seed {seed}", random_instance(seed, n, b, p)) for seed in range(1, args.seeds + 1)
    ]
    cases.append(("Sơn La, monthly, 6-month stays", realistic_instance(1, n, b, p)))
    cases.append(("Sơn La, monthly, 3-month stays", realistic_instance(1, n, b, p, stay=3)))
    quarters = max(1, p // 3)
    cases.append((f"Sơn La, {quarters} quarters, 2-quarter stays", realistic_instance(1, n, b, quarters, 3)))
    base = realistic_instance(1, n, b, p, stay=3)
    pins = solve(base).assignments[::15]
    pinned = PlanInputs(base.points, base.batches, base.settings, pins)
    cases.append((f"Sơn La, 3-month stays, {len(pins)} pins", pinned))

    rows = [measure(name, inputs, args.repeat) for name, inputs in cases]
    print(
        f"Rotation plan: solve() {args.repeat}x per instance, then check(); limit {LIMIT_SECONDS:.0f} s "
        "with every rule holding.\n"
    )
    print(
        "| instance | points | batches | periods | stay | solve median | slowest | check | served (all) "
        "| served (open) | ceiling | stays | trips | violations |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['instance']} | {r['points']} | {r['batches']} | {r['periods']} | {r['stay_months']} mo "
            f"| {r['median_s'] * 1000:.0f} ms | {r['max_s'] * 1000:.0f} ms | {r['check_s'] * 1000:.0f} ms "
            f"| {r['served_all']:.1%} | {r['served_open']:.1%} | {r['ceiling']:.1%} | {r['stays']} "
            f"| {r['trips']} | {r['violations']} |"
        )
    print("\nEmpty point-periods by reason:\n")
    print("| instance | " + " | ".join(REASONS) + " |")
    print("|---|" + "---:|" * len(REASONS))
    for r in rows:
        print(f"| {r['instance']} | " + " | ".join(str(r["unassigned"].get(k, 0)) for k in REASONS) + " |")
    slowest = max(r["max_s"] for r in rows)
    ok = slowest <= LIMIT_SECONDS and all(r["violations"] == 0 for r in rows)
    verdict = "meets" if ok else "MISSES"
    target = f"≤ {LIMIT_SECONDS:.0f} s, no violation"
    print(f"\nSlowest solve {slowest * 1000:.0f} ms: {verdict} the target ({target}).")
    return {"rows": rows, "slowest_s": slowest, "ok": ok}


REASONS = ("unavailable", "capacity", "repeat", "not-yet-available", "no-batch-free")

if __name__ == "__main__":
    main()
