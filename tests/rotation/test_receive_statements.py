"""Confirming a receipt of a big shipment issues a handful of SQL statements, not one per copy."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.errors import Conflict
from app.network.models import SiteKind
from catalog.models import Item, ItemStatus
from catalog.services import create_sequence
from rotation.models import BatchStatus, LineState, Shipment, ShipmentLine, ShipmentStatus
from rotation.services import shipments as svc

COPIES = 250


@contextmanager
def count_statements(engine):
    """Yield a list that collects every statement the engine sends (executemany counts once)."""
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def big_shipment(session, make_site, make_ready_batch):
    """A batch of 250 copies dispatched from the library to a point; returns (shipment id, point id)."""
    library = make_site(code="TVT", name="Thư viện tỉnh", kind=SiteKind.PROVINCIAL_LIBRARY)
    point = make_site(code="BDVH1", name="Điểm BĐVHX Chiềng Cơi")
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    batch = make_ready_batch(
        library_id=library.id,
        sequence_id=seq.id,
        code="LC-2026-0250",
        title="Sách thử luân chuyển",
        copies=COPIES,
    )
    session.commit()
    shipment = svc.dispatch(session, batch, to_site_id=point.id, actor_id=None)
    session.commit()
    return shipment.id, point.id


def test_receipt_of_250_copies_takes_a_handful_of_statements(session, engine, big_shipment):
    shipment_id, point_id = big_shipment
    item_ids = sorted(
        session.scalars(select(ShipmentLine.item_id).where(ShipmentLine.shipment_id == shipment_id))
    )
    missing, damaged = item_ids[:3], item_ids[3:5]
    versions_before = {
        i: v for i, v in session.execute(select(Item.id, Item.version).where(Item.id.in_(item_ids)))
    }
    # As a request would: a fresh session, the shipment loaded by id.
    with Session(engine) as own, count_statements(engine) as seen:
        row = svc.get_shipment(own, shipment_id)
        svc.receive(
            own,
            row,
            actor_id=None,
            actor_site_ids={point_id},
            received_count=COPIES - 3,
            missing_item_ids=missing,
            damaged_item_ids=damaged,
            received_by_name="Lò Thị Xuân",
        )
        own.commit()
    assert len(seen) < 30, f"{len(seen)} statements"

    session.expire_all()
    shipment = session.get(Shipment, shipment_id)
    assert shipment.status == ShipmentStatus.RECEIVED and shipment.version == 2
    assert shipment.batch.status == BatchStatus.AT_POINT and shipment.batch.holder_site_id == point_id
    lines = {
        line.item_id: line
        for line in session.scalars(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment_id))
    }
    for item_id in item_ids:
        line = lines[item_id]
        if item_id in missing:
            assert (line.state, line.scanned_at) == (LineState.MISSING, None)
            assert line.item.status == ItemStatus.IN_TRANSIT
            assert line.item.version == versions_before[item_id]
        else:
            want = LineState.DAMAGED if item_id in damaged else LineState.RECEIVED
            assert line.state == want and line.scanned_at is not None
            assert line.item.status == ItemStatus.AT_POINT
            assert line.item.version == versions_before[item_id] + 1
    actions = sorted(
        session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.in_(["shipment.receive", "batch.receive"]))
        )
    )
    assert actions == ["batch.receive", "shipment.receive"]
    event_row = session.scalar(select(AuditEvent).where(AuditEvent.action == "shipment.receive"))
    assert event_row.changes["missing"] == [None, missing]
    assert event_row.changes["damaged"] == [None, damaged]


def test_a_copy_changed_meanwhile_stops_the_receipt(session, engine, big_shipment):
    shipment_id, point_id = big_shipment
    with Session(engine) as own:
        row = svc.get_shipment(own, shipment_id)
        lines = own.scalars(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment_id)).all()
        changed = lines[7].item_id  # read by this request, then edited by someone else
        other = session.get(Item, changed)
        other.notes = "Bìa rách"
        session.commit()
        with pytest.raises(Conflict, match="changed by someone else"):
            svc.receive(
                own,
                row,
                actor_id=None,
                actor_site_ids={point_id},
                received_count=COPIES,
                received_by_name="Lò Thị Xuân",
            )
        own.rollback()
    session.expire_all()
    assert session.get(Shipment, shipment_id).status == ShipmentStatus.DISPATCHED
    statuses = set(session.scalars(select(Item.status).join(ShipmentLine, ShipmentLine.item_id == Item.id)))
    assert statuses == {ItemStatus.IN_TRANSIT}
    states = set(session.scalars(select(ShipmentLine.state).where(ShipmentLine.shipment_id == shipment_id)))
    assert states == {LineState.EXPECTED}
