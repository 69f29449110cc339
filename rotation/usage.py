"""Point usage (Circular 33/2018) per point per month, and rotation statistics (trips, copies, points).

A point operator records usage only for their own points (`actor_site_ids`); staff (no site list)
for any rotation point. One row per point and month: entering a month again replaces its figures.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.errors import N_, PermissionDenied, ValidationError
from app.network.models import POINT_KINDS, Site
from rotation.models import Batch, BatchStatus, PointUsage, Shipment, ShipmentKind, ShipmentStatus
from rotation.services.plans import district_name

FIGURES = ("visitors", "item_uses", "reader_requests")


def first_of_month(day: date) -> date:
    """Return the first day of `day`'s month."""
    return day.replace(day=1)


def record_usage(
    session: Session,
    site_id: int,
    month: date,
    visitors: int,
    item_uses: int,
    reader_requests: int,
    *,
    actor_id: int | None,
    actor_site_ids: Iterable[int] | None = None,
    notes: str = "",
    today: date | None = None,
) -> PointUsage:
    """Stage a point's figures for a month (replacing earlier ones); operators only for their points."""
    site = session.get(Site, site_id)
    if site is None or site.kind not in POINT_KINDS:
        raise ValidationError(N_("Choose a rotation point."), field="site_id")
    if actor_site_ids is not None and site_id not in set(actor_site_ids):
        raise PermissionDenied(N_("You can only report usage for your own points."))
    month = first_of_month(month)
    if today is not None and month > first_of_month(today):
        raise ValidationError(N_("This month has not started yet."), field="month")
    values = {"visitors": visitors, "item_uses": item_uses, "reader_requests": reader_requests}
    for name, value in values.items():
        if value is None or int(value) < 0:
            raise ValidationError(N_("Enter zero or a positive number."), field=name)
    row = session.scalar(select(PointUsage).where(PointUsage.site_id == site_id, PointUsage.month == month))
    before = audit.snapshot(row, [*FIGURES, "notes"]) if row else {}
    if row is None:
        row = PointUsage(site_id=site_id, month=month)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, int(value))
    row.notes = (notes or "").strip()[:500]
    row.entered_by_id = actor_id
    session.flush()
    changes = audit.diff(before, audit.snapshot(row, [*FIGURES, "notes"]))
    if changes:
        audit.record(
            session,
            actor_id=actor_id,
            action="usage.record",
            object_type="point_usage",
            object_id=row.id,
            object_label=f"{site.code} {month:%m/%Y}",
            changes=changes,
        )
        session.flush()
    return row


def usage_rows(session: Session, year: int, site_ids: Iterable[int] | None = None) -> list[PointUsage]:
    """Return the usage rows of a year, by point then month (only `site_ids` when given)."""
    stmt = select(PointUsage).where(
        PointUsage.month >= date(year, 1, 1), PointUsage.month <= date(year, 12, 1)
    )
    if site_ids is not None:
        stmt = stmt.where(PointUsage.site_id.in_(list(site_ids) or [-1]))
    return list(session.scalars(stmt.order_by(PointUsage.site_id, PointUsage.month)))


@dataclass
class Totals:
    """Summed usage figures."""

    visitors: int = 0
    item_uses: int = 0
    reader_requests: int = 0

    def add(self, row: PointUsage) -> None:
        """Add a row's figures."""
        self.visitors += row.visitors
        self.item_uses += row.item_uses
        self.reader_requests += row.reader_requests


def totals_by_point(rows: Iterable[PointUsage]) -> dict[int, Totals]:
    """Return site id -> the sum of its rows."""
    out: dict[int, Totals] = defaultdict(Totals)
    for row in rows:
        out[row.site_id].add(row)
    return dict(out)


def totals_by_district(session: Session, rows: Iterable[PointUsage]) -> dict[str, Totals]:
    """Return district name -> totals, each month counted in the district (or commune) of that month."""
    out: dict[str, Totals] = defaultdict(Totals)
    sites: dict[int, Site | None] = {}
    for row in rows:
        if row.site_id not in sites:
            sites[row.site_id] = session.get(Site, row.site_id)
        site = sites[row.site_id]
        if site is not None:
            out[district_name(session, site, row.month)].add(row)
    return dict(sorted(out.items()))


# --- rotation statistics (trips and copies rotated) ---------------------------------------------


@dataclass
class StatsRow:
    """Deliveries to points in one period and district: trips (shipments), copies, points served."""

    period: int
    district: str
    trips: int = 0
    copies: int = 0
    points: int = 0


@dataclass
class StatsReport:
    """Rotation statistics of a year, and the overdue counts on `today`."""

    year: int
    period_months: int
    rows: list[StatsRow]
    unconfirmed: int
    overdue_batches: int


def rotation_stats(
    session: Session, year: int, period_months: int, *, today: date, unconfirmed_days: int = 7
) -> StatsReport:
    """Return trips, copies and points served per period and district (the unit in force on the day)."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    shipments = session.scalars(
        select(Shipment).where(
            Shipment.kind.in_([ShipmentKind.LIBRARY_TO_POINT.value, ShipmentKind.POINT_TO_POINT.value]),
            Shipment.status != ShipmentStatus.CANCELLED.value,
            Shipment.dispatched_at >= start,
            Shipment.dispatched_at < end,
        )
    ).all()
    cells: dict[tuple[int, str], StatsRow] = {}
    served: dict[tuple[int, str], set[int]] = defaultdict(set)
    for shipment in shipments:
        day = shipment.dispatched_at.date()
        period = (day.month - 1) // period_months + 1
        district = district_name(session, shipment.to_site, day)
        row = cells.setdefault((period, district), StatsRow(period, district))
        row.trips += 1
        row.copies += shipment.expected_count
        served[(period, district)].add(shipment.to_site_id)
    for key, row in cells.items():
        row.points = len(served[key])
    cutoff = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(days=unconfirmed_days)
    unconfirmed = session.scalar(
        select(func.count(Shipment.id)).where(
            Shipment.status == ShipmentStatus.DISPATCHED.value, Shipment.dispatched_at < cutoff
        )
    )
    overdue = session.scalar(
        select(func.count(Batch.id)).where(
            Batch.status == BatchStatus.AT_POINT.value,
            Batch.due_back_on.is_not(None),
            Batch.due_back_on < today,
        )
    )
    rows = sorted(cells.values(), key=lambda r: (r.period, r.district))
    return StatsReport(year, period_months, rows, unconfirmed or 0, overdue or 0)


def stats_csv(report: StatsReport) -> str:
    """Return the statistics as CSV text (UTF-8, comma-separated, one header row)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["year", "period", "district", "trips", "copies", "points_served"])
    for row in report.rows:
        district = "'" + row.district if row.district[:1] in ("=", "+", "-", "@") else row.district
        writer.writerow([report.year, row.period, district, row.trips, row.copies, row.points])
    return out.getvalue()
