"""Reads about shipments: lists, pending receipts, holders, custody history and overdue batches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.network.models import Site
from app.timeutil import LOCAL_TZ, to_local
from rotation.models import (
    Batch,
    BatchItem,
    BatchStatus,
    LineState,
    PointUsage,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)

# Circular 33/2018, Article 6: a batch stays at one point for at most 6 months.
MAX_STAY_MONTHS = 6


def add_months(day: date, months: int) -> date:
    """Return the same day `months` later (clamped to the month's last day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), LOCAL_TZ).astimezone(UTC)


# --- lists --------------------------------------------------------------------------------------


def list_shipments(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    site_id: int | None = None,
    batch_code: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Shipment], int]:
    """Return one page of shipments, newest first, and the total, filtered as asked."""
    query = select(Shipment)
    if status:
        query = query.where(Shipment.status == status)
    if kind:
        query = query.where(Shipment.kind == kind)
    if site_id:
        query = query.where(or_(Shipment.from_site_id == site_id, Shipment.to_site_id == site_id))
    if batch_code:
        query = query.join(Batch, Batch.id == Shipment.batch_id).where(
            Batch.code == batch_code.strip().upper()
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Shipment.dispatched_at.desc(), Shipment.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return list(rows), total


def pending_for_sites(session: Session, site_ids: Iterable[int]) -> list[Shipment]:
    """Return the shipments addressed to these sites that wait for confirmation, oldest first."""
    ids = list(site_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            select(Shipment)
            .where(Shipment.to_site_id.in_(ids), Shipment.status == ShipmentStatus.DISPATCHED.value)
            .order_by(Shipment.dispatched_at, Shipment.id)
        )
    )


def lines_of(session: Session, shipment_id: int) -> list[ShipmentLine]:
    """Return a shipment's lines with their copies, in accession-number order."""
    from catalog.models import Item

    return list(
        session.scalars(
            select(ShipmentLine)
            .join(Item, Item.id == ShipmentLine.item_id)
            .where(ShipmentLine.shipment_id == shipment_id)
            .order_by(Item.accession_number)
        )
    )


# --- holders and history ------------------------------------------------------------------------


def open_batch_of(session: Session, item_id: int) -> Batch | None:
    """Return the open batch a copy belongs to, or None."""
    return session.scalar(
        select(Batch)
        .join(BatchItem, BatchItem.batch_id == Batch.id)
        # Plain "is_open" (not "IS true"), so PostgreSQL can use the partial unique index.
        .where(BatchItem.item_id == item_id, BatchItem.is_open)
    )


@dataclass(frozen=True)
class CopyHolder:
    """Who holds a copy: a site (None while in transit) and the open batch it travels in."""

    site_id: int | None
    batch: Batch | None
    in_transit: bool


def copy_holder(session: Session, item_id: int) -> CopyHolder:
    """Return the holder of a copy: its open batch's holder, else the library that owns it."""
    from catalog.models import Item

    batch = open_batch_of(session, item_id)
    if batch is not None:
        return CopyHolder(batch.holder_site_id, batch, batch.holder_site_id is None)
    item = session.get(Item, item_id)
    return CopyHolder(item.library_id if item else None, None, False)


def batch_history(session: Session, batch_id: int) -> list[Shipment]:
    """Return every shipment of a batch, oldest first: its chain of custody."""
    return list(
        session.scalars(
            select(Shipment)
            .where(Shipment.batch_id == batch_id)
            .order_by(Shipment.dispatched_at, Shipment.id)
        )
    )


def copy_history(session: Session, item_id: int) -> list[tuple[Shipment, ShipmentLine]]:
    """Return every shipment that carried (or found) a copy, oldest first, with the copy's line."""
    rows = session.execute(
        select(Shipment, ShipmentLine)
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(ShipmentLine.item_id == item_id)
        .order_by(Shipment.dispatched_at, Shipment.id)
    ).all()
    return [(s, line) for s, line in rows]


def site_history(session: Session, site_id: int) -> list[Shipment]:
    """Return every shipment to or from a site, oldest first: what it received and sent, and when."""
    return list(
        session.scalars(
            select(Shipment)
            .where(or_(Shipment.to_site_id == site_id, Shipment.from_site_id == site_id))
            .order_by(Shipment.dispatched_at, Shipment.id)
        )
    )


# --- overdue ------------------------------------------------------------------------------------

UNCONFIRMED = "unconfirmed"
PAST_DUE = "past_due"


@dataclass(frozen=True)
class Overdue:
    """A batch that needs chasing: a shipment nobody confirmed, or a stay past its due date."""

    kind: str  # UNCONFIRMED or PAST_DUE
    batch_id: int
    batch_code: str
    site_id: int
    site_name: str
    since: date  # dispatch day (unconfirmed) or due date (past due)
    shipment_id: int | None

    def as_json(self) -> dict:
        """Return the plain form used by `flask rotation overdue --json`."""
        return {
            "batch": self.batch_code,
            "kind": self.kind,
            "site": self.site_name,
            "site_id": self.site_id,
            "since": self.since.isoformat(),
            "shipment_id": self.shipment_id,
        }


def overdue(session: Session, today: date, unconfirmed_after_days: int = 7) -> list[Overdue]:
    """Return shipments unconfirmed N days after dispatch and batches kept at a point past their date."""
    found: list[Overdue] = []
    cutoff = _local_midnight_utc(today - timedelta(days=unconfirmed_after_days))
    for shipment in session.scalars(
        select(Shipment)
        .where(Shipment.status == ShipmentStatus.DISPATCHED.value, Shipment.dispatched_at < cutoff)
        .order_by(Shipment.dispatched_at)
    ):
        found.append(
            Overdue(
                UNCONFIRMED,
                shipment.batch_id,
                shipment.batch.code,
                shipment.to_site_id,
                shipment.to_site.name,
                to_local(shipment.dispatched_at).date(),
                shipment.id,
            )
        )
    # For each batch at a point, the receipt that brought it there.
    arrived = (
        select(Shipment.batch_id, func.max(Shipment.received_at).label("received_at"))
        .where(Shipment.status == ShipmentStatus.RECEIVED.value)
        .group_by(Shipment.batch_id)
        .subquery()
    )
    rows = session.execute(
        select(Batch, arrived.c.received_at)
        .outerjoin(arrived, arrived.c.batch_id == Batch.id)
        .where(Batch.status == BatchStatus.AT_POINT.value)
        .order_by(Batch.code)
    ).all()
    for batch, received_at in rows:
        due = batch.due_back_on
        if due is None and received_at is not None:
            due = add_months(to_local(received_at).date(), MAX_STAY_MONTHS)
        if due is not None and due < today:
            holder = session.get(Site, batch.holder_site_id)
            found.append(
                Overdue(PAST_DUE, batch.id, batch.code, holder.id, holder.name, due, None),
            )
    return found


@dataclass(frozen=True)
class LineRow:
    """A shipment line as pages show it: no ORM objects, one query for 300 copies."""

    line_id: int
    item_id: int
    accession_number: str
    call_number: str
    title: str
    state: str
    resolution: str | None
    note: str


def line_rows(session: Session, shipment_id: int, states: Iterable[str] | None = None) -> list[LineRow]:
    """Return a shipment's lines with accession number, call number and title, in accession order."""
    from catalog.models import Item, Record

    query = (
        select(
            ShipmentLine.id,
            ShipmentLine.item_id,
            Item.accession_number,
            Item.call_number,
            Record.title,
            ShipmentLine.state,
            ShipmentLine.resolution,
            ShipmentLine.note,
        )
        .join(Item, Item.id == ShipmentLine.item_id)
        .join(Record, Record.id == Item.record_id)
        .where(ShipmentLine.shipment_id == shipment_id)
        .order_by(Item.accession_number)
    )
    if states is not None:
        query = query.where(ShipmentLine.state.in_(list(states)))
    return [LineRow(*row) for row in session.execute(query)]


def open_shipment_of(session: Session, batch_id: int) -> Shipment | None:
    """Return the batch's shipment on its way (at most one, by the partial unique index), or None."""
    return session.scalar(
        select(Shipment).where(
            Shipment.batch_id == batch_id, Shipment.status == ShipmentStatus.DISPATCHED.value
        )
    )


# --- rotation points: the list and each point's history ----------------------------------------
# (the helper for points owns this section)

NO_DISTRICT_NAME = "—"


def current_district(site: Site) -> str:
    """Return the name of the district a site is in now (the commune after the 2025 reform), or "—"."""
    unit = site.admin_unit
    if unit is None:
        return NO_DISTRICT_NAME
    return (unit.district or unit).name


@dataclass(frozen=True)
class PointRow:
    """One line of the points list: the point, its district, the batches it holds, its last receipt."""

    site: Site
    district: str
    held: tuple[tuple[int, str], ...]  # (batch id, code) of the batches at the point now
    incoming: tuple[tuple[int, str], ...]  # (shipment id, batch code) of the batches on their way to it
    last_received_at: datetime | None


def list_points(
    session: Session,
    *,
    district: str | None = None,
    kind: str | None = None,
    q: str = "",
    site_ids: Iterable[int] | None = None,
    include_inactive: bool = True,
) -> list[PointRow]:
    """Return the rotation points (only `site_ids` when given), by district then name, filtered as asked.

    `q` matches code, name, person in charge and district without regard to diacritics (app.text.fold).
    A network has a few hundred points, so filtering by district and text happens here, in Python.
    """
    from app.network.models import POINT_KINDS
    from app.text import fold, sort_key_str

    kinds = [k.value for k in POINT_KINDS]
    query = select(Site).where(Site.kind.in_([kind] if kind in kinds else kinds))
    if site_ids is not None:
        query = query.where(Site.id.in_(list(site_ids) or [-1]))
    if not include_inactive:
        query = query.where(Site.is_active.is_(True))
    sites = list(session.scalars(query.order_by(Site.sort_key, Site.code)))
    needle = fold(q.strip())
    chosen: list[tuple[Site, str]] = []
    for site in sites:
        name = current_district(site)
        if district and name != district:
            continue
        if needle and needle not in fold(f"{site.code} {site.name} {site.contact_person} {name}"):
            continue
        chosen.append((site, name))
    ids = [s.id for s, _ in chosen] or [-1]
    held: dict[int, list[tuple[int, str]]] = {}
    for batch_id, code, holder in session.execute(
        select(Batch.id, Batch.code, Batch.holder_site_id)
        .where(Batch.status == BatchStatus.AT_POINT.value, Batch.holder_site_id.in_(ids))
        .order_by(Batch.code)
    ):
        held.setdefault(holder, []).append((batch_id, code))
    incoming: dict[int, list[tuple[int, str]]] = {}
    for shipment_id, code, to_site in session.execute(
        select(Shipment.id, Batch.code, Shipment.to_site_id)
        .join(Shipment, Shipment.batch_id == Batch.id)
        .where(Shipment.status == ShipmentStatus.DISPATCHED.value, Shipment.to_site_id.in_(ids))
        .order_by(Batch.code)
    ):
        incoming.setdefault(to_site, []).append((shipment_id, code))
    last = dict(
        session.execute(
            select(Shipment.to_site_id, func.max(Shipment.received_at))
            .where(Shipment.status == ShipmentStatus.RECEIVED.value, Shipment.to_site_id.in_(ids))
            .group_by(Shipment.to_site_id)
        ).all()
    )
    rows = [
        PointRow(
            site, name, tuple(held.get(site.id, ())), tuple(incoming.get(site.id, ())), last.get(site.id)
        )
        for site, name in chosen
    ]
    rows.sort(key=lambda r: (r.district == NO_DISTRICT_NAME, sort_key_str(r.district), r.site.sort_key))
    return rows


def point_districts(session: Session, site_ids: Iterable[int] | None = None) -> list[str]:
    """Return the districts that have rotation points (of `site_ids` when given), in Vietnamese order."""
    from app.text import sort_key_str

    names = {r.district for r in list_points(session, site_ids=site_ids)}
    return sorted(names, key=lambda n: (n == NO_DISTRICT_NAME, sort_key_str(n)))


@dataclass(frozen=True)
class PointVisit:
    """One stay of a batch at a point: how it came, who received it, how it left and what was missing."""

    arrival: Shipment
    received_by: str  # the name typed at receipt (or the account's name)
    missing_on_arrival: int
    damaged_on_arrival: int
    departure: Shipment | None  # the shipment that took the batch on (None while it is still there)
    differences: tuple[LineRow, ...]  # missing, damaged or extra copies found when it left


@dataclass(frozen=True)
class PointTitle:
    """A title a point has received, how many times and when last: for "no title twice" decisions."""

    record_id: int
    title: str
    times: int
    last_received_at: datetime | None


DIFFERENCE_STATES = (LineState.MISSING.value, LineState.DAMAGED.value, LineState.EXTRA.value)


def point_visits(session: Session, site_id: int) -> list[PointVisit]:
    """Return every batch sent to a point, newest first, paired with the shipment that took it away."""
    from app.auth.models import User

    shipments = [s for s in site_history(session, site_id) if s.status != ShipmentStatus.CANCELLED.value]
    arrivals = [s for s in shipments if s.to_site_id == site_id]
    departures: dict[int, Shipment] = {}
    for arrival in arrivals:
        departures_of_batch = [
            s
            for s in shipments
            if s.batch_id == arrival.batch_id
            and s.from_site_id == site_id
            and (s.dispatched_at, s.id) > (arrival.dispatched_at, arrival.id)
        ]
        if departures_of_batch:
            departures[arrival.id] = departures_of_batch[0]
    ids = [s.id for s in arrivals] + [s.id for s in departures.values()]
    counts: dict[tuple[int, str], int] = {}
    if ids:
        for shipment_id, state, n in session.execute(
            select(ShipmentLine.shipment_id, ShipmentLine.state, func.count())
            .where(ShipmentLine.shipment_id.in_(ids))
            .group_by(ShipmentLine.shipment_id, ShipmentLine.state)
        ):
            counts[(shipment_id, state)] = n
    differences: dict[int, list[LineRow]] = {}
    if departures:
        from catalog.models import Item, Record

        for shipment_id, *row in session.execute(
            select(
                ShipmentLine.shipment_id,
                ShipmentLine.id,
                ShipmentLine.item_id,
                Item.accession_number,
                Item.call_number,
                Record.title,
                ShipmentLine.state,
                ShipmentLine.resolution,
                ShipmentLine.note,
            )
            .join(Item, Item.id == ShipmentLine.item_id)
            .join(Record, Record.id == Item.record_id)
            .where(
                ShipmentLine.shipment_id.in_([s.id for s in departures.values()]),
                ShipmentLine.state.in_(DIFFERENCE_STATES),
            )
            .order_by(Item.accession_number)
        ):
            differences.setdefault(shipment_id, []).append(LineRow(*row))
    user_ids = {s.received_by_id for s in arrivals if s.received_by_id}
    users = (
        dict(session.execute(select(User.id, User.full_name).where(User.id.in_(user_ids))).all())
        if user_ids
        else {}
    )
    visits = []
    for arrival in reversed(arrivals):
        departure = departures.get(arrival.id)
        visits.append(
            PointVisit(
                arrival=arrival,
                received_by=arrival.received_by_name or users.get(arrival.received_by_id) or "",
                missing_on_arrival=counts.get((arrival.id, LineState.MISSING.value), 0),
                damaged_on_arrival=counts.get((arrival.id, LineState.DAMAGED.value), 0),
                departure=departure,
                differences=tuple(differences.get(departure.id, ())) if departure else (),
            )
        )
    return visits


def point_titles(session: Session, site_id: int) -> list[PointTitle]:
    """Return the titles a point has received (copies not missing on arrival), in Vietnamese title order."""
    from app.text import sort_key_str
    from catalog.models import Item, Record

    rows = session.execute(
        select(
            Record.id,
            Record.title,
            func.count(func.distinct(Shipment.id)),
            func.max(Shipment.received_at),
        )
        .select_from(ShipmentLine)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Item, Item.id == ShipmentLine.item_id)
        .join(Record, Record.id == Item.record_id)
        .where(
            Shipment.to_site_id == site_id,
            Shipment.status == ShipmentStatus.RECEIVED.value,
            ShipmentLine.state != LineState.MISSING.value,
        )
        .group_by(Record.id, Record.title)
    ).all()
    titles = [PointTitle(rid, title, int(times), last) for rid, title, times, last in rows]
    return sorted(titles, key=lambda t: (sort_key_str(t.title), t.record_id))


def point_usage(session: Session, site_id: int) -> list[PointUsage]:
    """Return a point's monthly usage figures, newest month first."""
    return list(
        session.scalars(
            select(PointUsage).where(PointUsage.site_id == site_id).order_by(PointUsage.month.desc())
        )
    )
