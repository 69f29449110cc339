"""Shipments of batches: dispatch, receipt at the point, return count and reconciliation at the library.

Decisions where the rotation issue is silent:
- A copy reported missing at a receipt stays `in_transit` and in its batch: nobody knows where it is.
  Every later shipment of the batch still expects it, so it can turn up; the count at the library is
  where a difference is finally settled (Circular 33/2018: the library counts the batch at the end of
  a rotation).
- A copy reported damaged at a point stays with the batch (`at_point`); the line records the damage.
- Back at the library (a point → library shipment) the receipt only confirms that the boxes arrived;
  the copies are then scanned one by one (`scan_return`): a scanned copy goes `in_transit` →
  `in_rotation`, and stays there until the batch is closed (`reconcile_and_close`: → `available`).
- Dispatch and receipt write one audit event for the shipment (its lines list every copy); a scan
  and a resolution write one event per copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.audit import services as audit
from app.db import utcnow
from app.errors import N_, Conflict, NotFound, PermissionDenied, ValidationError
from app.network.models import LIBRARY_KINDS, POINT_KINDS, Site
from app.timeutil import local_today
from catalog.models import Item, ItemStatus, can_change_status
from catalog.services import find_item
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

# Rows per bulk UPDATE (two parameters each for the copies: far below every driver's limit).
_CHUNK = 500

DIFFERENCE_STATES = frozenset({LineState.MISSING.value, LineState.DAMAGED.value, LineState.EXTRA.value})

# Which resolutions fit which difference, and the status the copy takes (None: unchanged).
RESOLUTION_STATES: dict[Resolution, frozenset[str]] = {
    Resolution.FOUND_LATER: frozenset({LineState.MISSING.value}),
    Resolution.CHARGED_TO_POINT: frozenset({LineState.MISSING.value, LineState.DAMAGED.value}),
    Resolution.WRITTEN_OFF_LOST: frozenset({LineState.MISSING.value}),
    Resolution.WRITTEN_OFF_DAMAGED: frozenset({LineState.DAMAGED.value, LineState.MISSING.value}),
    Resolution.RETURNED_TO_OWNER: frozenset({LineState.EXTRA.value}),
}


# --- helpers ------------------------------------------------------------------------------------


def _must_move(item: Item, status: ItemStatus) -> bool:
    """Whether a copy is not yet in `status`; raise if the catalogue forbids the move."""
    if item.status == status.value:
        return False
    if not can_change_status(item.status, status):
        raise ValidationError(
            N_("Copy %(number)s cannot go from %(old)s to %(new)s."),
            number=item.accession_number,
            old=item.status,
            new=status.value,
        )
    return True


def _set_item_status(item: Item, status: ItemStatus) -> None:
    """Move a copy to `status` if the catalogue allows it (search terms do not depend on status)."""
    if _must_move(item, status):
        item.status = status.value


def _open_items(session: Session, batch_id: int) -> list[Item]:
    return list(
        session.scalars(
            select(Item)
            .join(BatchItem, BatchItem.item_id == Item.id)
            .where(BatchItem.batch_id == batch_id, BatchItem.is_open)
            .order_by(Item.accession_number)
        )
    )


def shipment_kind(from_site: Site, to_site: Site) -> ShipmentKind:
    """Return the kind of a move between two sites, or raise when batches do not move that way."""
    if from_site.id == to_site.id:
        raise ValidationError(N_("The batch is already at %(site)s."), field="to_site_id", site=to_site.name)
    if from_site.kind in LIBRARY_KINDS and to_site.kind in POINT_KINDS:
        return ShipmentKind.LIBRARY_TO_POINT
    if from_site.kind in POINT_KINDS and to_site.kind in POINT_KINDS:
        return ShipmentKind.POINT_TO_POINT
    if from_site.kind in POINT_KINDS and to_site.kind in LIBRARY_KINDS:
        return ShipmentKind.POINT_TO_LIBRARY
    raise ValidationError(
        N_("A batch goes from a library to a rotation point, between points, or back to a library."),
        field="to_site_id",
    )


def _shipment_label(shipment: Shipment) -> str:
    return f"{shipment.batch.code} → {shipment.to_site.name}"


# --- dispatch -----------------------------------------------------------------------------------


def dispatch(
    session: Session,
    batch: Batch,
    *,
    to_site_id: int,
    actor_id: int | None,
    due_back_on: date | None = None,
) -> Shipment:
    """Send a ready batch (or one at a point) to another site; its copies go in transit."""
    status = BatchStatus(batch.status)
    if status == BatchStatus.ASSEMBLING:
        raise Conflict(
            N_("Batch %(code)s is still being assembled: mark it ready before sending it."), code=batch.code
        )
    if status == BatchStatus.IN_TRANSIT:
        raise Conflict(N_("Batch %(code)s is already in transit."), code=batch.code)
    if status not in (BatchStatus.READY, BatchStatus.AT_POINT):
        raise Conflict(N_("Batch %(code)s cannot be sent in its present state."), code=batch.code)
    to_site = session.get(Site, to_site_id) if to_site_id else None
    if to_site is None or not to_site.is_active:
        raise ValidationError(N_("Choose where the batch goes."), field="to_site_id")
    from_site_id = batch.holder_site_id or batch.home_library_id
    from_site = session.get(Site, from_site_id)
    kind = shipment_kind(from_site, to_site)
    if kind == ShipmentKind.LIBRARY_TO_POINT and status != BatchStatus.READY:
        raise Conflict(N_("Batch %(code)s cannot be sent in its present state."), code=batch.code)
    items = _open_items(session, batch.id)
    if not items:
        raise Conflict(N_("Batch %(code)s is empty: add copies before sending it."), code=batch.code)
    if due_back_on is not None and due_back_on <= local_today():
        raise ValidationError(N_("The return date must be in the future."), field="due_back_on")

    before = audit.snapshot(batch, ("status", "holder_site_id", "due_back_on"))
    batch.status = BatchStatus.IN_TRANSIT.value
    batch.holder_site_id = None
    batch.due_back_on = None if kind == ShipmentKind.POINT_TO_LIBRARY else due_back_on
    try:
        session.flush()  # version-checked: a concurrent dispatch of the same batch fails here
    except StaleDataError:
        raise Conflict(
            N_("Batch %(code)s was changed by someone else at the same moment. Reload the page."),
            code=batch.code,
        ) from None
    shipment = Shipment(
        batch_id=batch.id,
        kind=kind.value,
        from_site_id=from_site.id,
        to_site_id=to_site.id,
        status=ShipmentStatus.DISPATCHED.value,
        expected_count=len(items),
        dispatched_at=utcnow(),
        dispatched_by_id=actor_id,
    )
    try:
        # The open transaction already holds the batch update, so the savepoint nests inside it.
        with session.begin_nested():
            session.add(shipment)
            session.flush()
    except IntegrityError:
        raise Conflict(N_("Batch %(code)s is already in transit."), code=batch.code) from None
    for item in items:
        _set_item_status(item, ItemStatus.IN_TRANSIT)
        session.add(ShipmentLine(shipment_id=shipment.id, item_id=item.id, state=LineState.EXPECTED.value))
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="shipment.dispatch",
        object_type="shipment",
        object_id=shipment.id,
        object_label=f"{batch.code} → {to_site.name}",
        changes={
            "kind": [None, kind.value],
            "from_site_id": [None, from_site.id],
            "to_site_id": [None, to_site.id],
            "expected_count": [None, len(items)],
        },
    )
    audit.record(
        session,
        actor_id=actor_id,
        action="batch.dispatch",
        object_type="batch",
        object_id=batch.id,
        object_label=batch.code,
        changes=audit.diff(before, audit.snapshot(batch, ("status", "holder_site_id", "due_back_on"))),
    )
    return shipment


# --- receipt ------------------------------------------------------------------------------------


def check_receiver(shipment: Shipment, actor_site_ids: Iterable[int] | None) -> None:
    """Raise PermissionDenied unless the actor is staff (None) or operates the destination point."""
    if actor_site_ids is not None and shipment.to_site_id not in set(actor_site_ids):
        raise PermissionDenied(N_("This shipment is addressed to another rotation point."))


def _already_received(shipment: Shipment) -> Conflict:
    when = shipment.received_at.strftime("%d/%m/%Y %H:%M UTC") if shipment.received_at else ""
    return Conflict(
        N_("This shipment was already received on %(when)s by %(name)s."),
        when=when,
        name=shipment.received_by_name or "?",
    )


def _id_set(session: Session, shipment: Shipment, ids: Iterable[int], message: str) -> set[int]:
    wanted = {int(i) for i in ids}
    if not wanted:
        return wanted
    known = set(
        session.scalars(
            select(ShipmentLine.item_id).where(
                ShipmentLine.shipment_id == shipment.id, ShipmentLine.item_id.in_(wanted)
            )
        )
    )
    if known != wanted:
        raise ValidationError(message)
    return wanted


def _items_to_move(items: list[Item], status: ItemStatus) -> list[Item]:
    """Return the copies not yet in `status`; raise if the catalogue forbids one of the moves."""
    return [item for item in items if _must_move(item, status)]


def _bulk_item_status(
    session: Session, batch: Batch, moving: list[Item], status: ItemStatus, now: datetime
) -> None:
    """Move copies to `status` in one version-checked UPDATE per chunk; keep the loaded objects in step."""
    for start in range(0, len(moving), _CHUNK):
        chunk = moving[start : start + _CHUNK]
        result = session.execute(
            update(Item)
            .where(tuple_(Item.id, Item.version).in_([(item.id, item.version) for item in chunk]))
            .values(status=status.value, version=Item.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != len(chunk):  # a copy changed since it was read: as a version check would
            raise Conflict(
                N_("Batch %(code)s was changed by someone else at the same moment. Reload the page."),
                code=batch.code,
            )
        for item in chunk:
            set_committed_value(item, "status", status.value)
            set_committed_value(item, "version", item.version + 1)
            set_committed_value(item, "updated_at", now)


def _receive_lines(
    session: Session, shipment: Shipment, batch: Batch, *, missing: set[int], damaged: set[int]
) -> None:
    """Set every line's state at a point's receipt and move the copies that arrived to `at_point`.

    One query reads the lines with their copies; one UPDATE per line state and one (version-checked)
    for the copies write the changes, instead of one statement per copy.
    """
    lines = session.scalars(select(ShipmentLine).where(ShipmentLine.shipment_id == shipment.id)).all()
    now = utcnow()
    by_state: dict[str, list[ShipmentLine]] = {}
    arrived: list[Item] = []
    for line in lines:
        if line.item_id in missing:
            by_state.setdefault(LineState.MISSING.value, []).append(line)
            continue  # stays in transit: nobody knows where it is
        state = (LineState.DAMAGED if line.item_id in damaged else LineState.RECEIVED).value
        by_state.setdefault(state, []).append(line)
        arrived.append(line.item)
    moving = _items_to_move(arrived, ItemStatus.AT_POINT)  # checked before anything is written
    for state, group in by_state.items():
        values = {"state": state} if state == LineState.MISSING.value else {"state": state, "scanned_at": now}
        for start in range(0, len(group), _CHUNK):
            chunk = group[start : start + _CHUNK]
            session.execute(
                update(ShipmentLine)
                .where(ShipmentLine.id.in_([line.id for line in chunk]))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            for line in chunk:
                for key, value in values.items():
                    set_committed_value(line, key, value)
    _bulk_item_status(session, batch, moving, ItemStatus.AT_POINT, now)


def receive(
    session: Session,
    shipment: Shipment,
    *,
    actor_id: int | None,
    actor_site_ids: Iterable[int] | None,
    received_count: int,
    missing_item_ids: Iterable[int] = (),
    damaged_item_ids: Iterable[int] = (),
    received_by_name: str,
) -> Shipment:
    """Confirm a shipment's arrival: the batch's holder becomes the destination.

    `actor_site_ids` is None for staff; a point operator passes their points. Optimistic locking on
    the shipment lets exactly one of two simultaneous confirmations win.
    """
    check_receiver(shipment, actor_site_ids)
    if shipment.status == ShipmentStatus.RECEIVED.value:
        raise _already_received(shipment)
    if shipment.status != ShipmentStatus.DISPATCHED.value:
        raise Conflict(N_("This shipment was cancelled."))
    name = " ".join((received_by_name or "").split())[:200]
    if not name:
        raise ValidationError(
            N_("Type the name of the person who received the batch."), field="received_by_name"
        )
    try:
        count = int(received_count)
    except (TypeError, ValueError):
        raise ValidationError(N_("Type the number of copies received."), field="received_count") from None
    if count < 0 or count > shipment.expected_count:
        raise ValidationError(
            N_("The number of copies received must be between 0 and %(n)d."),
            field="received_count",
            n=shipment.expected_count,
        )
    missing = _id_set(
        session, shipment, missing_item_ids, N_("A copy marked missing is not in this shipment.")
    )
    damaged = _id_set(
        session, shipment, damaged_item_ids, N_("A copy marked damaged is not in this shipment.")
    )
    if missing & damaged:
        raise ValidationError(N_("A copy cannot be both missing and damaged."))
    to_library = shipment.kind == ShipmentKind.POINT_TO_LIBRARY.value
    if to_library and (missing or damaged):
        raise ValidationError(N_("At the library, differences are found by the return count."))

    shipment.status = ShipmentStatus.RECEIVED.value
    shipment.received_at = utcnow()
    shipment.received_by_id = actor_id
    shipment.received_by_name = name
    shipment.received_count = count
    try:
        # First write of the transaction and version-checked: the loser of a race stops here.
        session.flush()
    except StaleDataError:
        raise Conflict(
            N_("Someone else confirmed this shipment at the same moment; it is already received.")
        ) from None

    batch = shipment.batch
    before = audit.snapshot(batch, ("status", "holder_site_id"))
    batch.status = (BatchStatus.RETURNED if to_library else BatchStatus.AT_POINT).value
    batch.holder_site_id = shipment.to_site_id
    session.flush()
    if not to_library:
        _receive_lines(session, shipment, batch, missing=missing, damaged=damaged)
    audit.record(
        session,
        actor_id=actor_id,
        action="shipment.receive",
        object_type="shipment",
        object_id=shipment.id,
        object_label=_shipment_label(shipment),
        changes={
            "status": [ShipmentStatus.DISPATCHED.value, ShipmentStatus.RECEIVED.value],
            "received_count": [None, count],
            "received_by_name": [None, name],
            "missing": [None, sorted(missing)],
            "damaged": [None, sorted(damaged)],
        },
    )
    audit.record(
        session,
        actor_id=actor_id,
        action="batch.receive",
        object_type="batch",
        object_id=batch.id,
        object_label=batch.code,
        changes=audit.diff(before, audit.snapshot(batch, ("status", "holder_site_id"))),
    )
    return shipment


# --- return count at the library ---------------------------------------------------------------


class ScanOutcome:
    """What a scan found (plain strings, for templates and JSON)."""

    RETURNED = "returned"  # a copy of this batch, now counted back
    FOUND = "found"  # a copy marked missing at the count, found after all
    EXTRA = "extra"  # a copy of another batch or of no batch
    UNKNOWN = "unknown"  # no copy has this number
    TWICE = "twice"  # already scanned


@dataclass(frozen=True)
class ScanResult:
    """One scan's result: the outcome, the copy and a message (msgid and parameters)."""

    outcome: str
    message: str
    params: dict
    item_id: int | None = None
    accession_number: str = ""
    title: str = ""

    @property
    def is_ok(self) -> bool:
        return self.outcome in (ScanOutcome.RETURNED, ScanOutcome.FOUND)


def _check_counting(shipment: Shipment) -> None:
    if shipment.kind != ShipmentKind.POINT_TO_LIBRARY.value:
        raise Conflict(N_("Only a batch coming back to the library is counted."))
    if shipment.status != ShipmentStatus.RECEIVED.value:
        raise Conflict(N_("Confirm that the batch has arrived before counting it."))
    if shipment.batch.status != BatchStatus.RETURNED.value:
        raise Conflict(N_("Batch %(code)s is closed."), code=shipment.batch.code)


def _scan_audit(session: Session, actor_id: int | None, shipment: Shipment, item: Item, state: str) -> None:
    audit.record(
        session,
        actor_id=actor_id,
        action="shipment.scan",
        object_type="shipment",
        object_id=shipment.id,
        object_label=f"{shipment.batch.code} {item.accession_number}",
        changes={"item_id": [None, item.id], "state": [None, state]},
    )


def scan_return(
    session: Session, shipment: Shipment, code: str, *, actor_id: int | None, damaged: bool = False
) -> ScanResult:
    """Count one copy back at the library by accession number or barcode (indexed look-ups only)."""
    _check_counting(shipment)
    code = (code or "").strip()
    item = find_item(session, code)
    if item is None:
        return ScanResult(ScanOutcome.UNKNOWN, N_("No copy has the number %(code)s."), {"code": code[:64]})
    label = {"number": item.accession_number}
    line = session.scalar(
        select(ShipmentLine).where(ShipmentLine.shipment_id == shipment.id, ShipmentLine.item_id == item.id)
    )
    now = utcnow()
    info = {"item_id": item.id, "accession_number": item.accession_number, "title": item.record.title[:120]}
    if line is None:
        other = session.scalar(
            select(Batch.code)
            .join(BatchItem, BatchItem.batch_id == Batch.id)
            .where(BatchItem.item_id == item.id, BatchItem.is_open)
        )
        session.add(
            ShipmentLine(
                shipment_id=shipment.id, item_id=item.id, state=LineState.EXTRA.value, scanned_at=now
            )
        )
        session.flush()
        _scan_audit(session, actor_id, shipment, item, LineState.EXTRA.value)
        if other:
            return ScanResult(
                ScanOutcome.EXTRA,
                N_("%(number)s belongs to batch %(batch)s: put it aside (extra)."),
                {**label, "batch": other},
                **info,
            )
        return ScanResult(
            ScanOutcome.EXTRA, N_("%(number)s is not in any batch: put it aside (extra)."), label, **info
        )
    if line.state == LineState.EXPECTED.value or line.state == LineState.MISSING.value:
        found = line.state == LineState.MISSING.value
        line.state = (LineState.DAMAGED if damaged else LineState.RECEIVED).value
        line.scanned_at = now
        if found:
            line.resolution = Resolution.FOUND_LATER.value
            line.resolved_at = now
            line.resolved_by_id = actor_id
        _set_item_status(item, ItemStatus.IN_ROTATION)
        session.flush()
        _scan_audit(session, actor_id, shipment, item, line.state)
        if found:
            return ScanResult(
                ScanOutcome.FOUND, N_("%(number)s found after all: counted back."), label, **info
            )
        if damaged:
            return ScanResult(ScanOutcome.RETURNED, N_("%(number)s counted back, damaged."), label, **info)
        return ScanResult(ScanOutcome.RETURNED, N_("%(number)s counted back."), label, **info)
    return ScanResult(ScanOutcome.TWICE, N_("%(number)s was already scanned."), label, **info)


@dataclass(frozen=True)
class CountSummary:
    """Counts of a return: expected copies, and how many are back, missing, damaged or extra."""

    expected: int
    returned: int
    missing: int
    damaged: int
    extra: int
    pending: int  # still expected, not scanned yet
    unresolved: int  # differences without a resolution

    @property
    def finished(self) -> bool:
        return self.pending == 0


def count_summary(session: Session, shipment_id: int) -> CountSummary:
    """Return the counts of a shipment's lines by state (one grouped query)."""
    rows = session.execute(
        select(
            ShipmentLine.state,
            func.count(),
            func.count(ShipmentLine.resolution),
        )
        .where(ShipmentLine.shipment_id == shipment_id)
        .group_by(ShipmentLine.state)
    ).all()
    by_state = {state: (n, resolved) for state, n, resolved in rows}

    def n(state: LineState) -> int:
        return by_state.get(state.value, (0, 0))[0]

    unresolved = sum(
        total - resolved for state, (total, resolved) in by_state.items() if state in DIFFERENCE_STATES
    )
    return CountSummary(
        expected=sum(total for state, (total, _r) in by_state.items() if state != LineState.EXTRA.value),
        returned=n(LineState.RECEIVED) + n(LineState.DAMAGED),
        missing=n(LineState.MISSING),
        damaged=n(LineState.DAMAGED),
        extra=n(LineState.EXTRA),
        pending=n(LineState.EXPECTED),
        unresolved=unresolved,
    )


def finish_count(session: Session, shipment: Shipment, *, actor_id: int | None) -> CountSummary:
    """End the return count: copies still expected become missing (they stay in transit)."""
    _check_counting(shipment)
    result = session.execute(
        update(ShipmentLine)
        .where(ShipmentLine.shipment_id == shipment.id, ShipmentLine.state == LineState.EXPECTED.value)
        .values(state=LineState.MISSING.value)
        .execution_options(synchronize_session="fetch")
    )
    summary = count_summary(session, shipment.id)
    audit.record(
        session,
        actor_id=actor_id,
        action="shipment.finish_count",
        object_type="shipment",
        object_id=shipment.id,
        object_label=_shipment_label(shipment),
        changes={
            "missing": [None, summary.missing],
            "returned": [None, summary.returned],
            "extra": [None, summary.extra],
            "newly_missing": [None, result.rowcount],
        },
    )
    return summary


def resolve(
    session: Session,
    line: ShipmentLine,
    resolution: Resolution | str,
    *,
    actor_id: int | None,
    note: str = "",
) -> ShipmentLine:
    """Settle one difference of a return count; the copy's status follows the resolution."""
    shipment = session.get(Shipment, line.shipment_id)
    _check_counting(shipment)
    try:
        resolution = Resolution(resolution)
    except ValueError:
        raise ValidationError(N_("Choose how the difference is settled."), field="resolution") from None
    if line.state not in DIFFERENCE_STATES:
        raise Conflict(N_("This copy came back without a difference."))
    if line.state == LineState.MISSING.value and count_summary(session, shipment.id).pending:
        raise Conflict(N_("Finish the count before settling missing copies."))
    if line.state not in RESOLUTION_STATES[resolution]:
        raise ValidationError(N_("This resolution does not fit this difference."), field="resolution")
    item = line.item
    before = {"state": line.state, "resolution": line.resolution, "item_status": item.status}
    if resolution == Resolution.FOUND_LATER:
        _set_item_status(item, ItemStatus.IN_ROTATION)
        line.state = LineState.RECEIVED.value
        line.scanned_at = utcnow()
    elif resolution in (Resolution.CHARGED_TO_POINT, Resolution.WRITTEN_OFF_LOST):
        # A copy charged to the point is paid for and leaves the stock like a lost one.
        if line.state == LineState.MISSING.value or resolution == Resolution.WRITTEN_OFF_LOST:
            _set_item_status(item, ItemStatus.LOST)
        else:
            _set_item_status(item, ItemStatus.DAMAGED)
    elif resolution == Resolution.WRITTEN_OFF_DAMAGED:
        _set_item_status(item, ItemStatus.DAMAGED)
    # RETURNED_TO_OWNER: the extra copy goes back to its own batch or library; its status is theirs.
    line.resolution = resolution.value
    line.resolved_at = utcnow()
    line.resolved_by_id = actor_id
    line.note = " ".join((note or "").split())[:300]
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="shipment.resolve",
        object_type="shipment_line",
        object_id=line.id,
        object_label=f"{shipment.batch.code} {item.accession_number}",
        changes=audit.diff(
            before, {"state": line.state, "resolution": line.resolution, "item_status": item.status}
        ),
    )
    return line


def reconcile_and_close(session: Session, shipment: Shipment, *, actor_id: int | None) -> Batch:
    """Close a counted batch whose differences are all settled: its copies are free again."""
    _check_counting(shipment)
    summary = count_summary(session, shipment.id)
    if summary.pending:
        raise Conflict(N_("Finish the count before closing the batch."))
    if summary.unresolved:
        raise Conflict(
            N_("Differences not settled yet: %(n)d."),
            n=summary.unresolved,
        )
    batch = shipment.batch
    items = _open_items(session, batch.id)
    for item in items:
        if item.status in (ItemStatus.IN_ROTATION.value, ItemStatus.IN_TRANSIT.value):
            _set_item_status(item, ItemStatus.AVAILABLE)
    before = audit.snapshot(batch, ("status", "holder_site_id"))
    batch.status = BatchStatus.CLOSED.value
    batch.holder_site_id = shipment.to_site_id
    session.execute(
        update(BatchItem)
        .where(BatchItem.batch_id == batch.id, BatchItem.is_open)
        .values(is_open=False)
        .execution_options(synchronize_session="fetch")
    )
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(
            N_("Batch %(code)s was changed by someone else at the same moment. Reload the page."),
            code=batch.code,
        ) from None
    audit.record(
        session,
        actor_id=actor_id,
        action="batch.close",
        object_type="batch",
        object_id=batch.id,
        object_label=batch.code,
        changes={
            **audit.diff(before, audit.snapshot(batch, ("status", "holder_site_id"))),
            "copies_released": [None, len(items)],
        },
    )
    return batch


def get_shipment(session: Session, shipment_id: int) -> Shipment:
    """Return the shipment with this id, or raise NotFound."""
    shipment = session.get(Shipment, shipment_id)
    if shipment is None:
        raise NotFound(N_("No such shipment."))
    return shipment
