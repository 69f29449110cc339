"""Setting the plan's yearly targets and entering the monthly figures (domain code: no Flask)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.services import record as audit
from app.errors import N_, NotFound, ValidationError
from app.network.models import LIBRARY_KINDS, Site, SiteKind
from app.plan.models import (
    COMPUTED_INDICATORS,
    MAX_VALUE,
    Indicator,
    MonthlyFigure,
    PlanTarget,
)
from app.text import sort_key_str
from app.timeutil import local_today

MIN_YEAR, MAX_YEAR = 2000, 2100

# The plan's yearly numbers (see DOMAIN.md): the provincial library, and each district/city library
# (reader visits "17,000–18,000": the middle; periodicals "~40 titles": 40).
PLAN_DEFAULTS: dict[str, dict[Indicator, int]] = {
    SiteKind.PROVINCIAL_LIBRARY.value: {
        Indicator.COPIES_ACQUIRED: 20_000,
        Indicator.PERIODICALS: 300_000,
        Indicator.READER_VISITS: 750_000,
        Indicator.RECORDS_CATALOGUED: 8_000,
        Indicator.PAGES_DIGITISED: 20_000,
        Indicator.TALKS: 100,
        Indicator.CONTESTS: 5,
        Indicator.TRAINING_COURSES: 5,
        Indicator.LOOKUPS: 1_500_000,
    },
    SiteKind.DISTRICT_LIBRARY.value: {
        Indicator.COPIES_ACQUIRED: 1_000,
        Indicator.PERIODICALS: 40,
        Indicator.READER_VISITS: 17_500,
        Indicator.TALKS: 6,
    },
}


def plan_defaults(kind: str | None) -> dict[Indicator, int]:
    """Return the plan's yearly numbers for a kind of library (empty for branches and the province)."""
    return dict(PLAN_DEFAULTS.get(str(kind) if kind else "", {}))


def plan_libraries(session: Session) -> list[Site]:
    """Return the active libraries that carry targets: the provincial library first, then by name."""
    sites = session.scalars(
        select(Site).where(Site.kind.in_([k.value for k in LIBRARY_KINDS]), Site.is_active.is_(True))
    ).all()
    order = {SiteKind.PROVINCIAL_LIBRARY: 0, SiteKind.DISTRICT_LIBRARY: 1, SiteKind.BRANCH: 2}
    return sorted(sites, key=lambda s: (order.get(SiteKind(s.kind), 3), s.sort_key or sort_key_str(s.name)))


def check_year(year: int) -> int:
    """Return the year when it is in range, else raise ValidationError."""
    if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(
            N_("The year must be between %(low)d and %(high)d."), field="year", low=MIN_YEAR, high=MAX_YEAR
        )
    return year


def get_library(session: Session, library_id: int) -> Site:
    """Return a library site, or raise NotFound (rotation points carry no targets)."""
    site = session.get(Site, library_id)
    if site is None or site.kind not in LIBRARY_KINDS:
        raise NotFound(N_("Library not found."), field="library_id")
    return site


def _check_value(indicator: Indicator, value: int) -> int:
    if not isinstance(value, int) or value < 0 or value > MAX_VALUE:
        raise ValidationError(
            N_("Enter a whole number from 0 to %(max)d."),
            field=indicator.value,
            max=MAX_VALUE,
        )
    return value


def targets_for(session: Session, year: int, library_id: int | None) -> dict[Indicator, int]:
    """Return the targets set for a library (None: the province's own) and year."""
    cond = PlanTarget.library_id.is_(None) if library_id is None else PlanTarget.library_id == library_id
    rows = session.execute(
        select(PlanTarget.indicator, PlanTarget.value).where(PlanTarget.year == year, cond)
    ).all()
    return {Indicator(ind): value for ind, value in rows}


def set_targets(
    session: Session,
    *,
    library_id: int | None,
    year: int,
    values: Mapping[Indicator | str, int | None],
    actor_id: int | None,
) -> int:
    """Set, change or (value None) remove the targets of a library or the province; return the changes."""
    check_year(year)
    label = "province"
    if library_id is not None:
        label = get_library(session, library_id).code
    clean = {Indicator(k): (None if v is None else _check_value(Indicator(k), v)) for k, v in values.items()}
    cond = PlanTarget.library_id.is_(None) if library_id is None else PlanTarget.library_id == library_id
    existing = {
        Indicator(t.indicator): t
        for t in session.scalars(select(PlanTarget).where(PlanTarget.year == year, cond))
    }
    changes: dict[str, list] = {}
    for indicator, value in clean.items():
        row = existing.get(indicator)
        old = row.value if row else None
        if old == value:
            continue
        changes[indicator.value] = [old, value]
        if value is None:
            session.delete(row)
        elif row is None:
            session.add(
                PlanTarget(
                    library_id=library_id,
                    year=year,
                    indicator=indicator.value,
                    value=value,
                    updated_by_id=actor_id,
                )
            )
        else:
            row.value = value
            row.updated_by_id = actor_id
    if changes:
        audit(
            session,
            actor_id=actor_id,
            action="plan.targets_set",
            object_type="plan_target",
            object_id=library_id,
            object_label=f"{label} {year}",
            changes=changes,
        )
        session.flush()
    return len(changes)


def prefill_from_plan(
    session: Session, *, year: int, actor_id: int | None, library_ids: Iterable[int] | None = None
) -> int:
    """Add the plan's numbers as targets where a library has none for the year; return how many."""
    check_year(year)
    libraries = plan_libraries(session)
    if library_ids is not None:
        wanted = set(library_ids)
        libraries = [s for s in libraries if s.id in wanted]
    have = set(
        session.execute(
            select(PlanTarget.library_id, PlanTarget.indicator).where(
                PlanTarget.year == year, PlanTarget.library_id.is_not(None)
            )
        ).all()
    )
    added = 0
    for site in libraries:
        for indicator, value in plan_defaults(site.kind).items():
            if (site.id, indicator.value) in have:
                continue
            session.add(
                PlanTarget(
                    library_id=site.id,
                    year=year,
                    indicator=indicator.value,
                    value=value,
                    updated_by_id=actor_id,
                )
            )
            added += 1
    if added:
        audit(
            session,
            actor_id=actor_id,
            action="plan.targets_prefilled",
            object_type="plan_target",
            object_id=None,
            object_label=str(year),
            changes={"added": [None, added]},
        )
        session.flush()
    return added


def figures_for(session: Session, library_id: int, year: int) -> dict[tuple[int, Indicator], int]:
    """Return the hand-entered figures of a library for a year: (month, indicator) -> value."""
    rows = session.execute(
        select(MonthlyFigure.month, MonthlyFigure.indicator, MonthlyFigure.value).where(
            MonthlyFigure.library_id == library_id, MonthlyFigure.year == year
        )
    ).all()
    return {(m, Indicator(ind)): v for m, ind, v in rows}


def set_monthly_figures(
    session: Session,
    *,
    library_id: int,
    year: int,
    month: int,
    values: Mapping[Indicator | str, int | None],
    actor_id: int | None,
    today: date | None = None,
) -> int:
    """Enter a library's figures for a month (None removes one); a month not yet begun is refused."""
    check_year(year)
    site = get_library(session, library_id)
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise ValidationError(N_("The month must be between 1 and 12."), field="month")
    today = today or local_today()
    if (year, month) > (today.year, today.month):
        raise ValidationError(
            N_("%(month)02d/%(year)d has not begun yet: figures are entered for past months."),
            field="month",
            month=month,
            year=year,
        )
    clean: dict[Indicator, int | None] = {}
    for key, value in values.items():
        indicator = Indicator(key)
        if indicator in COMPUTED_INDICATORS:
            raise ValidationError(
                N_("This indicator is counted by the software and cannot be entered."),
                field=indicator.value,
            )
        clean[indicator] = None if value is None else _check_value(indicator, value)
    existing = {
        Indicator(f.indicator): f
        for f in session.scalars(
            select(MonthlyFigure).where(
                MonthlyFigure.library_id == library_id,
                MonthlyFigure.year == year,
                MonthlyFigure.month == month,
            )
        )
    }
    changes: dict[str, list] = {}
    for indicator, value in clean.items():
        row = existing.get(indicator)
        old = row.value if row else None
        if old == value:
            continue
        changes[indicator.value] = [old, value]
        if value is None:
            session.delete(row)
        elif row is None:
            session.add(
                MonthlyFigure(
                    library_id=library_id,
                    year=year,
                    month=month,
                    indicator=indicator.value,
                    value=value,
                    entered_by_id=actor_id,
                )
            )
        else:
            row.value = value
            row.entered_by_id = actor_id
    if changes:
        audit(
            session,
            actor_id=actor_id,
            action="plan.figures_set",
            object_type="plan_figures",
            object_id=library_id,
            object_label=f"{site.code} {month:02d}/{year}",
            changes=changes,
        )
        session.flush()
    return len(changes)
