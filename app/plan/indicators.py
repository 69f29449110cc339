"""Registry of the indicators the software counts itself, and SQL helpers for their providers.

The foundation imports neither the catalogue nor the rotation: those packages write a provider
(catalog/plan_indicators.py, rotation/plan_indicators.py) and the application factory registers it
here. A provider answers one grouped SQL query:
``fn(session, year, library_ids) -> {(library_id, month): count}`` (months 1–12 in Vietnam time;
``library_ids`` None means every library).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Integer, cast, func
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from app.plan.models import COMPUTED_INDICATORS, Indicator
from app.timeutil import LOCAL_TZ

Provider = Callable[[Session, int, "list[int] | None"], dict[tuple[int, int], int]]

_PROVIDERS: dict[Indicator, Provider] = {}

# Vietnam has kept UTC+7 all year since 1975: a fixed offset is exact for the dates we count.
LOCAL_OFFSET_HOURS = 7


def register_provider(indicator: Indicator | str, fn: Provider) -> None:
    """Register the function that counts a computed indicator (the last registration wins)."""
    indicator = Indicator(indicator)
    if indicator not in COMPUTED_INDICATORS:
        raise ValueError(f"{indicator} is entered by hand, not computed")
    _PROVIDERS[indicator] = fn


def provider_for(indicator: Indicator | str) -> Provider | None:
    """Return the registered provider of an indicator, or None."""
    return _PROVIDERS.get(Indicator(indicator))


def registered() -> frozenset[Indicator]:
    """Return the computed indicators that have a provider."""
    return frozenset(_PROVIDERS)


def computed_figures(
    session: Session, year: int, library_ids: list[int] | None
) -> dict[Indicator, dict[tuple[int, int], int]]:
    """Run every registered provider for a year: indicator -> {(library_id, month): count}."""
    return {ind: fn(session, year, library_ids) for ind, fn in _PROVIDERS.items()}


def year_bounds_utc(year: int) -> tuple[datetime, datetime]:
    """Return [start, end) of a calendar year in Vietnam, as UTC datetimes (for index-friendly ranges)."""
    start = datetime(year, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC)
    end = datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC)
    return start, end


def month_bounds_utc(year: int) -> list[datetime]:
    """Return the 13 UTC instants that start each month of a year in Vietnam (and the next year)."""
    starts = [datetime(year, month, 1, tzinfo=LOCAL_TZ) for month in range(1, 13)]
    starts.append(datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ))
    return [moment.astimezone(UTC) for moment in starts]


def local_month(session: Session, column) -> ColumnElement[int]:
    """Return an SQL expression for the month (1–12, Vietnam time) of a UTC timestamp column."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("month", func.timezone("Asia/Ho_Chi_Minh", column)), Integer)
    # SQLite stores naive UTC text: shift by the fixed offset, then take the month.
    return cast(func.strftime("%m", column, f"+{LOCAL_OFFSET_HOURS} hours"), Integer)
