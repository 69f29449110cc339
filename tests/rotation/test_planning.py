"""The rotation solver and checker: every rule holds on every plan, broken pins are reported, unit cases."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rotation.planning import (
    Assignment,
    Batch,
    Constraint,
    Plan,
    PlanInputs,
    PlanSettings,
    Point,
    Reason,
    Received,
    check,
    served_fraction,
    solve,
    stays_from_grid,
    trips_for,
)

ROOT = Path(__file__).resolve().parents[2]
PROPERTY = settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
TITLES = range(12)


# --- random instances -----------------------------------------------------------------------------


@st.composite
def plan_settings(draw) -> PlanSettings:
    months = draw(st.sampled_from([1, 1, 3]))
    periods = draw(st.integers(1, 12 if months == 1 else 4))
    longest = 6 // months
    return PlanSettings(
        periods=periods,
        period_months=months,
        stay_periods=draw(st.one_of(st.none(), st.integers(1, longest))),
        no_repeat_batch_within=draw(st.one_of(st.none(), st.integers(0, 6))),
        avoid_repeat_titles=draw(st.booleans()),
        group_by_district=draw(st.booleans()),
    )


@st.composite
def instances(draw) -> PlanInputs:
    plan = draw(plan_settings())
    n_points = draw(st.integers(1, 9))
    n_batches = draw(st.integers(0, 7))
    batch_ids = [f"B{i}" for i in range(n_batches)]
    point_ids = [f"P{i}" for i in range(n_points)]
    titles = st.frozensets(st.sampled_from(TITLES), max_size=4)
    points = []
    for point_id in point_ids:
        history = []
        for _ in range(draw(st.integers(0, 3))):
            start = draw(st.integers(-6, 0))
            history.append(
                Received(
                    draw(st.sampled_from([*batch_ids, "OLD"])),
                    start,
                    draw(st.one_of(st.none(), st.integers(start, 0))),
                    draw(titles),
                )
            )
        points.append(
            Point(
                point_id,
                draw(st.sampled_from(["Mai Sơn", "Sông Mã", "Mộc Châu"])),
                draw(st.sampled_from([100, 150, 200, 300])),
                draw(st.integers(0, 3)),
                draw(st.frozensets(st.integers(1, plan.periods), max_size=plan.periods // 2)),
                tuple(history),
            )
        )
    batches = [
        Batch(
            batch_id,
            draw(st.sampled_from([100, 150, 200, 250])),
            draw(titles),
            "Thư viện tỉnh",
            draw(st.integers(1, plan.periods + 1)),
            draw(st.one_of(st.none(), st.sampled_from(point_ids))),
        )
        for batch_id in batch_ids
    ]
    return PlanInputs(tuple(points), tuple(batches), plan)


def any_pins(inputs: PlanInputs) -> st.SearchStrategy[list[Assignment]]:
    """Pins chosen without regard to the rules: unknown ids, periods outside the plan, clashes."""
    top = inputs.settings.periods
    pin = st.builds(
        Assignment,
        st.sampled_from([p.id for p in inputs.points] + ["GHOST"]),
        st.sampled_from([b.id for b in inputs.batches] + ["LOST"]),
        st.integers(0, top + 1),
        st.integers(0, top + 1),
    )
    return st.lists(pin, max_size=4)


def with_pins(inputs: PlanInputs, pins) -> PlanInputs:
    return PlanInputs(inputs.points, inputs.batches, inputs.settings, tuple(pins))


# --- properties -----------------------------------------------------------------------------------


@PROPERTY
@given(instances())
def test_every_rule_holds_on_every_plan(inputs):
    plan = solve(inputs)
    assert check(plan, inputs) == []
    assert plan.problems == ()
    cells = plan.cells()
    open_cells = {(u.point_id, u.period) for u in plan.unassigned}
    every = {(p.id, period) for p in inputs.points for period in range(1, inputs.settings.periods + 1)}
    assert open_cells.isdisjoint(cells) and open_cells | set(cells) == every


@PROPERTY
@given(instances(), st.data())
def test_valid_pins_are_kept_and_every_rule_still_holds(inputs, data):
    free = solve(inputs)
    pins = data.draw(
        st.lists(st.sampled_from(free.assignments), unique=True) if free.assignments else st.just([])
    )
    pinned = with_pins(inputs, pins)
    plan = solve(pinned)
    assert set(pins) <= set(plan.assignments)
    assert check(plan, pinned) == []


@PROPERTY
@given(instances(), st.data())
def test_broken_pins_are_kept_and_reported_and_the_solver_adds_no_violation(inputs, data):
    pinned = with_pins(inputs, data.draw(any_pins(inputs)))
    plan = solve(pinned)
    assert set(pinned.fixed) <= set(plan.assignments)
    assert plan.problems == tuple(check(plan, pinned))
    assert set(plan.problems) == set(check(pinned.fixed, pinned))


@PROPERTY
@given(instances())
def test_same_input_same_plan(inputs):
    assert solve(inputs) == solve(inputs)


def test_the_plan_does_not_depend_on_hash_seeds():
    script = textwrap.dedent(
        """
        from rotation.planning import Batch, PlanInputs, PlanSettings, Point, Received, solve
        points = [Point(f"P{i}", "ABC"[i % 3], 300, i % 2, frozenset({4}) if i % 4 == 0 else frozenset(),
                        (Received(f"B{i % 5}", -2, 0, frozenset({f"t{i}", "t0"})),)) for i in range(12)]
        batches = [Batch(f"B{i}", 200, frozenset({f"t{i}", f"t{i + 1}", "t0"})) for i in range(5)]
        print(repr(solve(PlanInputs(points, batches, PlanSettings(periods=8, stay_periods=2,
              avoid_repeat_titles=True, no_repeat_batch_within=2)))))
        """
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


# --- the checker, one rule at a time --------------------------------------------------------------


def tiny(points=None, batches=None, fixed=(), **plan_settings) -> PlanInputs:
    points = points or [Point("P1", "Mai Sơn", 300), Point("P2", "Mai Sơn", 300)]
    batches = batches or [
        Batch("B1", 200, frozenset({"t1", "t2"})),
        Batch("B2", 200, frozenset({"t2", "t3"})),
    ]
    return PlanInputs(tuple(points), tuple(batches), PlanSettings(**plan_settings), tuple(fixed))


def constraints(violations) -> list[Constraint]:
    return [v.constraint for v in violations]


def test_a_valid_hand_made_plan_has_no_violations():
    inputs = tiny(periods=4, stay_periods=2)
    stays = [Assignment("P1", "B1", 1, 2), Assignment("P2", "B2", 1, 2), Assignment("P1", "B2", 3, 4)]
    assert check(stays, inputs) == []


def test_a_batch_at_two_points_at_once():
    inputs = tiny(periods=4)
    [violation] = check([Assignment("P1", "B1", 1, 2), Assignment("P2", "B1", 2, 3)], inputs)
    assert violation.constraint is Constraint.BATCH_ONE_PLACE
    assert (violation.point_id, violation.batch_id, violation.period) == ("P2", "B1", 2)
    assert violation.message == "batch 'B1' is at points 'P1' and 'P2' in period 2"


def test_a_point_with_two_batches_at_once():
    inputs = tiny(periods=4)
    [violation] = check([Assignment("P1", "B1", 1, 3), Assignment("P1", "B2", 3, 4)], inputs)
    assert violation.constraint is Constraint.POINT_ONE_BATCH
    assert violation.message == "point 'P1' holds batches 'B1' and 'B2' in period 3"


def test_the_same_batch_straight_again_is_not_a_rotation():
    inputs = tiny(periods=4, no_repeat_batch_within=0)
    [violation] = check([Assignment("P1", "B1", 1, 2), Assignment("P1", "B1", 3, 4)], inputs)
    assert violation.constraint is Constraint.SAME_BATCH_AGAIN
    assert check([Assignment("P1", "B1", 1, 1), Assignment("P1", "B1", 3, 4)], inputs) == []


def test_a_batch_the_point_had_recently_counts_history():
    history = (Received("B1", -3, -2),)
    inputs = tiny(points=[Point("P1", "Mai Sơn", 300, history=history)], periods=6, no_repeat_batch_within=4)
    [violation] = check([Assignment("P1", "B1", 2, 3)], inputs)
    assert violation.constraint is Constraint.REPEAT_BATCH
    assert violation.message == (
        "point 'P1' gets batch 'B1' in period 2, 4 periods after holding it "
        "(period -2 (before the plan)); the rule is more than 4"
    )
    assert check([Assignment("P1", "B1", 3, 4)], inputs) == []


def test_titles_the_point_had_recently_only_with_the_option():
    stays = [Assignment("P1", "B1", 1, 2), Assignment("P1", "B2", 3, 4)]
    assert check(stays, tiny(periods=4)) == []
    [violation] = check(stays, tiny(periods=4, avoid_repeat_titles=True))
    assert violation.constraint is Constraint.REPEAT_TITLES
    assert (
        violation.message
        == "point 'P1' gets batch 'B2' in period 3 with 1 title(s) it had in batch 'B1' (period 2): 't2'"
    )


def test_no_stay_longer_than_six_months():
    inputs = tiny(periods=12)
    [violation] = check([Assignment("P1", "B1", 1, 7)], inputs)
    assert violation.constraint is Constraint.MAX_STAY
    assert "7 months (periods 1–7), more than 6" in violation.message
    quarters = tiny(periods=4, period_months=3)
    assert constraints(check([Assignment("P1", "B1", 1, 3)], quarters)) == [Constraint.MAX_STAY]
    assert check([Assignment("P1", "B1", 1, 2)], quarters) == []


def test_a_continued_stay_counts_from_its_arrival():
    points = [Point("P1", "Mai Sơn", 300, history=(Received("B1", -3),))]
    batches = [Batch("B1", 200, current_point="P1")]
    inputs = tiny(points=points, batches=batches, periods=6)
    assert check([Assignment("P1", "B1", 1, 2)], inputs) == []
    [violation] = check([Assignment("P1", "B1", 1, 3)], inputs)
    assert violation.constraint is Constraint.MAX_STAY
    assert "7 months (periods -3–3)" in violation.message


def test_capacity():
    inputs = tiny(points=[Point("P1", "Mai Sơn", 120)], periods=2)
    [violation] = check([Assignment("P1", "B1", 1, 2)], inputs)
    assert violation.constraint is Constraint.CAPACITY
    assert violation.message == "batch 'B1' has 200 copies, point 'P1' holds at most 120 (periods 1–2)"


def test_no_stay_over_a_holiday():
    inputs = tiny(points=[Point("P1", "Mai Sơn", 300, unavailable_periods=frozenset({6, 7, 8}))], periods=12)
    [violation] = check([Assignment("P1", "B1", 4, 6)], inputs)
    assert violation.constraint is Constraint.UNAVAILABLE
    assert violation.period == 6
    assert check([Assignment("P1", "B1", 1, 5), Assignment("P1", "B2", 9, 12)], inputs) == []


def test_pins_must_be_kept():
    pin = Assignment("P1", "B1", 1, 2)
    [violation] = check([Assignment("P1", "B1", 1, 3)], tiny(periods=4, fixed=[pin]))
    assert violation.constraint is Constraint.PIN_KEPT
    assert violation.message == "pinned stay of batch 'B1' at point 'P1', periods 1–2, is not in the plan"


def test_batches_move_only_once_available():
    inputs = tiny(batches=[Batch("B1", 200, available_from_period=3)], periods=4)
    [violation] = check([Assignment("P1", "B1", 2, 3)], inputs)
    assert violation.constraint is Constraint.NOT_YET_AVAILABLE
    assert check([Assignment("P1", "B1", 3, 4)], inputs) == []


def test_unknown_points_batches_and_periods():
    inputs = tiny(periods=4)
    found = check(
        [Assignment("P9", "B1", 1, 1), Assignment("P1", "B9", 1, 1), Assignment("P1", "B1", 3, 5)], inputs
    )
    assert constraints(found) == [Constraint.UNKNOWN] * 3
    assert [v.message for v in found] == [
        "unknown batch: batch 'B9' at point 'P1', periods 1–1",
        "unknown point: batch 'B1' at point 'P9', periods 1–1",
        "periods outside the plan (1–4): batch 'B1' at point 'P1', periods 3–5",
    ]


def test_a_hand_edited_grid():
    grid = {("P1", p): "B1" for p in range(1, 8)} | {("P2", 1): "B2", ("P2", 2): "B2", ("P2", 3): "B1"}
    stays = stays_from_grid(grid)
    assert sorted(stays, key=lambda a: (a.point_id, a.start_period)) == [
        Assignment("P1", "B1", 1, 7),
        Assignment("P2", "B2", 1, 2),
        Assignment("P2", "B1", 3, 3),
    ]
    assert constraints(check(stays, tiny(periods=12))) == [Constraint.BATCH_ONE_PLACE, Constraint.MAX_STAY]


# --- the solver on small cases --------------------------------------------------------------------


def test_a_small_network_rotates_every_batch_through_every_point():
    points = [Point(f"P{i}", "Mai Sơn", 300) for i in range(3)]
    batches = [Batch(f"B{i}", 200) for i in range(3)]
    inputs = PlanInputs(points, batches, PlanSettings(periods=6, stay_periods=2))
    plan = solve(inputs)
    assert plan.problems == () and plan.unassigned == ()
    for point in points:
        assert {a.batch_id for a in plan.assignments if a.point_id == point.id} == {"B0", "B1", "B2"}
    assert [(t.period, t.district, len(t.stops)) for t in plan.trips] == [
        (1, "Mai Sơn", 3),
        (3, "Mai Sơn", 3),
        (5, "Mai Sơn", 3),
    ]
    assert served_fraction(plan, inputs) == (1.0, 1.0)


def test_a_point_too_small_for_every_batch():
    inputs = tiny(points=[Point("P1", "Mai Sơn", 120)], periods=2)
    plan = solve(inputs)
    assert plan.assignments == ()
    assert [(u.period, u.reason, u.message) for u in plan.unassigned] == [
        (1, Reason.CAPACITY, "no batch fits capacity 120 (smallest batch: 200 copies)"),
        (2, Reason.CAPACITY, "no batch fits capacity 120 (smallest batch: 200 copies)"),
    ]


def test_more_points_than_batches_serves_the_higher_priority_first():
    points = [Point("near", "Mai Sơn", 300, priority=0), Point("remote", "Sốp Cộp", 300, priority=2)]
    inputs = PlanInputs(points, [Batch("B1", 200)], PlanSettings(periods=6))
    plan = solve(inputs)
    assert plan.assignments == (Assignment("remote", "B1", 1, 6),)
    assert {u.reason for u in plan.unassigned} == {Reason.NO_BATCH_FREE}
    assert plan.unassigned[0].message == (
        "every batch that could go there is at another point in period 1 (more points than batches)"
    )


def test_no_batch_left_that_the_point_has_not_had():
    points = [Point("P1", "Mai Sơn", 300, history=(Received("B1", -1, 0),))]
    plan = solve(PlanInputs(points, [Batch("B1", 200)], PlanSettings(periods=3, no_repeat_batch_within=2)))
    assert plan.assignments == (Assignment("P1", "B1", 3, 3),)
    assert [(u.period, u.reason) for u in plan.unassigned] == [(1, Reason.REPEAT), (2, Reason.REPEAT)]
    assert plan.unassigned[0].message == "no batch left that the point has not had within 2 periods"


def test_a_school_gets_nothing_over_the_summer():
    school = Point("school", "Mai Sơn", 300, unavailable_periods=frozenset({6, 7, 8}))
    inputs = PlanInputs([school], [Batch("B1", 200), Batch("B2", 200)], PlanSettings(periods=12))
    plan = solve(inputs)
    assert plan.assignments == (Assignment("school", "B1", 1, 5), Assignment("school", "B2", 9, 12))
    assert [(u.period, u.reason) for u in plan.unassigned] == [(p, Reason.UNAVAILABLE) for p in (6, 7, 8)]


def test_a_batch_waits_until_it_is_available():
    inputs = tiny(
        points=[Point("P1", "Mai Sơn", 300)], batches=[Batch("B1", 200, available_from_period=3)], periods=4
    )
    plan = solve(inputs)
    assert plan.assignments == (Assignment("P1", "B1", 3, 4),)
    assert [u.reason for u in plan.unassigned] == [Reason.NOT_YET_AVAILABLE] * 2


def test_a_batch_already_out_finishes_its_stay_then_moves_on():
    points = [Point("P1", "Mai Sơn", 300, history=(Received("B1", -1),)), Point("P2", "Mai Sơn", 300)]
    inputs = PlanInputs(
        points, [Batch("B1", 200, current_point="P1")], PlanSettings(periods=6, stay_periods=3)
    )
    plan = solve(inputs)
    assert plan.assignments == (Assignment("P1", "B1", 1, 1), Assignment("P2", "B1", 2, 4))
    [trip] = [t for t in trips_for(plan.assignments, inputs) if t.period == 2]
    assert trip.stops[0].collected == ("B1",) and trip.stops[1].delivered == ("B1",)


def test_a_pin_that_breaks_a_rule_is_kept_and_reported():
    pin = Assignment("P1", "B1", 1, 8)
    inputs = tiny(points=[Point("P1", "Mai Sơn", 150)], periods=8, fixed=[pin])
    plan = solve(inputs)
    assert pin in plan.assignments
    assert constraints(plan.problems) == [Constraint.MAX_STAY, Constraint.CAPACITY]
    assert plan.problems[1].point_id == "P1" and plan.problems[1].period == 1


def test_the_solver_works_around_pins():
    inputs = tiny(periods=4, stay_periods=2, fixed=[Assignment("P1", "B1", 3, 4)])
    plan = solve(inputs)
    assert check(plan, inputs) == []
    assert Assignment("P1", "B1", 1, 2) not in plan.assignments


def test_batches_rotate_inside_their_district_first():
    points = [Point(f"{d}{i}", d, 300) for d in ("Mai Sơn", "Sông Mã") for i in range(2)]
    batches = [Batch(f"B{i}", 200) for i in range(4)]
    plan = solve(PlanInputs(points, batches, PlanSettings(periods=4, stay_periods=2)))
    moved = {a.batch_id: a.point_id for a in plan.assignments if a.start_period == 3}
    first = {a.batch_id: a.point_id for a in plan.assignments if a.start_period == 1}
    assert all(first[b][:-1] == moved[b][:-1] for b in moved)
    assert len(plan.trips) == 4


def test_settings_refuse_stays_longer_than_the_maximum():
    with pytest.raises(ValueError, match="breaks the maximum stay of 6 months"):
        PlanSettings(period_months=3, stay_periods=3)
    assert PlanSettings(period_months=3).stay == 2
    assert PlanSettings().stay == 6 and PlanSettings().repeat_window == 12


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match="listed twice"):
        solve(tiny(points=[Point("P1", "Mai Sơn", 300), Point("P1", "Mai Sơn", 300)]))


def test_an_empty_plan_is_a_plan():
    assert solve(PlanInputs((), (), PlanSettings())) == Plan((), (), (), ())
