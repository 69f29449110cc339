"""Progress against the plan: actual by month, cumulative, % done, expected by now, pace needed."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.plan.indicators import computed_figures, registered
from app.plan.models import COMPUTED_INDICATORS, Indicator, MonthlyFigure, PlanTarget
from app.timeutil import local_today

MONTHS = range(1, 13)


@dataclass
class IndicatorProgress:
    """One indicator's year: target, actual per month and the arithmetic of the pace."""

    indicator: Indicator
    target: int | None
    target_source: str | None  # "own", "sum" (province: the libraries' targets added up) or None
    monthly: list[int]  # 12 values, January first
    months_elapsed: int  # how many months of the year have begun (0–12)
    elapsed_fraction: float  # share of the year gone, by days (0–1)
    closed: bool = False  # the year is over
    available: bool = True  # False when a computed indicator has no provider

    @property
    def computed(self) -> bool:
        return self.indicator in COMPUTED_INDICATORS

    @property
    def cumulative(self) -> list[int]:
        """Running totals, January first (12 values)."""
        out, total = [], 0
        for value in self.monthly:
            total += value
            out.append(total)
        return out

    @property
    def total(self) -> int:
        return sum(self.monthly)

    @property
    def percent(self) -> float | None:
        """Share of the target done, in percent (None without a positive target)."""
        if not self.target:
            return None
        return self.total * 100.0 / self.target

    @property
    def expected_now(self) -> float | None:
        """What a steady (linear) pace would have reached by today."""
        if self.target is None:
            return None
        return self.target * self.elapsed_fraction

    @property
    def ahead(self) -> bool | None:
        """True when at or above the linear pace (None without a target)."""
        expected = self.expected_now
        return None if expected is None else self.total >= expected

    @property
    def remaining(self) -> int | None:
        if self.target is None:
            return None
        return max(self.target - self.total, 0)

    @property
    def needed_per_month(self) -> float | None:
        """The monthly figure needed from now on (this month included) to reach the target.

        None for a past year or without a target; a year to come needs target / 12.
        """
        if self.target is None or self.closed:
            return None
        months_left = 12 - max(self.months_elapsed, 1) + 1
        return self.remaining / months_left


@dataclass
class Progress:
    """The progress of a library (or, library_id None, the province) in a year, as of a day."""

    year: int
    library_id: int | None
    as_of: date
    rows: list[IndicatorProgress] = field(default_factory=list)

    def row(self, indicator: Indicator | str) -> IndicatorProgress:
        """Return the row of one indicator."""
        indicator = Indicator(indicator)
        return next(r for r in self.rows if r.indicator == indicator)


def year_position(year: int, today: date) -> tuple[int, float]:
    """Return (months begun, share of the year gone by days, today counted) for a year as of today."""
    if year < today.year:
        return 12, 1.0
    if year > today.year:
        return 0, 0.0
    days_in_year = 366 if calendar.isleap(year) else 365
    day_of_year = (today - date(year, 1, 1)).days + 1
    return today.month, day_of_year / days_in_year


def progress(session: Session, year: int, library_id: int | None, today: date | None = None) -> Progress:
    """Compute the progress of a library, or of the province (library_id None) summing its libraries."""
    today = today or local_today()
    months_elapsed, fraction = year_position(year, today)
    library_ids = None if library_id is None else [library_id]

    # Targets: one query. The province uses its own target when set, else the sum of the libraries'.
    target_rows = session.execute(
        select(PlanTarget.library_id, PlanTarget.indicator, PlanTarget.value).where(
            PlanTarget.year == year,
            *([] if library_id is None else [PlanTarget.library_id == library_id]),
        )
    ).all()
    own: dict[Indicator, int] = {}
    summed: dict[Indicator, int] = {}
    for lib, ind, value in target_rows:
        indicator = Indicator(ind)
        if lib is None:
            own[indicator] = value
        else:
            summed[indicator] = summed.get(indicator, 0) + value

    # Hand-entered figures: one grouped query.
    stmt = (
        select(MonthlyFigure.indicator, MonthlyFigure.month, func.sum(MonthlyFigure.value))
        .where(MonthlyFigure.year == year)
        .group_by(MonthlyFigure.indicator, MonthlyFigure.month)
    )
    if library_id is not None:
        stmt = stmt.where(MonthlyFigure.library_id == library_id)
    monthly: dict[Indicator, list[int]] = {ind: [0] * 12 for ind in Indicator}
    for ind, month, value in session.execute(stmt):
        indicator = Indicator(ind)
        if indicator not in COMPUTED_INDICATORS:
            monthly[indicator][month - 1] += int(value)

    # Computed indicators: one grouped query per provider.
    for indicator, counts in computed_figures(session, year, library_ids).items():
        for (_lib, month), count in counts.items():
            monthly[indicator][month - 1] += int(count)

    have_provider = registered()
    result = Progress(year=year, library_id=library_id, as_of=today)
    for indicator in Indicator:
        if indicator in own:
            target, source = own[indicator], "own"
        elif indicator in summed:
            target, source = summed[indicator], ("sum" if library_id is None else "own")
        else:
            target, source = None, None
        result.rows.append(
            IndicatorProgress(
                indicator=indicator,
                target=target,
                target_source=source,
                monthly=monthly[indicator],
                months_elapsed=months_elapsed,
                elapsed_fraction=fraction,
                closed=year < today.year,
                available=indicator not in COMPUTED_INDICATORS or indicator in have_provider,
            )
        )
    return result
