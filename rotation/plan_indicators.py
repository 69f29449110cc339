"""The plan's indicator the rotation counts: batches dispatched from a library to points, per month."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.plan.indicators import local_month, year_bounds_utc
from rotation.models import Shipment, ShipmentKind, ShipmentStatus


def rotations(session: Session, year: int, library_ids: list[int] | None) -> dict[tuple[int, int], int]:
    """Count the batches a library dispatched to rotation points in a year, per month (cancelled ones not)."""
    start, end = year_bounds_utc(year)
    month = local_month(session, Shipment.dispatched_at).label("month")
    stmt = (
        select(Shipment.from_site_id, month, func.count())
        .where(
            Shipment.kind == ShipmentKind.LIBRARY_TO_POINT.value,
            Shipment.status != ShipmentStatus.CANCELLED.value,
            Shipment.dispatched_at >= start,
            Shipment.dispatched_at < end,
        )
        .group_by(Shipment.from_site_id, month)
    )
    if library_ids is not None:
        stmt = stmt.where(Shipment.from_site_id.in_(library_ids))
    return {(lib, m): n for lib, m, n in session.execute(stmt)}
