"""Shipments: dispatch rules, receipt at the point, return count, resolution, closing, holders, overdue."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import Conflict, PermissionDenied
from app.network.models import SiteKind
from catalog import marc
from catalog.models import Item, ItemStatus
from catalog.services import add_items, create_record, create_sequence
from rotation import shipment_queries as q
from rotation.models import (
    Batch,
    BatchItem,
    BatchStatus,
    LineState,
    Resolution,
    Shipment,
    ShipmentKind,
    ShipmentLine,
    ShipmentStatus,
)
from rotation.services import shipments as svc

_codes = iter(range(1, 10_000))


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


@pytest.fixture
def point(make_site):
    return make_site(code="BDVH1", name="Điểm BĐVHX Chiềng Cơi")


@pytest.fixture
def point2(make_site):
    return make_site(code="BDVH2", name="Điểm BĐVHX Mường Bú", kind=SiteKind.SCHOOL_LIBRARY)


@pytest.fixture
def make_copies(session, library):
    """Return a function adding `n` copies (status in_rotation unless told) to one new record."""
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    session.commit()

    def make(n: int, status: ItemStatus = ItemStatus.IN_ROTATION) -> list[Item]:
        record = create_record(session, marc.build_record(f"Sách thử {next(_codes)}"), actor_id=None)
        items = add_items(
            session,
            record,
            count=n,
            sequence_id=seq.id,
            values={"library_id": library.id, "status": status.value},
            actor_id=None,
        )
        session.commit()
        return items

    return make


@pytest.fixture
def make_batch(session, library, make_copies):
    """Return a function creating a batch directly with the models (the batches service is separate)."""

    def make(n: int = 3, status: BatchStatus = BatchStatus.READY, items: list[Item] | None = None) -> Batch:
        batch = Batch(
            code=f"LC-2026-{next(_codes):04d}",
            home_library_id=library.id,
            holder_site_id=library.id,
            status=status.value,
        )
        session.add(batch)
        session.flush()
        for item in items if items is not None else make_copies(n):
            session.add(BatchItem(batch_id=batch.id, item_id=item.id))
        session.commit()
        return batch

    return make


def statuses(session, batch) -> list[str]:
    session.expire_all()
    rows = session.scalars(
        select(Item.status)
        .join(BatchItem, BatchItem.item_id == Item.id)
        .where(BatchItem.batch_id == batch.id)
    )
    return sorted(rows)


def send(session, batch, site, **kwargs) -> Shipment:
    shipment = svc.dispatch(session, batch, to_site_id=site.id, actor_id=None, **kwargs)
    session.commit()
    return shipment


def get_in(session, shipment, **kwargs) -> Shipment:
    values = {"received_count": shipment.expected_count, "received_by_name": "Lò Thị Xuân"}
    values.update(kwargs)
    svc.receive(session, shipment, actor_id=None, actor_site_ids=None, **values)
    session.commit()
    return shipment


# --- dispatch ---


def test_dispatch_library_to_point_puts_copies_in_transit(session, make_batch, point, library):
    batch = make_batch(3)
    shipment = send(session, batch, point)
    assert shipment.kind == ShipmentKind.LIBRARY_TO_POINT
    assert shipment.from_site_id == library.id and shipment.expected_count == 3
    assert batch.status == BatchStatus.IN_TRANSIT and batch.holder_site_id is None
    assert statuses(session, batch) == ["in_transit"] * 3
    lines = session.scalars(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment.id)).all()
    assert [line.state for line in lines] == ["expected"] * 3
    assert q.copy_holder(session, lines[0].item_id).in_transit


def test_dispatch_refuses_empty_assembling_and_in_transit_batches(session, make_batch, point):
    empty = make_batch(items=[])
    with pytest.raises(Conflict, match="empty"):
        svc.dispatch(session, empty, to_site_id=point.id, actor_id=None)
    session.rollback()
    assembling = make_batch(2, status=BatchStatus.ASSEMBLING)
    with pytest.raises(Conflict, match="being assembled"):
        svc.dispatch(session, assembling, to_site_id=point.id, actor_id=None)
    session.rollback()
    batch = make_batch(2)
    send(session, batch, point)
    with pytest.raises(Conflict, match="already in transit"):
        svc.dispatch(session, batch, to_site_id=point.id, actor_id=None)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Shipment)) == 1


def test_open_shipment_index_is_the_last_guard(session, make_batch, point):
    batch = make_batch(2)
    send(session, batch, point)
    # Someone bypassed the status check: the database still refuses a second open shipment.
    batch.status = BatchStatus.READY.value
    batch.holder_site_id = batch.home_library_id
    session.commit()
    with pytest.raises(Conflict, match="already in transit"):
        svc.dispatch(session, batch, to_site_id=point.id, actor_id=None)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Shipment)) == 1


def test_library_to_library_is_refused(session, make_batch, make_site):
    other = make_site(kind=SiteKind.DISTRICT_LIBRARY)
    with pytest.raises(Exception, match="from a library to a rotation point"):
        svc.dispatch(session, make_batch(1), to_site_id=other.id, actor_id=None)


# --- receipt ---


def test_receive_by_the_right_operator_with_one_copy_missing(session, make_batch, point):
    batch = make_batch(3)
    shipment = send(session, batch, point)
    lines = q.lines_of(session, shipment.id)
    missing = lines[0].item_id
    svc.receive(
        session,
        shipment,
        actor_id=None,
        actor_site_ids={point.id},
        received_count=2,
        missing_item_ids=[missing],
        received_by_name="  Lò   Thị Xuân ",
    )
    session.commit()
    session.expire_all()
    assert shipment.status == ShipmentStatus.RECEIVED and shipment.received_by_name == "Lò Thị Xuân"
    assert batch.status == BatchStatus.AT_POINT and batch.holder_site_id == point.id
    states = {line.item_id: line.state for line in q.lines_of(session, shipment.id)}
    assert states[missing] == LineState.MISSING and sorted(states.values()).count("received") == 2
    assert statuses(session, batch) == ["at_point", "at_point", "in_transit"]
    assert q.copy_holder(session, lines[1].item_id).site_id == point.id


def test_receive_at_the_wrong_point_is_refused(session, make_batch, point, point2):
    shipment = send(session, make_batch(1), point)
    with pytest.raises(PermissionDenied):
        svc.receive(
            session,
            shipment,
            actor_id=None,
            actor_site_ids={point2.id},
            received_count=1,
            received_by_name="X",
        )
    session.rollback()
    assert session.get(Shipment, shipment.id).status == ShipmentStatus.DISPATCHED


def test_receive_twice_is_refused(session, make_batch, point):
    shipment = get_in(session, send(session, make_batch(1), point))
    with pytest.raises(Conflict, match="already received on .* by Lò Thị Xuân"):
        get_in(session, shipment)


def test_two_people_confirm_the_same_shipment_at_once(session, engine, make_batch, point):
    shipment_id = send(session, make_batch(5), point).id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def confirm(name: str) -> None:
        try:
            with Session(engine) as own:
                row = own.get(Shipment, shipment_id)
                own.scalars(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment_id)).all()
                barrier.wait()
                try:
                    svc.receive(
                        own,
                        row,
                        actor_id=None,
                        actor_site_ids={point.id},
                        received_count=5,
                        received_by_name=name,
                    )
                    own.commit()
                    outcomes.append("ok")
                except Conflict as err:
                    own.rollback()
                    outcomes.append(str(err))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=confirm, args=(f"Người {n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(outcomes) == 2 and outcomes.count("ok") == 1
    loser = next(o for o in outcomes if o != "ok")
    assert "already received" in loser
    session.expire_all()
    row = session.get(Shipment, shipment_id)
    assert row.status == ShipmentStatus.RECEIVED and row.version == 2
    receipts = session.scalar(
        select(func.count())
        .select_from(Shipment)
        .where(Shipment.id == shipment_id, Shipment.received_at.is_not(None))
    )
    assert receipts == 1
    from app.audit.models import AuditEvent

    events = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "shipment.receive")
    )
    assert events == 1
    assert session.get(Batch, row.batch_id).status == BatchStatus.AT_POINT


# --- the whole journey: point to point, back to the library, count, resolve, close ---


@pytest.fixture
def returned(session, make_batch, point, point2, library):
    """A batch of 4 copies that went to two points and came back; the library confirmed the boxes."""
    batch = make_batch(4)
    get_in(session, send(session, batch, point))
    s2 = send(session, batch, point2)
    assert s2.kind == ShipmentKind.POINT_TO_POINT and s2.from_site_id == point.id
    get_in(session, s2)
    back = send(session, batch, library)
    assert back.kind == ShipmentKind.POINT_TO_LIBRARY
    get_in(session, back)
    assert batch.status == BatchStatus.RETURNED and batch.holder_site_id == library.id
    assert statuses(session, batch) == ["in_transit"] * 4
    return back


def test_scan_return_known_extra_unknown_twice(session, returned, make_batch, make_copies):
    lines = q.lines_of(session, returned.id)
    first = lines[0].item
    other_batch = make_batch(1)
    stranger = session.get(
        Item, session.scalars(select(BatchItem.item_id).where(BatchItem.batch_id == other_batch.id)).one()
    )
    loose = make_copies(1, status=ItemStatus.AVAILABLE)[0]

    result = svc.scan_return(session, returned, first.accession_number.lower(), actor_id=None)
    assert result.outcome == "returned" and result.is_ok
    assert svc.scan_return(session, returned, first.accession_number, actor_id=None).outcome == "twice"
    result = svc.scan_return(session, returned, stranger.accession_number, actor_id=None)
    assert result.outcome == "extra" and result.params["batch"] == other_batch.code
    assert svc.scan_return(session, returned, loose.accession_number, actor_id=None).outcome == "extra"
    result = svc.scan_return(session, returned, "VN.99999", actor_id=None)
    assert result.outcome == "unknown" and not result.is_ok
    session.commit()
    session.expire_all()
    assert session.get(Item, first.id).status == ItemStatus.IN_ROTATION
    summary = svc.count_summary(session, returned.id)
    assert (summary.expected, summary.returned, summary.extra, summary.pending) == (4, 1, 2, 3)


def test_finish_resolve_and_close(session, returned, library):
    lines = q.lines_of(session, returned.id)
    batch = returned.batch
    for line in lines[:2]:
        svc.scan_return(session, returned, line.item.accession_number, actor_id=None)
    svc.scan_return(session, returned, lines[2].item.accession_number, actor_id=None, damaged=True)
    with pytest.raises(Conflict, match="Finish the count"):
        svc.reconcile_and_close(session, returned, actor_id=None)
    summary = svc.finish_count(session, returned, actor_id=None)
    session.commit()
    assert (summary.returned, summary.missing, summary.damaged, summary.unresolved) == (3, 1, 1, 2)
    with pytest.raises(Conflict, match="not settled yet: 2"):
        svc.reconcile_and_close(session, returned, actor_id=None)
    session.rollback()
    missing = next(line for line in q.lines_of(session, returned.id) if line.state == LineState.MISSING)
    damaged = next(line for line in q.lines_of(session, returned.id) if line.state == LineState.DAMAGED)
    with pytest.raises(Exception, match="does not fit"):
        svc.resolve(session, missing, Resolution.RETURNED_TO_OWNER, actor_id=None)
    svc.resolve(session, missing, Resolution.WRITTEN_OFF_LOST, actor_id=None, note="Không tìm thấy")
    svc.resolve(session, damaged, Resolution.WRITTEN_OFF_DAMAGED, actor_id=None)
    session.commit()
    svc.reconcile_and_close(session, returned, actor_id=None)
    session.commit()
    session.expire_all()
    assert batch.status == BatchStatus.CLOSED and batch.holder_site_id == library.id
    assert statuses(session, batch) == ["available", "available", "damaged", "lost"]
    assert not session.scalar(select(func.count()).select_from(BatchItem).where(BatchItem.is_open.is_(True)))
    assert q.copy_holder(session, lines[0].item_id) == q.CopyHolder(library.id, None, False)


def test_missing_copy_found_later_by_scan_or_resolution(session, returned):
    lines = q.lines_of(session, returned.id)
    svc.scan_return(session, returned, lines[0].item.accession_number, actor_id=None)
    svc.finish_count(session, returned, actor_id=None)
    result = svc.scan_return(session, returned, lines[1].item.accession_number, actor_id=None)
    assert result.outcome == "found"
    svc.resolve(session, lines[2], "found_later", actor_id=None)
    svc.resolve(session, lines[3], Resolution.CHARGED_TO_POINT, actor_id=None)
    session.commit()
    session.expire_all()
    assert [line.state for line in q.lines_of(session, returned.id)] == ["received"] * 3 + ["missing"]
    assert statuses(session, returned.batch) == ["in_rotation"] * 3 + ["lost"]
    svc.reconcile_and_close(session, returned, actor_id=None)
    session.commit()
    assert statuses(session, returned.batch) == ["available"] * 3 + ["lost"]


def test_extra_copy_is_returned_to_owner(session, returned, make_batch):
    other = make_batch(1)
    code = session.scalars(
        select(Item.accession_number)
        .join(BatchItem, BatchItem.item_id == Item.id)
        .where(BatchItem.batch_id == other.id)
    ).one()
    svc.scan_return(session, returned, code, actor_id=None)
    for line in q.lines_of(session, returned.id)[:4]:
        svc.scan_return(session, returned, line.item.accession_number, actor_id=None)
    svc.finish_count(session, returned, actor_id=None)
    extra = next(line for line in q.lines_of(session, returned.id) if line.state == LineState.EXTRA)
    svc.resolve(session, extra, Resolution.RETURNED_TO_OWNER, actor_id=None)
    svc.reconcile_and_close(session, returned, actor_id=None)
    session.commit()
    assert statuses(session, other) == ["in_rotation"]  # the other batch's copy is untouched


def test_history_per_batch_copy_and_point(session, returned, point, point2, library):
    batch_id = returned.batch_id
    steps = [(s.from_site_id, s.to_site_id) for s in q.batch_history(session, batch_id)]
    assert steps == [(library.id, point.id), (point.id, point2.id), (point2.id, library.id)]
    item_id = q.lines_of(session, returned.id)[0].item_id
    assert len(q.copy_history(session, item_id)) == 3
    assert [s.to_site_id for s in q.site_history(session, point.id)] == [point.id, point2.id]
    assert q.copy_holder(session, item_id).site_id == library.id


def test_scan_needs_a_received_return(session, make_batch, point, library):
    shipment = send(session, make_batch(1), point)
    with pytest.raises(Conflict, match="Only a batch coming back"):
        svc.scan_return(session, shipment, "VN.00001", actor_id=None)


# --- overdue and pending ---


def test_overdue_lists_unconfirmed_and_past_due(session, make_batch, point, point2):
    late = send(session, make_batch(1), point)
    late.dispatched_at = datetime.now(UTC) - timedelta(days=10)
    fresh = send(session, make_batch(1), point)
    stay = make_batch(1)
    get_in(session, send(session, stay, point2, due_back_on=date.today() + timedelta(days=30)))
    session.commit()
    today = date.today()
    found = q.overdue(session, today)
    assert [(o.kind, o.shipment_id) for o in found] == [("unconfirmed", late.id)]
    assert found[0].site_name == point.name
    assert q.overdue(session, today, unconfirmed_after_days=30) == []
    later = q.overdue(session, today + timedelta(days=31), unconfirmed_after_days=60)
    assert [(o.kind, o.batch_code, o.site_id) for o in later] == [("past_due", stay.code, point2.id)]
    assert later[0].as_json()["since"] == (today + timedelta(days=30)).isoformat()
    # Without a date set at dispatch, a batch may stay 6 months.
    stay.due_back_on = None
    session.commit()
    assert q.overdue(session, today + timedelta(days=170), unconfirmed_after_days=999) == []
    assert len(q.overdue(session, today + timedelta(days=190), unconfirmed_after_days=999)) == 1
    assert [s.id for s in q.pending_for_sites(session, {point.id})] == [late.id, fresh.id]
    assert q.pending_for_sites(session, {point2.id}) == []


def test_open_shipment_of_a_batch(session, make_batch, point):
    batch = make_batch(1)
    assert q.open_shipment_of(session, batch.id) is None
    shipment = send(session, batch, point)
    assert q.open_shipment_of(session, batch.id).id == shipment.id
    get_in(session, shipment)
    assert q.open_shipment_of(session, batch.id) is None
