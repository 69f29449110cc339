"""Rotation planning: which batch goes to which point in which period, and whether a plan keeps the rules.

Pure code (standard library only, no database, no Flask): the web grid, the CLI, the tests and the
benchmark build the plain dataclasses below and call `solve()` (make a plan) or `check()` (list what a
plan, hand-edited or not, breaks).

The model
- Periods are numbered 1..`PlanSettings.periods` (months, or quarters with `period_months=3`).
  History happened in periods <= 0 (period 0 is the one just before the plan).
- A plan is a list of stays, `Assignment(point_id, batch_id, start_period, end_period)`, both ends
  included. A batch moves from one point to the next at a period boundary (the trip that brings the
  new batch collects the old one, as Bình Định does), so a batch can end a stay in period p and start
  the next in p + 1.
- A batch whose `current_point` is set is at that point when the plan starts. A stay of that batch at
  that point starting in period 1 is the *continuation* of its current stay: it is not a new delivery,
  and its length counts from the arrival recorded in the point's history (the latest `Received` of
  that batch; without one, period 0 is assumed).

The rules `check()` enforces (the `Constraint` codes)
1. `batch-one-place`: a batch is at one point at a time.
2. `point-one-batch`: a point holds one batch at a time; `same-batch-again`: a stay is not followed
   straight away by a stay of the same batch at the same point (that is one long stay, not a rotation).
3. `repeat-batch`: a point does not get a batch it has had within `repeat_window` periods (counted
   from the last period it held it, history included); `repeat-titles` (option `avoid_repeat_titles`):
   nor a batch sharing a title with one it has had within that window.
4. `max-stay`: no stay is longer than `max_stay_months` (6, Circular 33/2018 Article 6).
5. `capacity`: a batch's size is at most the point's capacity.
6. `unavailable`: a stay may not include a period in which the point is unavailable (school holidays):
   the batch is not delivered in it, and is collected before it. A school closed in June–August gets a
   stay that ends in May and the next one from September.
7. `pin-kept`: assignments pinned by staff (`PlanInputs.fixed`) appear unchanged in the plan.
8. `not-yet-available`: a batch starts no new stay before its `available_from_period`.
Plus `unknown`: a stay names a point or batch that is not in the inputs, or periods outside the plan.

The solver (a heuristic, fast: 300 points, 80 batches, 12 periods in a fraction of a second)
- Pinned stays are kept exactly as given, even when they break a rule (the plan's `problems` then say
  which rule and where); the solver works around them and adds no violation of its own.
- Batches at a point continue their current stay until it reaches `stay_periods`.
- Then period by period, the free batches are matched to the free points: a maximum matching (Kuhn's
  augmenting paths) that takes points in order of priority (higher first), then fewest stays received
  in this plan, then (with `group_by_district`) districts that a trip already visits in that period,
  district by district, then longest wait. A point prefers a batch coming from its own district, then
  one it has had least often, then the longest possible stay. Each stay is as long as the rules allow,
  up to `stay_periods`; with `group_by_district` it may end earlier (never below half a standard
  stay) so that the batch is collected in a period when a trip visits the district anyway.
- Every point-period left empty gets a reason in `Plan.unassigned`; deliveries and collections are
  grouped into `Plan.trips`, one per district and period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

Id = str | int
_FAR = 10**9


class Constraint(StrEnum):
    """The rule a `Violation` breaks (numbers as in the module docstring)."""

    UNKNOWN = "unknown"
    BATCH_ONE_PLACE = "batch-one-place"
    POINT_ONE_BATCH = "point-one-batch"
    SAME_BATCH_AGAIN = "same-batch-again"
    REPEAT_BATCH = "repeat-batch"
    REPEAT_TITLES = "repeat-titles"
    MAX_STAY = "max-stay"
    CAPACITY = "capacity"
    UNAVAILABLE = "unavailable"
    PIN_KEPT = "pin-kept"
    NOT_YET_AVAILABLE = "not-yet-available"


class Reason(StrEnum):
    """Why a point has no batch in a period."""

    UNAVAILABLE = "unavailable"
    CAPACITY = "capacity"
    REPEAT = "repeat"
    NOT_YET_AVAILABLE = "not-yet-available"
    NO_BATCH_FREE = "no-batch-free"


@dataclass(frozen=True)
class Received:
    """A batch a point had before the plan: arrival period (<= 0), last period held, titles it carried.

    `until` defaults to the end of a standard stay (arrival + stay_periods - 1), but not past period 0.
    Empty `title_ids` means "the titles the batch holds now".
    """

    batch_id: Id
    period: int
    until: int | None = None
    title_ids: frozenset[Id] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "title_ids", frozenset(self.title_ids))


@dataclass(frozen=True)
class Point:
    """A rotation point: its district, how many copies it can hold, when it is closed, what it had."""

    id: Id
    district: str
    capacity: int
    priority: int = 0
    unavailable_periods: frozenset[int] = frozenset()
    history: tuple[Received, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "unavailable_periods", frozenset(self.unavailable_periods))
        object.__setattr__(self, "history", tuple(self.history))


@dataclass(frozen=True)
class Batch:
    """A batch of books: its size in copies, its titles, when it can start a stay, where it is now."""

    id: Id
    size: int
    title_ids: frozenset[Id] = frozenset()
    home_library: Id | None = None
    available_from_period: int = 1
    current_point: Id | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "title_ids", frozenset(self.title_ids))


@dataclass(frozen=True)
class PlanSettings:
    """How long the plan is, how long a batch stays, and which repeats to avoid."""

    periods: int = 12
    period_months: int = 1
    max_stay_months: int = 6
    stay_periods: int | None = None
    no_repeat_batch_within: int | None = None
    avoid_repeat_titles: bool = False
    group_by_district: bool = True

    def __post_init__(self) -> None:
        if self.periods < 1 or self.period_months < 1:
            raise ValueError("periods and period_months must be at least 1")
        if self.max_stay_months < self.period_months:
            raise ValueError(
                f"a period of {self.period_months} months is longer than the maximum stay "
                f"of {self.max_stay_months} months"
            )
        if self.stay_periods is not None and not (
            self.stay_periods >= 1 and self.stay_periods * self.period_months <= self.max_stay_months
        ):
            raise ValueError(
                f"stay_periods={self.stay_periods} of {self.period_months} month(s) breaks the maximum "
                f"stay of {self.max_stay_months} months"
            )
        if self.no_repeat_batch_within is not None and self.no_repeat_batch_within < 0:
            raise ValueError("no_repeat_batch_within must not be negative")

    @property
    def stay(self) -> int:
        """Return the periods a batch stays at a point: `stay_periods`, or the longest within the max."""
        return self.stay_periods or self.max_stay_months // self.period_months

    @property
    def repeat_window(self) -> int:
        """Return N, the periods within which a point must not get a batch again (default: 12 months)."""
        if self.no_repeat_batch_within is not None:
            return self.no_repeat_batch_within
        return max(1, 12 // self.period_months)


@dataclass(frozen=True)
class Assignment:
    """A stay: the batch is at the point from `start_period` to `end_period`, both included."""

    point_id: Id
    batch_id: Id
    start_period: int
    end_period: int


@dataclass(frozen=True)
class PlanInputs:
    """Everything the solver and the checker need: points, batches, settings and the pinned stays."""

    points: tuple[Point, ...]
    batches: tuple[Batch, ...]
    settings: PlanSettings = field(default_factory=PlanSettings)
    fixed: tuple[Assignment, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", tuple(self.points))
        object.__setattr__(self, "batches", tuple(self.batches))
        object.__setattr__(self, "fixed", tuple(self.fixed))


@dataclass(frozen=True)
class Violation:
    """A broken rule: which one, a sentence saying where, and the point, batch and period involved."""

    constraint: Constraint
    message: str
    point_id: Id | None = None
    batch_id: Id | None = None
    period: int | None = None


@dataclass(frozen=True)
class Unassigned:
    """A point that gets no batch in a period, and why."""

    point_id: Id
    period: int
    reason: Reason
    message: str


@dataclass(frozen=True)
class Stop:
    """One point visited on a trip: the batches delivered there and the batches collected."""

    point_id: Id
    delivered: tuple[Id, ...] = ()
    collected: tuple[Id, ...] = ()


@dataclass(frozen=True)
class Trip:
    """The visits to the points of one district in one period."""

    period: int
    district: str
    stops: tuple[Stop, ...]


@dataclass(frozen=True)
class Plan:
    """A solved plan: its stays, the empty point-periods with reasons, the trips, and broken rules."""

    assignments: tuple[Assignment, ...]
    unassigned: tuple[Unassigned, ...]
    trips: tuple[Trip, ...]
    problems: tuple[Violation, ...]

    def cells(self) -> dict[tuple[Id, int], Id]:
        """Return the grid: (point id, period) -> batch id (the first stay wins where stays overlap)."""
        grid: dict[tuple[Id, int], Id] = {}
        for a in self.assignments:
            for period in range(a.start_period, a.end_period + 1):
                grid.setdefault((a.point_id, period), a.batch_id)
        return grid


def stays_from_grid(grid: Mapping[tuple[Id, int], Id]) -> list[Assignment]:
    """Return the stays of a (point id, period) -> batch id grid, merging runs of the same batch."""
    by_point: dict[Id, list[tuple[int, Id]]] = defaultdict(list)
    for (point_id, period), batch_id in grid.items():
        by_point[point_id].append((period, batch_id))
    stays: list[Assignment] = []
    for point_id, cells in by_point.items():
        cells.sort(key=lambda cell: cell[0])
        start, batch_id = cells[0]
        end = start
        for period, other in cells[1:]:
            if other == batch_id and period == end + 1:
                end = period
                continue
            stays.append(Assignment(point_id, batch_id, start, end))
            start, end, batch_id = period, period, other
        stays.append(Assignment(point_id, batch_id, start, end))
    return stays


# --- shared indexes -------------------------------------------------------------------------------


class _Stay:
    """A stay at a known point, from history or from the plan (internal)."""

    __slots__ = ("point", "batch", "batch_id", "start", "end", "arrived", "titles", "in_plan", "source")

    def __init__(
        self,
        point: int,
        batch: int | None,
        batch_id: Id,
        start: int,
        end: int,
        titles: frozenset[Id],
        in_plan: bool,
        source: Assignment | None = None,
    ) -> None:
        self.point = point
        self.batch = batch
        self.batch_id = batch_id
        self.start = start
        self.end = end
        self.arrived = start
        self.titles = titles
        self.in_plan = in_plan
        self.source = source


class _Index:
    """Lookups by id, settings, and each point's history as stays (internal)."""

    def __init__(self, inputs: PlanInputs) -> None:
        settings = inputs.settings
        self.inputs = inputs
        self.periods = settings.periods
        self.stay = settings.stay
        self.window = settings.repeat_window
        self.titles = settings.avoid_repeat_titles
        self.points = inputs.points
        self.batches = inputs.batches
        self.point_at: dict[Id, int] = {}
        for i, point in enumerate(self.points):
            if point.id in self.point_at:
                raise ValueError(f"point {point.id!r} is listed twice")
            self.point_at[point.id] = i
        self.batch_at: dict[Id, int] = {}
        for i, batch in enumerate(self.batches):
            if batch.id in self.batch_at:
                raise ValueError(f"batch {batch.id!r} is listed twice")
            self.batch_at[batch.id] = i
        self.district_rank: dict[str, int] = {}
        for point in self.points:
            self.district_rank.setdefault(point.district, len(self.district_rank))
        self.history: list[list[_Stay]] = []
        for x, point in enumerate(self.points):
            stays = []
            for r in point.history:
                until = r.until if r.until is not None else min(r.period + self.stay - 1, 0)
                if r.period > 0 or until > 0 or until < r.period:
                    raise ValueError(
                        f"history of point {point.id!r}: batch {r.batch_id!r} from period {r.period} to "
                        f"{until} is not before the plan (periods <= 0, until >= period)"
                    )
                b = self.batch_at.get(r.batch_id)
                titles = r.title_ids or (self.batches[b].title_ids if b is not None else frozenset())
                stays.append(_Stay(x, b, r.batch_id, r.period, until, titles, False))
            self.history.append(stays)
        # Where each batch is when the plan starts: batch index -> (point index, its current stay).
        self.current: dict[int, tuple[int, _Stay]] = {}
        for b, batch in enumerate(self.batches):
            if batch.current_point is None:
                continue
            x = self.point_at.get(batch.current_point)
            if x is None:
                raise ValueError(f"batch {batch.id!r} is at unknown point {batch.current_point!r}")
            own = [s for s in self.history[x] if s.batch == b]
            if own:
                stay = max(own, key=lambda s: s.start)
                stay.end = 0
            else:
                stay = _Stay(x, b, batch.id, 0, 0, batch.title_ids, False)
                self.history[x].append(stay)
            self.current[b] = (x, stay)

    def is_continuation(self, x: int, b: int, start: int) -> bool:
        """Return whether a stay of batch b at point x from `start` continues its current stay."""
        current = self.current.get(b)
        return start == 1 and current is not None and current[0] == x

    def repeat_ok(
        self, stays: Iterable[_Stay], batch_id: Id, titles: frozenset[Id], start: int, end: int
    ) -> bool:
        """Return whether a stay [start, end] of a batch at a point keeps rules 2 and 3 against `stays`."""
        same_gap = max(self.window, 1)
        for st in stays:
            if st.end < start:
                gap = start - st.end
            elif st.start > end:
                gap = st.start - end
            else:
                continue
            if st.batch_id == batch_id:
                if gap <= same_gap:
                    return False
            elif self.titles and gap <= self.window and not titles.isdisjoint(st.titles):
                return False
        return True


def _pair_violation(idx: _Index, point_id: Id, first: _Stay, second: _Stay) -> Violation | None:
    """Return what two stays at one point break (rules 2 and 3), `second` starting no earlier."""
    where = (point_id, second.batch_id, second.start)
    if second.start <= first.end:
        if not first.in_plan:
            return None
        return Violation(
            Constraint.POINT_ONE_BATCH,
            f"point {point_id!r} holds batches {first.batch_id!r} and {second.batch_id!r} "
            f"in period {second.start}",
            *where,
        )
    gap = second.start - first.end
    gets = f"point {point_id!r} gets batch {second.batch_id!r} in period {second.start}"
    if first.batch_id == second.batch_id:
        if gap == 1:
            return Violation(Constraint.SAME_BATCH_AGAIN, f"{gets}, straight after holding it", *where)
        if gap <= idx.window:
            return Violation(
                Constraint.REPEAT_BATCH,
                f"{gets}, {gap} periods after holding it ({_period_text(first.end)}); "
                f"the rule is more than {idx.window}",
                *where,
            )
        return None
    if idx.titles and gap <= idx.window and not first.titles.isdisjoint(second.titles):
        shared = sorted(first.titles & second.titles, key=str)
        shown = ", ".join(repr(t) for t in shared[:3]) + (" …" if len(shared) > 3 else "")
        return Violation(
            Constraint.REPEAT_TITLES,
            f"{gets} with {len(shared)} title(s) it had in batch {first.batch_id!r} "
            f"({_period_text(first.end)}): {shown}",
            *where,
        )
    return None


def _period_text(period: int) -> str:
    return f"period {period}" if period >= 1 else f"period {period} (before the plan)"


# --- the checker ----------------------------------------------------------------------------------


def check(plan: Plan | Iterable[Assignment], inputs: PlanInputs) -> list[Violation]:
    """Return every rule the plan's stays break, each with the constraint and where (empty: all hold)."""
    idx = _Index(inputs)
    assignments = plan.assignments if isinstance(plan, Plan) else tuple(plan)
    settings = inputs.settings
    out: list[Violation] = []
    stays: list[_Stay] = []
    merged: set[int] = set()  # ids of history stays continued by a plan stay
    # A fixed order, so that the same stays give the same violations whatever order they come in.
    ordered = sorted(
        assignments, key=lambda a: (a.start_period, a.end_period, str(a.point_id), str(a.batch_id))
    )
    for a in ordered:
        x = idx.point_at.get(a.point_id)
        b = idx.batch_at.get(a.batch_id)
        where = f"batch {a.batch_id!r} at point {a.point_id!r}, periods {a.start_period}–{a.end_period}"
        if x is None:
            out.append(Violation(Constraint.UNKNOWN, f"unknown point: {where}", a.point_id, a.batch_id))
        if b is None:
            out.append(Violation(Constraint.UNKNOWN, f"unknown batch: {where}", a.point_id, a.batch_id))
        if not 1 <= a.start_period <= a.end_period <= idx.periods:
            out.append(
                Violation(
                    Constraint.UNKNOWN,
                    f"periods outside the plan (1–{idx.periods}): {where}",
                    a.point_id,
                    a.batch_id,
                    a.start_period,
                )
            )
            continue
        if x is None or b is None:
            continue
        stay = _Stay(x, b, a.batch_id, a.start_period, a.end_period, idx.batches[b].title_ids, True, a)
        if idx.is_continuation(x, b, a.start_period):
            current = idx.current[b][1]
            if id(current) not in merged:
                merged.add(id(current))
                stay.arrived = current.start
        stays.append(stay)

    # 1. a batch is at one point at a time
    by_batch: dict[int, list[_Stay]] = defaultdict(list)
    for st in stays:
        by_batch[st.batch].append(st)
    for b in sorted(by_batch):
        own = sorted(by_batch[b], key=lambda s: (s.start, s.end))
        for i, first in enumerate(own):
            for second in own[i + 1 :]:
                if second.start > first.end:
                    break
                out.append(
                    Violation(
                        Constraint.BATCH_ONE_PLACE,
                        f"batch {second.batch_id!r} is at points {idx.points[first.point].id!r} and "
                        f"{idx.points[second.point].id!r} in period {second.start}",
                        idx.points[second.point].id,
                        second.batch_id,
                        second.start,
                    )
                )

    # 2 and 3. one batch at a time per point; no repeats of batches (or titles) within the window
    by_point: dict[int, list[_Stay]] = defaultdict(list)
    for st in stays:
        by_point[st.point].append(st)
    for x in sorted(by_point):
        point_id = idx.points[x].id
        everything = [s for s in idx.history[x] if id(s) not in merged] + by_point[x]
        everything.sort(key=lambda s: (s.start, s.end))
        for i, first in enumerate(everything):
            for second in everything[i + 1 :]:
                if not second.in_plan or (not first.in_plan and second.arrived < second.start):
                    # history against history, or a continued stay against history: before the plan
                    continue
                found = _pair_violation(idx, point_id, first, second)
                if found is not None:
                    out.append(found)

    # 4, 5, 6 and 8: each stay on its own
    for st in stays:
        point = idx.points[st.point]
        batch = idx.batches[st.batch]
        months = (st.end - st.arrived + 1) * settings.period_months
        if months > settings.max_stay_months:
            out.append(
                Violation(
                    Constraint.MAX_STAY,
                    f"batch {batch.id!r} stays at point {point.id!r} for {months} months "
                    f"(periods {st.arrived}–{st.end}), more than {settings.max_stay_months}",
                    point.id,
                    batch.id,
                    st.start,
                )
            )
        if batch.size > point.capacity:
            out.append(
                Violation(
                    Constraint.CAPACITY,
                    f"batch {batch.id!r} has {batch.size} copies, point {point.id!r} holds at most "
                    f"{point.capacity} (periods {st.start}–{st.end})",
                    point.id,
                    batch.id,
                    st.start,
                )
            )
        closed = sorted(p for p in point.unavailable_periods if st.start <= p <= st.end)
        if closed:
            out.append(
                Violation(
                    Constraint.UNAVAILABLE,
                    f"point {point.id!r} is unavailable in period(s) {', '.join(map(str, closed))} "
                    f"but holds batch {batch.id!r} (periods {st.start}–{st.end})",
                    point.id,
                    batch.id,
                    closed[0],
                )
            )
        if st.arrived == st.start and st.start < batch.available_from_period:
            out.append(
                Violation(
                    Constraint.NOT_YET_AVAILABLE,
                    f"batch {batch.id!r} is available from period {batch.available_from_period} but "
                    f"starts at point {point.id!r} in period {st.start}",
                    point.id,
                    batch.id,
                    st.start,
                )
            )

    # 7. pinned stays are kept
    present = set(assignments)
    for pin in inputs.fixed:
        if pin not in present:
            out.append(
                Violation(
                    Constraint.PIN_KEPT,
                    f"pinned stay of batch {pin.batch_id!r} at point {pin.point_id!r}, periods "
                    f"{pin.start_period}–{pin.end_period}, is not in the plan",
                    pin.point_id,
                    pin.batch_id,
                    pin.start_period,
                )
            )
    return out


# --- reasons and trips ----------------------------------------------------------------------------


def _known_stays(idx: _Index, assignments: Iterable[Assignment]) -> list[_Stay]:
    """Return the stays at known points and batches with periods inside the plan."""
    stays = []
    for a in assignments:
        x = idx.point_at.get(a.point_id)
        b = idx.batch_at.get(a.batch_id)
        if x is None or b is None or not 1 <= a.start_period <= a.end_period <= idx.periods:
            continue
        stays.append(_Stay(x, b, a.batch_id, a.start_period, a.end_period, idx.batches[b].title_ids, True, a))
    return stays


def unassigned_for(assignments: Iterable[Assignment], inputs: PlanInputs) -> list[Unassigned]:
    """Return each point-period without a batch, with the reason no batch could go there."""
    idx = _Index(inputs)
    periods = idx.periods
    stays = _known_stays(idx, assignments)
    point_busy = [bytearray(periods + 2) for _ in idx.points]
    batch_busy = [bytearray(periods + 2) for _ in idx.batches]
    by_point: list[list[_Stay]] = [list(h) for h in idx.history]
    for st in stays:
        by_point[st.point].append(st)
        for p in range(st.start, st.end + 1):
            point_busy[st.point][p] = 1
            batch_busy[st.batch][p] = 1
    by_size = sorted(range(len(idx.batches)), key=lambda b: (idx.batches[b].size, b))
    smallest = idx.batches[by_size[0]].size if by_size else None
    titles_note = " (or titles)" if idx.titles else ""
    out: list[Unassigned] = []
    for x, point in enumerate(idx.points):
        fitting = [b for b in by_size if idx.batches[b].size <= point.capacity]
        for p in range(1, periods + 1):
            if point_busy[x][p]:
                continue
            if p in point.unavailable_periods:
                out.append(Unassigned(point.id, p, Reason.UNAVAILABLE, f"point is unavailable in period {p}"))
                continue
            if not fitting:
                detail = f" (smallest batch: {smallest} copies)" if smallest is not None else " (no batches)"
                out.append(
                    Unassigned(
                        point.id, p, Reason.CAPACITY, f"no batch fits capacity {point.capacity}{detail}"
                    )
                )
                continue
            available = [b for b in fitting if idx.batches[b].available_from_period <= p]
            if not available:
                reason, message = (
                    Reason.NOT_YET_AVAILABLE,
                    f"no batch that fits is available yet in period {p}",
                )
            elif not any(
                idx.repeat_ok(by_point[x], idx.batches[b].id, idx.batches[b].title_ids, p, p)
                for b in available
            ):
                reason = Reason.REPEAT
                message = f"no batch left that the point has not had{titles_note} within {idx.window} periods"
            else:
                reason = Reason.NO_BATCH_FREE
                message = f"every batch that could go there is at another point in period {p}"
                message += " (more points than batches)"
            out.append(Unassigned(point.id, p, reason, message))
    return out


def trips_for(assignments: Iterable[Assignment], inputs: PlanInputs) -> list[Trip]:
    """Return the deliveries and collections grouped into one trip per district and period."""
    idx = _Index(inputs)
    periods = idx.periods
    stays = _known_stays(idx, assignments)
    delivered: dict[tuple[int, int], list[Id]] = defaultdict(list)
    collected: dict[tuple[int, int], list[Id]] = defaultdict(list)
    continued: set[int] = set()
    for st in sorted(stays, key=lambda s: (s.start, s.point, s.batch)):
        if idx.is_continuation(st.point, st.batch, st.start) and st.batch not in continued:
            continued.add(st.batch)
        else:
            delivered[(st.start, st.point)].append(st.batch_id)
        if st.end < periods:
            collected[(st.end + 1, st.point)].append(st.batch_id)
    for b, (x, _) in sorted(idx.current.items()):
        if b not in continued:
            collected[(1, x)].append(idx.batches[b].id)
    visits: dict[tuple[int, str], list[int]] = defaultdict(list)
    for period, x in sorted(set(delivered) | set(collected)):
        visits[(period, idx.points[x].district)].append(x)
    trips = []
    for period, district in sorted(visits, key=lambda k: (k[0], idx.district_rank[k[1]])):
        stops = tuple(
            Stop(
                idx.points[x].id,
                tuple(delivered.get((period, x), ())),
                tuple(collected.get((period, x), ())),
            )
            for x in visits[(period, district)]
        )
        trips.append(Trip(period, district, stops))
    return trips


# --- the solver -----------------------------------------------------------------------------------


class _Solver:
    """State while solving: who is busy when, each point's stays, the stays made so far (internal)."""

    def __init__(self, inputs: PlanInputs) -> None:
        self.idx = idx = _Index(inputs)
        self.settings = inputs.settings
        periods = idx.periods
        self.point_block = [bytearray(periods + 2) for _ in idx.points]
        self.batch_block = [bytearray(periods + 2) for _ in idx.batches]
        for x, point in enumerate(idx.points):
            self.point_block[x][periods + 1] = 1
            for p in point.unavailable_periods:
                if 1 <= p <= periods:
                    self.point_block[x][p] = 1
        for b in range(len(idx.batches)):
            self.batch_block[b][periods + 1] = 1
        self.stays: list[list[_Stay]] = [list(h) for h in idx.history]
        self.had: list[dict[Id, int]] = []
        self.last_end: list[int] = []
        for history in idx.history:
            counts: dict[Id, int] = defaultdict(int)
            for st in history:
                counts[st.batch_id] += 1
            self.had.append(counts)
            self.last_end.append(max((st.end for st in history), default=-_FAR))
        self.received = [0] * len(idx.points)
        self.batch_district: list[str | None] = [None] * len(idx.batches)
        for b, (x, _) in idx.current.items():
            self.batch_district[b] = idx.points[x].district
        self.stops: dict[int, set[str]] = defaultdict(set)  # period -> districts a trip visits
        self.made: list[Assignment] = []

    def occupy(self, x: int | None, b: int | None, start: int, end: int) -> None:
        """Mark a point and a batch busy over [start, end] (clipped to the plan)."""
        for p in range(max(start, 1), min(end, self.idx.periods) + 1):
            if x is not None:
                self.point_block[x][p] = 1
            if b is not None:
                self.batch_block[b][p] = 1

    def add(self, x: int, b: int, start: int, end: int, source: Assignment, delivered: bool) -> None:
        """Record a stay the plan keeps."""
        idx = self.idx
        batch = idx.batches[b]
        self.occupy(x, b, start, end)
        self.stays[x].append(_Stay(x, b, batch.id, start, end, batch.title_ids, True, source))
        self.had[x][batch.id] += 1
        self.last_end[x] = max(self.last_end[x], end)
        district = idx.points[x].district
        if delivered:
            self.received[x] += 1
            self.stops[start].add(district)
        self.stops[end + 1].add(district)
        self.batch_district[b] = district

    def keep_pins(self) -> None:
        """Put the pinned stays in the plan, valid or not, and block their points and batches."""
        idx = self.idx
        for pin in idx.inputs.fixed:
            x = idx.point_at.get(pin.point_id)
            b = idx.batch_at.get(pin.batch_id)
            self.made.append(pin)
            valid = 1 <= pin.start_period <= pin.end_period <= idx.periods
            if x is not None and b is not None and valid:
                delivered = not idx.is_continuation(x, b, pin.start_period)
                self.add(x, b, pin.start_period, pin.end_period, pin, delivered)
            else:
                self.occupy(x, b, pin.start_period, pin.end_period)

    def continuation_end(self, x: int, b: int, upto: int) -> int:
        """Return the last period batch b may stay on at its current point x (0: it moves in period 1)."""
        idx = self.idx
        start = 1
        end = min(upto, idx.periods)
        point_block = self.point_block[x]
        batch_block = self.batch_block[b]
        if end < start or point_block[start] or batch_block[start]:
            return start - 1
        p = start + 1
        while p <= end and not point_block[p] and not batch_block[p]:
            p += 1
        end = p - 1
        return self.later_bound(x, b, start, end)

    def later_bound(self, x: int, b: int, start: int, end: int) -> int:
        """Return `end`, shortened so the stay keeps the repeat rules against later stays at x."""
        idx = self.idx
        batch = idx.batches[b]
        for st in self.stays[x]:
            if st.start <= start:
                continue
            if st.batch_id == batch.id:
                end = min(end, st.start - max(idx.window, 1) - 1)
            elif idx.titles and not batch.title_ids.isdisjoint(st.titles):
                end = min(end, st.start - idx.window - 1)
        return end

    def continue_current(self) -> None:
        """Let batches already at a point stay there until their stay reaches `stay_periods`."""
        idx = self.idx
        for b in sorted(idx.current):
            x, current = idx.current[b]
            if idx.batches[b].size > idx.points[x].capacity:
                continue
            end = self.continuation_end(x, b, current.start + idx.stay - 1)
            if end >= 1:
                source = Assignment(idx.points[x].id, idx.batches[b].id, 1, end)
                self.add(x, b, 1, end, source, False)
                self.made.append(source)
            else:
                self.stops[1].add(idx.points[x].district)

    def candidates(self, x: int, p: int, free: list[int]) -> list[tuple[int, int]]:
        """Return (batch, end) pairs batch-by-preference that could start a stay at point x in period p."""
        idx = self.idx
        point = idx.points[x]
        point_block = self.point_block[x]
        upto = min(p + idx.stay - 1, idx.periods)
        q = p + 1
        while q <= upto and not point_block[q]:
            q += 1
        upto = q - 1
        window = idx.window
        same_gap = max(window, 1)
        recent_batches: set[Id] = set()
        recent_titles: set[Id] = set()
        later: list[_Stay] = []
        for st in self.stays[x]:
            if st.end < p:
                gap = p - st.end
                if gap <= same_gap:
                    recent_batches.add(st.batch_id)
                if idx.titles and gap <= window:
                    recent_titles.update(st.titles)
            elif st.start > p:
                later.append(st)
        group = self.settings.group_by_district
        had = self.had[x]
        ranked = []
        for b in free:
            batch = idx.batches[b]
            if batch.size > point.capacity or batch.id in recent_batches:
                continue
            if recent_titles and not batch.title_ids.isdisjoint(recent_titles):
                continue
            batch_block = self.batch_block[b]
            q = p + 1
            while q <= upto and not batch_block[q]:
                q += 1
            end = q - 1
            if later:
                end = self.later_bound(x, b, p, end)
                if end < p:
                    continue
            near = 0 if group and self.batch_district[b] == point.district else 1
            ranked.append(((near, had.get(batch.id, 0), p - end, b), b, end))
        ranked.sort()
        return [(b, end) for _, b, end in ranked]

    def match(self, p: int, free_batches: list[int], free_points: list[int]) -> dict[int, tuple[int, int]]:
        """Return point -> (batch, end): a maximum matching for period p, preferring points in order."""
        target = len(free_batches)
        batch_owner: dict[int, int] = {}
        point_batch: dict[int, int] = {}
        options: dict[int, list[int]] = {}
        ends: dict[tuple[int, int], int] = {}
        seen: set[int] = set()
        for x in free_points:
            if len(batch_owner) == target:
                break
            pairs = self.candidates(x, p, free_batches)
            if not pairs:
                continue
            options[x] = [b for b, _ in pairs]
            for b, end in pairs:
                ends[(x, b)] = end
            direct = next((b for b in options[x] if b not in batch_owner), None)
            if direct is not None:
                batch_owner[direct] = x
                point_batch[x] = direct
                seen.clear()
            elif _augment(x, options, batch_owner, point_batch, seen):
                seen.clear()
        return {x: (b, ends[(x, b)]) for x, b in point_batch.items()}

    def point_order(self, p: int, free_points: list[int]) -> list[int]:
        """Return the free points in the order they are served in period p."""
        idx = self.idx
        group = self.settings.group_by_district
        visited = self.stops.get(p, set())

        def key(x: int) -> tuple[int, ...]:
            point = idx.points[x]
            district = (
                (0 if point.district in visited else 1, idx.district_rank[point.district])
                if group
                else (0, 0)
            )
            return (-point.priority, self.received[x], *district, self.last_end[x], x)

        return sorted(free_points, key=key)

    def align(self, x: int, start: int, end: int) -> int:
        """Return `end`, or an earlier end whose next period a trip to the point's district already has.

        Shortening keeps every rule; it saves a trip when the batch would otherwise be collected in a
        period nobody else in the district changes. Stays are not cut below half the standard stay.
        """
        idx = self.idx
        if not self.settings.group_by_district or end >= idx.periods:
            return end
        district = idx.points[x].district
        shortest = start + (idx.stay + 1) // 2 - 1
        for e in range(end, max(start, shortest) - 1, -1):
            if district in self.stops.get(e + 1, ()):
                return e
        return end

    def run(self) -> list[Assignment]:
        """Make the stays: pins, continuations, then period by period matching."""
        idx = self.idx
        self.keep_pins()
        self.continue_current()
        order = range(len(idx.batches))
        for p in range(1, idx.periods + 1):
            free_batches = [
                b for b in order if not self.batch_block[b][p] and idx.batches[b].available_from_period <= p
            ]
            if not free_batches:
                continue
            smallest = min(idx.batches[b].size for b in free_batches)
            free_points = [
                x
                for x, point in enumerate(idx.points)
                if not self.point_block[x][p] and point.capacity >= smallest
            ]
            if not free_points:
                continue
            chosen = self.match(p, free_batches, self.point_order(p, free_points))
            for x in sorted(chosen):
                b, end = chosen[x]
                end = self.align(x, p, end)
                source = Assignment(idx.points[x].id, idx.batches[b].id, p, end)
                self.add(x, b, p, end, source, True)
                self.made.append(source)
        return self.made


def _augment(
    root: int,
    options: dict[int, list[int]],
    batch_owner: dict[int, int],
    point_batch: dict[int, int],
    seen: set[int],
) -> bool:
    """Find an augmenting path from point `root` and flip it; return whether one was found."""
    stack = [(root, iter(options[root]))]
    path: list[int] = []
    while stack:
        x, candidates = stack[-1]
        for b in candidates:
            if b in seen:
                continue
            seen.add(b)
            path.append(b)
            owner = batch_owner.get(b)
            if owner is None:
                for (px, _), pb in zip(stack, path, strict=True):
                    batch_owner[pb] = px
                    point_batch[px] = pb
                return True
            stack.append((owner, iter(options[owner])))
            break
        else:
            stack.pop()
            if path:
                path.pop()
    return False


def solve(inputs: PlanInputs) -> Plan:
    """Return a plan for the inputs: pinned stays kept, every other stay within the rules."""
    made = _Solver(inputs).run()
    point_rank = {point.id: i for i, point in enumerate(inputs.points)}
    assignments = tuple(
        sorted(
            made, key=lambda a: (a.start_period, point_rank.get(a.point_id, len(point_rank)), str(a.batch_id))
        )
    )
    return Plan(
        assignments=assignments,
        unassigned=tuple(unassigned_for(assignments, inputs)),
        trips=tuple(trips_for(assignments, inputs)),
        problems=tuple(check(assignments, inputs)),
    )


def served_fraction(plan: Plan, inputs: PlanInputs) -> tuple[float, float]:
    """Return the share of point-periods that have a batch: of all of them, and of the open ones."""
    known = {point.id for point in inputs.points}
    served = sum(
        1
        for (point_id, period) in plan.cells()
        if point_id in known and 1 <= period <= inputs.settings.periods
    )
    total = len(inputs.points) * inputs.settings.periods
    closed = sum(
        1 for point in inputs.points for p in point.unavailable_periods if 1 <= p <= inputs.settings.periods
    )
    return (served / total if total else 1.0, served / (total - closed) if total > closed else 1.0)
