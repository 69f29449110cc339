"""The plan's indicators the catalogue counts: copies acquired and records catalogued, per month."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.network.models import LIBRARY_KINDS, Site, SiteKind
from app.plan.indicators import local_month, month_bounds_utc, year_bounds_utc
from catalog.models import Item, Record


def copies_acquired(session: Session, year: int, library_ids: list[int] | None) -> dict[tuple[int, int], int]:
    """Count the copies created in a year, per holding library and month (Vietnam time), in one query.

    One row per library with twelve counts, each a range count on the index (library_id, created_at):
    that reads only index entries, ~20 ms for 100,000 copies a year on SQLite, where grouping the
    same rows by a computed month (a sort of every copy) takes ten times longer.
    """
    bounds = month_bounds_utc(year)
    months = [
        select(func.count())
        .where(Item.library_id == Site.id, Item.created_at >= bounds[m], Item.created_at < bounds[m + 1])
        .correlate(Site)
        .scalar_subquery()
        for m in range(12)
    ]
    stmt = select(Site.id, *months)
    if library_ids is None:
        stmt = stmt.where(Site.kind.in_([k.value for k in LIBRARY_KINDS]))
    else:
        stmt = stmt.where(Site.id.in_(library_ids))
    return {
        (row[0], month): count
        for row in session.execute(stmt)
        for month, count in enumerate(row[1:], start=1)
        if count
    }


def records_catalogued(
    session: Session, year: int, library_ids: list[int] | None
) -> dict[tuple[int, int], int]:
    """Count the records created in a year, per month, credited to the provincial library.

    A record belongs to no library (the catalogue is shared); the plan gives the records target to
    the provincial library only, so that is where they count. One grouped query.
    """
    start, end = year_bounds_utc(year)
    provincial = (
        select(func.min(Site.id)).where(Site.kind == SiteKind.PROVINCIAL_LIBRARY.value).scalar_subquery()
    )
    month = local_month(session, Record.created_at).label("month")
    stmt = (
        select(provincial, month, func.count())
        .where(Record.created_at >= start, Record.created_at < end)
        .group_by(month)
    )
    rows = session.execute(stmt).all()
    return {
        (lib, m): n for lib, m, n in rows if lib is not None and (library_ids is None or lib in library_ids)
    }
