"""Rotation plans as stored data: build the solver's inputs from the database, save, edit and approve plans.

The solver (`rotation.planning`) is pure; this module is its bridge to the database.

- Solver ids are database ids: a point is a `Site` id, a batch a `Batch` id. Solver periods are
  1-based; `PlanAssignment.period` is 0-based (solver period - 1). One `PlanAssignment` per cell.
- A point's district is the district of the administrative unit it belonged to on the plan's first
  day; after the 2025 reform (no district level) it is the commune itself.
- Capacity: `Site.capacity`; no capacity recorded means no limit.
- Priority: 0 unless the plan's settings give one (`"priority": {"<site id>": n}`).
- Unavailable periods: school libraries are closed in the months `school_closed_months` of the settings
  (June–August by default); a quarter counts as closed when more than half its months are.
- History: the cells of approved plans of earlier years, and received shipments to the point before
  the plan starts (a batch held from its arrival until it was sent on).
- Hand edits are saved even when they break a rule (staff may know better); `check()` then flags the
  conflicts, which the grid shows and `approve_plan` asks to be accepted explicitly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.db import utcnow
from app.errors import N_, Conflict, NotFound, ValidationError
from app.network.models import POINT_KINDS, AdminUnit, Site, SiteKind
from app.network.services import unit_on
from catalog.models import Item
from rotation import planning
from rotation.models import (
    Batch,
    BatchItem,
    BatchStatus,
    PlanAssignment,
    PlanStatus,
    RotationPlan,
    Shipment,
    ShipmentKind,
    ShipmentStatus,
)

NO_DISTRICT = "—"
DEFAULT_SETTINGS: dict[str, Any] = {
    "stay_periods": None,
    "no_repeat_batch_within": None,
    "avoid_repeat_titles": False,
    "group_by_district": True,
    "school_closed_months": [6, 7, 8],
    "priority": {},
}
UNLIMITED = 10**9


@dataclass
class PlanContext:
    """Solver inputs plus what the pages need to show them: point and batch rows, districts."""

    inputs: planning.PlanInputs
    points: dict[int, Site] = field(default_factory=dict)
    batches: dict[int, Batch] = field(default_factory=dict)
    district_of: dict[int, str] = field(default_factory=dict)
    sizes: dict[int, int] = field(default_factory=dict)

    def point_label(self, point_id: Any) -> str:
        """Return 'CODE name' of a point, or its id."""
        site = self.points.get(point_id)
        return f"{site.code} {site.name}" if site else str(point_id)

    def batch_label(self, batch_id: Any) -> str:
        """Return a batch's code, or its id."""
        batch = self.batches.get(batch_id)
        return batch.code if batch else str(batch_id)


@dataclass
class SolveResult:
    """A solved plan with its context; `plan_row` is the saved plan (None on a dry run)."""

    context: PlanContext
    plan: planning.Plan
    plan_row: RotationPlan | None = None


def clean_settings(values: dict[str, Any] | None) -> dict[str, Any]:
    """Return plan settings with defaults filled in and values checked (ValidationError when bad)."""
    settings = {**DEFAULT_SETTINGS, **(values or {})}
    for name in ("stay_periods", "no_repeat_batch_within"):
        value = settings[name]
        if value in ("", None):
            settings[name] = None
            continue
        try:
            settings[name] = int(value)
        except (TypeError, ValueError):
            raise ValidationError(N_("Enter a whole number."), field=name) from None
        if settings[name] < (1 if name == "stay_periods" else 0):
            raise ValidationError(N_("The number is too small."), field=name)
    settings["avoid_repeat_titles"] = bool(settings["avoid_repeat_titles"])
    settings["group_by_district"] = bool(settings["group_by_district"])
    months = sorted({int(m) for m in settings["school_closed_months"] or []})
    if any(not 1 <= m <= 12 for m in months):
        raise ValidationError(N_("Months are numbered 1 to 12."), field="school_closed_months")
    settings["school_closed_months"] = months
    settings["priority"] = {str(k): int(v) for k, v in (settings["priority"] or {}).items()}
    return settings


def solver_settings(period_months: int, settings: dict[str, Any]) -> planning.PlanSettings:
    """Return the solver's settings for a year in periods of `period_months` months."""
    if period_months not in (1, 3):
        raise ValidationError(N_("A plan is made in months or in quarters."), field="period")
    try:
        return planning.PlanSettings(
            periods=12 // period_months,
            period_months=period_months,
            stay_periods=settings["stay_periods"],
            no_repeat_batch_within=settings["no_repeat_batch_within"],
            avoid_repeat_titles=settings["avoid_repeat_titles"],
            group_by_district=settings["group_by_district"],
        )
    except ValueError:
        raise ValidationError(
            N_("A stay of %(n)s periods is longer than six months."),
            field="stay_periods",
            n=settings["stay_periods"],
        ) from None


def district_name(session: Session, site: Site, day: date) -> str:
    """Return the name of the district a site was in on `day` (the commune after the 2025 reform)."""
    unit: AdminUnit | None = unit_on(session, site, day) or site.admin_unit
    if unit is None:
        return NO_DISTRICT
    district = unit.district
    return (district or unit).name


def _period_of(month_offset: int, period_months: int) -> int:
    """Return the solver period (1-based; <= 0 before the plan) holding a month counted from January."""
    return month_offset // period_months + 1


def _month_offset(day: date | datetime, year: int) -> int:
    return (day.year - year) * 12 + day.month - 1


def _closed_periods(months: Iterable[int], period_months: int) -> frozenset[int]:
    closed: dict[int, int] = defaultdict(int)
    for month in months:
        closed[_period_of(month - 1, period_months)] += 1
    return frozenset(p for p, n in closed.items() if n * 2 > period_months)


def _titles_by_batch(session: Session, batch_ids: Iterable[int]) -> dict[int, frozenset[int]]:
    ids = list(set(batch_ids))
    titles: dict[int, set[int]] = defaultdict(set)
    if ids:
        rows = session.execute(
            select(BatchItem.batch_id, Item.record_id)
            .join(Item, Item.id == BatchItem.item_id)
            .where(BatchItem.batch_id.in_(ids))
        )
        for batch_id, record_id in rows:
            titles[batch_id].add(record_id)
    return {b: frozenset(titles.get(b, ())) for b in ids}


def _history(
    session: Session, year: int, period_months: int, point_ids: set[int], batch_titles: dict[int, frozenset]
) -> dict[int, list[tuple[int, int, int]]]:
    """Return point id -> [(batch id, arrival period, last period)] before the plan starts."""
    out: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    if not point_ids:
        return out
    # Approved plans of earlier years, cell by cell, merged into stays.
    rows = session.execute(
        select(PlanAssignment.point_id, PlanAssignment.batch_id, PlanAssignment.period, RotationPlan)
        .join(RotationPlan, RotationPlan.id == PlanAssignment.plan_id)
        .where(
            RotationPlan.status == PlanStatus.APPROVED.value,
            RotationPlan.year < year,
            PlanAssignment.point_id.in_(point_ids),
        )
    )
    for point_id, batch_id, period, plan in rows:
        first = (plan.year - year) * 12 + period * plan.period_months
        last = first + plan.period_months - 1
        out[point_id].append((batch_id, _period_of(first, period_months), _period_of(last, period_months)))
    # Shipments received at the points before the plan starts: held until the batch was sent on.
    start = datetime(year, 1, 1, tzinfo=UTC)
    arrivals = session.scalars(
        select(Shipment)
        .where(
            Shipment.to_site_id.in_(point_ids),
            Shipment.status == ShipmentStatus.RECEIVED.value,
            Shipment.kind.in_([ShipmentKind.LIBRARY_TO_POINT.value, ShipmentKind.POINT_TO_POINT.value]),
            Shipment.received_at < start,
        )
        .order_by(Shipment.received_at)
    ).all()
    for shipment in arrivals:
        left = session.scalar(
            select(func.min(Shipment.dispatched_at)).where(
                Shipment.batch_id == shipment.batch_id,
                Shipment.from_site_id == shipment.to_site_id,
                Shipment.dispatched_at >= shipment.received_at,
            )
        )
        arrived = _period_of(_month_offset(shipment.received_at, year), period_months)
        until = 0 if left is None else min(_period_of(_month_offset(left, year), period_months), 0)
        out[shipment.to_site_id].append((shipment.batch_id, arrived, max(until, arrived)))
    for stays in out.values():
        stays[:] = [s for s in dict.fromkeys(stays) if s[1] <= 0]
        batch_titles.update(_titles_by_batch(session, [s[0] for s in stays if s[0] not in batch_titles]))
    return out


def build_context(
    session: Session,
    year: int,
    period_months: int,
    settings: dict[str, Any] | None = None,
    *,
    fixed: Iterable[planning.Assignment] = (),
    include_point_ids: Iterable[int] = (),
    include_batch_ids: Iterable[int] = (),
) -> PlanContext:
    """Return the solver inputs for a year: active rotation points, batches not closed, their history."""
    settings = clean_settings(settings)
    plan_settings = solver_settings(period_months, settings)
    first_day = date(year, 1, 1)
    extra_points = set(include_point_ids)
    sites = session.scalars(
        select(Site)
        .where(
            (Site.kind.in_([k.value for k in POINT_KINDS]) & Site.is_active)
            | (Site.id.in_(extra_points or {-1}))
        )
        .order_by(Site.sort_key, Site.code)
    ).all()
    extra_batches = set(include_batch_ids)
    batch_rows = session.scalars(
        select(Batch)
        .where((Batch.status != BatchStatus.CLOSED.value) | (Batch.id.in_(extra_batches or {-1})))
        .order_by(Batch.code)
    ).all()
    sizes = dict(
        session.execute(
            select(BatchItem.batch_id, func.count(BatchItem.id))
            .where(BatchItem.batch_id.in_([b.id for b in batch_rows] or [-1]))
            .group_by(BatchItem.batch_id)
        ).all()
    )
    batch_rows = [b for b in batch_rows if sizes.get(b.id, 0) > 0 or b.id in extra_batches]
    titles = _titles_by_batch(session, [b.id for b in batch_rows])
    point_ids = {s.id for s in sites}
    history = _history(session, year, period_months, point_ids, titles)
    closed = _closed_periods(settings["school_closed_months"], period_months)
    ctx = PlanContext(inputs=planning.PlanInputs((), ()))
    points = []
    for site in sites:
        district = district_name(session, site, first_day)
        ctx.points[site.id] = site
        ctx.district_of[site.id] = district
        received = tuple(
            planning.Received(batch_id, arrived, until, titles.get(batch_id, frozenset()))
            for batch_id, arrived, until in sorted(history.get(site.id, []), key=lambda s: (s[1], s[2]))
        )
        points.append(
            planning.Point(
                id=site.id,
                district=district,
                capacity=UNLIMITED if site.capacity is None else site.capacity,
                priority=int(settings["priority"].get(str(site.id), 0)),
                unavailable_periods=closed if site.kind == SiteKind.SCHOOL_LIBRARY.value else frozenset(),
                history=received,
            )
        )
    batches = []
    for row in batch_rows:
        ctx.batches[row.id] = row
        ctx.sizes[row.id] = sizes.get(row.id, 0)
        at = row.holder_site_id if row.status == BatchStatus.AT_POINT.value else None
        batches.append(
            planning.Batch(
                id=row.id,
                size=sizes.get(row.id, 0),
                title_ids=titles.get(row.id, frozenset()),
                home_library=row.home_library_id,
                current_point=at if at in point_ids else None,
            )
        )
    ctx.inputs = planning.PlanInputs(tuple(points), tuple(batches), plan_settings, tuple(fixed))
    return ctx


# --- plans in the database ---------------------------------------------------------------------


def get_plan(session: Session, plan_id: int) -> RotationPlan:
    """Return a plan by id or raise NotFound."""
    plan = session.get(RotationPlan, plan_id)
    if plan is None:
        raise NotFound(N_("No such plan."))
    return plan


def list_plans(session: Session) -> list[RotationPlan]:
    """Return the plans, newest year first."""
    return list(
        session.scalars(select(RotationPlan).order_by(RotationPlan.year.desc(), RotationPlan.id.desc()))
    )


def cells_of(session: Session, plan: RotationPlan) -> list[PlanAssignment]:
    """Return the plan's cells ordered by point and period."""
    return list(
        session.scalars(
            select(PlanAssignment)
            .where(PlanAssignment.plan_id == plan.id)
            .order_by(PlanAssignment.point_id, PlanAssignment.period)
        )
    )


def _grid(cells: Iterable[PlanAssignment], *, pinned_only: bool = False) -> dict[tuple[int, int], int]:
    return {(c.point_id, c.period + 1): c.batch_id for c in cells if c.is_pinned or not pinned_only}


def _check_year(year: int) -> None:
    if not 2000 <= int(year) <= 2100:
        raise ValidationError(N_("Enter a year between 2000 and 2100."), field="year")


def solve_plan(
    session: Session,
    *,
    year: int,
    period_months: int = 1,
    settings: dict[str, Any] | None = None,
    actor_id: int | None,
    name: str = "",
    save: bool = True,
) -> SolveResult:
    """Solve a plan for a year from the database; stage it as a draft unless `save` is False."""
    _check_year(year)
    settings = clean_settings(settings)
    ctx = build_context(session, year, period_months, settings)
    plan = planning.solve(ctx.inputs)
    result = SolveResult(ctx, plan)
    if save:
        row = RotationPlan(
            year=year,
            period_months=period_months,
            name=(name or "").strip()[:200],
            status=PlanStatus.DRAFT.value,
            settings=settings,
            created_by_id=actor_id,
        )
        session.add(row)
        session.flush()
        _store_cells(session, row, plan, pinned=set())
        audit.record(
            session,
            actor_id=actor_id,
            action="plan.create",
            object_type="rotation_plan",
            object_id=row.id,
            object_label=f"{year} {row.name}".strip(),
            changes={
                "year": [None, year],
                "period_months": [None, period_months],
                "cells": [None, len(plan.cells())],
            },
        )
        session.flush()
        result.plan_row = row
    return result


def _store_cells(
    session: Session, row: RotationPlan, plan: planning.Plan, pinned: set[tuple[int, int]]
) -> None:
    for (point_id, period), batch_id in sorted(plan.cells().items()):
        if 1 <= period <= 12 // row.period_months:
            session.add(
                PlanAssignment(
                    plan_id=row.id,
                    point_id=point_id,
                    batch_id=batch_id,
                    period=period - 1,
                    is_pinned=(point_id, period) in pinned,
                )
            )
    session.flush()


def resolve_plan(session: Session, row: RotationPlan, *, actor_id: int | None) -> SolveResult:
    """Solve a draft plan again, keeping its pinned cells and replacing the others."""
    _require_draft(row)
    cells = cells_of(session, row)
    pinned_grid = _grid(cells, pinned_only=True)
    fixed = planning.stays_from_grid(pinned_grid)
    ctx = build_context(
        session,
        row.year,
        row.period_months,
        row.settings,
        fixed=fixed,
        include_point_ids={p for p, _ in pinned_grid},
        include_batch_ids=set(pinned_grid.values()),
    )
    plan = planning.solve(ctx.inputs)
    session.execute(delete(PlanAssignment).where(PlanAssignment.plan_id == row.id))
    session.flush()
    _store_cells(session, row, plan, pinned=set(pinned_grid))
    row.updated_at = utcnow()
    audit.record(
        session,
        actor_id=actor_id,
        action="plan.solve",
        object_type="rotation_plan",
        object_id=row.id,
        object_label=f"{row.year} {row.name}".strip(),
        changes={"cells": [len(cells), len(plan.cells())]},
    )
    session.flush()
    return SolveResult(ctx, plan, row)


def context_for(
    session: Session, row: RotationPlan, cells: list[PlanAssignment] | None = None
) -> PlanContext:
    """Return the inputs a stored plan is checked against (its own points and batches included)."""
    cells = cells_of(session, row) if cells is None else cells
    return build_context(
        session,
        row.year,
        row.period_months,
        row.settings,
        include_point_ids={c.point_id for c in cells},
        include_batch_ids={c.batch_id for c in cells},
    )


@dataclass
class PlanReview:
    """A stored plan checked against the rules: its context, cells, stays, violations, empty cells, trips."""

    context: PlanContext
    cells: list[PlanAssignment]
    stays: list[planning.Assignment]
    violations: list[planning.Violation]
    unassigned: list[planning.Unassigned]
    trips: list[planning.Trip]


def review_plan(session: Session, row: RotationPlan) -> PlanReview:
    """Return the stored plan's stays checked by `planning.check`, with empty cells and trips."""
    cells = cells_of(session, row)
    ctx = context_for(session, row, cells)
    stays = planning.stays_from_grid(_grid(cells))
    return PlanReview(
        ctx,
        cells,
        stays,
        planning.check(stays, ctx.inputs),
        planning.unassigned_for(stays, ctx.inputs),
        planning.trips_for(stays, ctx.inputs),
    )


def _require_draft(row: RotationPlan) -> None:
    if row.status != PlanStatus.DRAFT.value:
        raise Conflict(N_("An approved plan cannot be changed."))


def edit_cell(
    session: Session,
    row: RotationPlan,
    *,
    point_id: int,
    period: int,
    batch_id: int | None,
    pinned: bool,
    actor_id: int | None,
) -> list[planning.Violation]:
    """Set or clear the batch of one cell (period 1-based) and pin it; return the plan's violations.

    The change is saved even when it breaks a rule: the violations flag it. A batch already in another
    cell of the same period is refused (the database holds a batch in one place per period).
    """
    _require_draft(row)
    periods = 12 // row.period_months
    if not 1 <= period <= periods:
        raise ValidationError(N_("No such period in this plan."), field="period")
    site = session.get(Site, point_id)
    if site is None or site.kind not in POINT_KINDS:
        raise ValidationError(N_("Choose a rotation point."), field="point_id")
    if batch_id is not None:
        batch = session.get(Batch, batch_id)
        if batch is None:
            raise ValidationError(N_("No such batch."), field="batch_id")
        elsewhere = session.scalar(
            select(PlanAssignment).where(
                PlanAssignment.plan_id == row.id,
                PlanAssignment.batch_id == batch_id,
                PlanAssignment.period == period - 1,
                PlanAssignment.point_id != point_id,
            )
        )
        if elsewhere is not None:
            other = session.get(Site, elsewhere.point_id)
            raise Conflict(
                N_("Batch %(batch)s is already at %(point)s in that period; clear that cell first."),
                field="batch_id",
                batch=batch.code,
                point=other.name if other else str(elsewhere.point_id),
            )
    cell = session.scalar(
        select(PlanAssignment).where(
            PlanAssignment.plan_id == row.id,
            PlanAssignment.point_id == point_id,
            PlanAssignment.period == period - 1,
        )
    )
    before = {"batch_id": cell.batch_id if cell else None, "is_pinned": cell.is_pinned if cell else False}
    if batch_id is None:
        if cell is not None:
            session.delete(cell)
    elif cell is None:
        cell = PlanAssignment(plan_id=row.id, point_id=point_id, batch_id=batch_id, period=period - 1)
        cell.is_pinned = pinned
        session.add(cell)
    else:
        cell.batch_id = batch_id
        cell.is_pinned = pinned
    after = {"batch_id": batch_id, "is_pinned": bool(pinned and batch_id is not None)}
    row.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="plan.edit_cell",
        object_type="rotation_plan",
        object_id=row.id,
        object_label=f"{row.year} {site.code} P{period}",
        changes=audit.diff(before, after),
    )
    session.flush()
    return review_plan(session, row).violations


def approve_plan(
    session: Session, row: RotationPlan, *, actor_id: int | None, accept_conflicts: bool = False
) -> None:
    """Approve a draft plan; a plan with conflicts needs `accept_conflicts` (Conflict otherwise)."""
    _require_draft(row)
    violations = review_plan(session, row).violations
    if violations and not accept_conflicts:
        raise Conflict(
            N_("The plan has %(n)d conflict(s); tick the box to approve it anyway."), n=len(violations)
        )
    row.status = PlanStatus.APPROVED.value
    audit.record(
        session,
        actor_id=actor_id,
        action="plan.approve",
        object_type="rotation_plan",
        object_id=row.id,
        object_label=f"{row.year} {row.name}".strip(),
        changes={
            "status": [PlanStatus.DRAFT.value, PlanStatus.APPROVED.value],
            "conflicts": [None, len(violations)],
        },
    )
    session.flush()
