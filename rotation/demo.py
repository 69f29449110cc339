"""Demo rotation data: batches and shipments in every state, a draft plan and point usage.

`load_demo_rotation(session)` runs after the network's and the catalogue's demo loaders (the app
factory appends it to `app.demo.EXTRA_LOADERS`). Everything goes through the rotation services, so
each change is audited (actor: the system) and the copies' statuses follow the batches. Only the
dates of past dispatches and receipts are moved back afterwards, so that the demo has a history (one
shipment unconfirmed for more than a week shows on the home page's overdue list).

The demo catalogue holds 162 copies, so the batches are small (8 to 12 copies each), far below the
few hundred copies of a real batch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.network.models import POINT_KINDS, Site, SiteKind
from app.timeutil import LOCAL_TZ, local_today
from catalog.models import AccessionSequence, Item, ItemStatus, Record
from catalog.services import add_items
from rotation.models import Batch, BatchStatus, Resolution, Shipment, ShipmentLine
from rotation.services import batches as batch_services
from rotation.services import plans as plan_services
from rotation.services import shipments as shipment_services
from rotation.shipment_queries import add_months
from rotation.usage import first_of_month, record_usage

SEED = 1956
OPERATOR_USERNAME = "point"
POINT_RECEIVER = "Lò Thị Mai"  # who signs for a batch at a point the demo operator does not run
LIBRARY_RECEIVER = "Lường Văn Phong"  # the demo rotation librarian
USAGE_MONTHS = 6


@dataclass(frozen=True)
class BatchPlan:
    """One demo batch: its size and the state it is left in."""

    key: str
    size: int
    notes: str


# The state each batch is left in, in the order they are built.
BATCHES = (
    BatchPlan("assembling", 8, "Lô đang chọn sách cho điểm mới."),
    BatchPlan("ready", 10, "Đã đóng thùng, chờ xe đi Thuận Châu."),
    BatchPlan("overdue", 12, "Gửi đi hơn một tuần, điểm chưa xác nhận nhận."),
    BatchPlan("in_transit", 10, "Gửi đi hôm qua."),
    BatchPlan("at_point", 12, "Điểm nhận thiếu 1 bản sách."),
    BatchPlan("counting", 12, "Đã về thư viện, đang kiểm đếm."),
    BatchPlan("closed", 12, "Đã luân chuyển xong một vòng."),
)


def _at(day: date, hour: int = 9) -> datetime:
    """Return `day` at `hour` o'clock in Vietnam, as UTC."""
    return datetime.combine(day, time(hour), tzinfo=LOCAL_TZ).astimezone(UTC)


def _provincial_library(session: Session) -> Site | None:
    return session.scalar(
        select(Site).where(Site.kind == SiteKind.PROVINCIAL_LIBRARY.value).order_by(Site.id).limit(1)
    )


def _points(session: Session) -> tuple[list[int], list[int]]:
    """Return the demo operator's points and the other active points (ids, in code order)."""
    operator = session.scalar(select(User).where(User.username == OPERATOR_USERNAME))
    own = sorted(operator.site_ids) if operator is not None else []
    others = list(
        session.scalars(
            select(Site.id)
            .where(Site.kind.in_([k.value for k in POINT_KINDS]), Site.is_active, Site.id.not_in(own or [-1]))
            .order_by(Site.code)
            .limit(6)
        )
    )
    return own, others


def _available_copies(session: Session, library_id: int, needed: int) -> list[Item]:
    """Return available demo copies of the library, adding copies to demo records when too few."""
    stmt = (
        select(Item)
        .where(
            Item.is_demo.is_(True),
            Item.library_id == library_id,
            Item.status == ItemStatus.AVAILABLE.value,
            Item.is_rare.is_(False),
            Item.is_local_studies.is_(False),
        )
        .order_by(Item.id)
    )
    items = list(session.scalars(stmt))
    if len(items) < needed:
        record = session.scalar(select(Record).where(Record.is_demo.is_(True)).order_by(Record.id).limit(1))
        series = session.scalar(select(AccessionSequence).where(AccessionSequence.prefix == "VV"))
        if record is None or series is None:
            return items
        added = add_items(
            session,
            record,
            count=needed - len(items),
            sequence_id=series.id,
            values={"library_id": library_id, "status": ItemStatus.AVAILABLE.value},
            actor_id=None,
        )
        for item in added:
            item.is_demo = True
        items.extend(added)
    return items


def _receive(session: Session, shipment: Shipment, name: str, when: datetime, missing=()) -> None:
    shipment_services.receive(
        session,
        shipment,
        actor_id=None,
        actor_site_ids=None,
        received_count=shipment.expected_count - len(missing),
        missing_item_ids=missing,
        received_by_name=name,
    )
    shipment.received_at = when


def _send(session: Session, batch: Batch, to_site_id: int, when: datetime, today: date) -> Shipment:
    due = add_months(today, 3) if batch.status == BatchStatus.READY.value else None
    shipment = shipment_services.dispatch(
        session, batch, to_site_id=to_site_id, actor_id=None, due_back_on=due
    )
    shipment.dispatched_at = when
    return shipment


def load_demo_rotation(session: Session, today: date | None = None) -> str | None:
    """Stage the demo batches, shipments, plan and usage unless demo batches exist; return what was added."""
    if session.scalar(select(exists().where(Batch.is_demo.is_(True)))):
        return None
    library = _provincial_library(session)
    if library is None or not session.scalar(select(exists().where(Record.is_demo.is_(True)))):
        return None
    own, others = _points(session)
    points = own + others
    if len(points) < 5:
        return None
    # The operator's points first; then enough other points for the remaining journeys.
    p1, p2 = (own + others)[:2]
    x, y, z = [p for p in points if p not in (p1, p2)][:3]
    today = today or local_today()
    rng = random.Random(SEED)
    needed = sum(b.size for b in BATCHES)
    items = _available_copies(session, library.id, needed)
    if len(items) < needed:
        return None
    rng.shuffle(items)
    made: dict[str, Batch] = {}
    start = 0
    for plan in BATCHES:
        chosen = items[start : start + plan.size]
        start += plan.size
        batch = batch_services.create_batch(
            session, home_library_id=library.id, target_size=plan.size, notes=plan.notes, actor_id=None
        )
        batch.is_demo = True
        batch_services.add_copies(session, batch, [i.accession_number for i in chosen], None)
        made[plan.key] = batch
        if plan.key != "assembling":
            seal = f"SL-{rng.randrange(100000, 999999)}"
            batch_services.mark_ready(session, batch, seal_number=seal, box_count=1, actor_id=None)
    days = timedelta(days=1)

    # In transit, unconfirmed for ten days: on the overdue list; and one sent yesterday.
    _send(session, made["overdue"], p1, _at(today - 10 * days), today)
    _send(session, made["in_transit"], p2, _at(today - days), today)

    # At a point, received a month ago with one copy missing.
    batch = made["at_point"]
    shipment = _send(session, batch, x, _at(today - 33 * days), today)
    first = session.scalar(
        select(ShipmentLine.item_id).where(ShipmentLine.shipment_id == shipment.id).order_by(ShipmentLine.id)
    )
    _receive(session, shipment, POINT_RECEIVER, _at(today - 30 * days, 15), missing=[first])

    # Back at the library, half counted.
    batch = made["counting"]
    _receive(
        session,
        _send(session, batch, y, _at(today - 100 * days), today),
        POINT_RECEIVER,
        _at(today - 97 * days),
    )
    back = _send(session, batch, library.id, _at(today - 5 * days), today)
    _receive(session, back, LIBRARY_RECEIVER, _at(today - 3 * days))
    lines = list(
        session.scalars(
            select(ShipmentLine).where(ShipmentLine.shipment_id == back.id).order_by(ShipmentLine.id)
        )
    )
    for line in lines[: len(lines) // 2]:
        shipment_services.scan_return(session, back, line.item.accession_number, actor_id=None)

    # Closed after a full round: every copy counted back but one, written off as lost.
    batch = made["closed"]
    _receive(
        session,
        _send(session, batch, z, _at(today - 200 * days), today),
        POINT_RECEIVER,
        _at(today - 197 * days),
    )
    back = _send(session, batch, library.id, _at(today - 20 * days), today)
    _receive(session, back, LIBRARY_RECEIVER, _at(today - 18 * days))
    lines = list(
        session.scalars(
            select(ShipmentLine).where(ShipmentLine.shipment_id == back.id).order_by(ShipmentLine.id)
        )
    )
    for line in lines[1:]:
        shipment_services.scan_return(session, back, line.item.accession_number, actor_id=None)
    shipment_services.finish_count(session, back, actor_id=None)
    session.refresh(lines[0])
    shipment_services.resolve(
        session, lines[0], Resolution.WRITTEN_OFF_LOST, actor_id=None, note="Điểm báo mất, đã lập biên bản."
    )
    shipment_services.reconcile_and_close(session, back, actor_id=None)
    session.flush()

    # The operator's figures for the last months.
    usage_rows = 0
    month = first_of_month(today)
    for _ in range(USAGE_MONTHS):
        month = first_of_month(month - days)
        for site_id in own:
            record_usage(
                session,
                site_id,
                month,
                rng.randrange(30, 120),
                rng.randrange(80, 400),
                rng.randrange(0, 12),
                actor_id=None,
                today=today,
            )
            usage_rows += 1

    result = plan_services.solve_plan(
        session,
        year=today.year,
        period_months=1,
        actor_id=None,
        name=f"Kế hoạch luân chuyển năm {today.year} (bản nháp demo)",
    )
    cells = len(result.plan.cells())
    shipments = session.scalar(
        select(func.count()).select_from(Shipment).join(Batch).where(Batch.is_demo.is_(True))
    )
    return (
        f"Demo rotation: {len(made)} small batches ({start} copies; the demo catalogue is small), "
        f"{shipments} shipments, a draft plan for {today.year} ({cells} cells), "
        f"{usage_rows} monthly usage reports of {len(own)} points."
    )
