"""Batch state changes: create, add and remove copies, ready/reopen, split, merge, close.

Services stage changes and flush; the edge commits (`with transaction(session):`). Every change is
audited. "A copy is in at most one open batch" is checked here and, finally, by the database's
partial unique index on `batch_items`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.audit import services as audit
from app.db import utcnow
from app.errors import N_
from app.network.models import LIBRARY_KINDS, Site
from app.text import nfc
from catalog import services as catalog_services
from catalog.models import Item, ItemStatus, can_change_status
from rotation import rules as stock_rules
from rotation.errors import Conflict, CopyRefused, NotFound, ValidationError
from rotation.models import Batch, BatchItem, BatchStatus, can_change_batch_status

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CODE_PREFIX = "LC"
CODE_ATTEMPTS = 5
BATCH_FIELDS = ("code", "status", "home_library_id", "target_size", "box_count", "seal_number", "notes")
# Copies still in a batch's hands go back on the shelf when it closes; lost or damaged ones stay so.
RELEASED_STATUSES = (ItemStatus.IN_ROTATION.value, ItemStatus.IN_TRANSIT.value)
EDITABLE = (BatchStatus.ASSEMBLING.value,)
RESHAPEABLE = (BatchStatus.ASSEMBLING.value, BatchStatus.READY.value)


@dataclass
class AddReport:
    """What happened to a pasted list: copies added, and codes refused with their reasons."""

    added: list[Item] = field(default_factory=list)
    refused: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = field(default_factory=list)


# --- helpers ----------------------------------------------------------------------------------


def _audit_batch(session: Session, batch: Batch, action: str, changes: dict, actor_id: int | None) -> None:
    audit.record(
        session,
        actor_id=actor_id,
        action=action,
        object_type="batch",
        object_id=batch.id,
        object_label=batch.code,
        changes=changes,
    )


def _set_item_status(session: Session, item: Item, status: ItemStatus, batch: Batch, actor_id: int | None):
    """Move a copy's status (transitions respected), audited on the copy.

    Not `catalog.services.change_item_status`: that re-indexes the record for search on every call,
    which a status change does not need and a 300-copy batch cannot afford.
    """
    old = item.status
    if old == status:
        return
    if not can_change_status(old, status):
        raise ValidationError(
            N_("Copy %(number)s cannot go from %(old)s to %(new)s."),
            number=item.accession_number,
            old=old,
            new=status.value,
        )
    item.status = status.value
    audit.record(
        session,
        actor_id=actor_id,
        action="item.update",
        object_type="item",
        object_id=item.id,
        object_label=item.accession_number,
        changes={"status": [old, status.value], "batch": [None, batch.code]},
    )


def _set_batch_status(batch: Batch, status: BatchStatus) -> None:
    if not can_change_batch_status(batch.status, status):
        raise Conflict(
            N_("Batch %(code)s cannot go from %(old)s to %(new)s."),
            code=batch.code,
            old=batch.status,
            new=status.value,
        )
    batch.status = status.value


def _require_status(batch: Batch, allowed: Sequence[str]) -> None:
    if batch.status not in allowed:
        if allowed == EDITABLE:
            raise Conflict(
                N_("Batch %(code)s is not being assembled; reopen it to change its copies."), code=batch.code
            )
        raise Conflict(
            N_("Batch %(code)s can be split or merged only while it is being assembled or ready."),
            code=batch.code,
        )


def _lock_item(session: Session, item: Item) -> None:
    """Take the copy's row lock for the rest of the transaction and read the copy again under it.

    On PostgreSQL a second transaction scanning the same copy waits here until the first ends
    (SELECT … FOR UPDATE, which also reads the row); on SQLite a no-op write takes the database
    lock, and the busy timeout makes the second one wait. Either way the checks that follow read
    the winner's committed data.
    """
    if session.get_bind().dialect.name == "postgresql":
        locked = select(Item).where(Item.id == item.id).with_for_update(of=Item)
        session.execute(locked.execution_options(populate_existing=True))
    else:
        session.execute(text("UPDATE items SET status = status WHERE id = :id"), {"id": item.id})
        session.refresh(item)


def open_membership(session: Session, item_id: int) -> tuple[int, str] | None:
    """Return (batch id, batch code) of the open batch holding the copy, or None."""
    row = session.execute(
        select(Batch.id, Batch.code)
        .join(BatchItem, BatchItem.batch_id == Batch.id)
        .where(BatchItem.item_id == item_id, BatchItem.is_open)
    ).first()
    return (row[0], row[1]) if row else None


def _membership_refusal(batch: Batch, number: str, holder: tuple[int, str]) -> CopyRefused:
    if holder[0] == batch.id:
        return CopyRefused(
            [(N_("Copy %(number)s is already in this batch (scanned twice)."), {"number": number})],
            code=number,
        )
    return CopyRefused(
        [(N_("Copy %(number)s is already in batch %(batch)s."), {"number": number, "batch": holder[1]})],
        code=number,
    )


def next_code(session: Session, year: int) -> str:
    """Return the next free batch code of a year: LC-<year>-<4-digit running number>."""
    prefix = f"{CODE_PREFIX}-{year}-"
    last = session.scalar(
        select(Batch.code)
        .where(Batch.code.like(prefix + "%"))
        .order_by(func.length(Batch.code).desc(), Batch.code.desc())
        .limit(1)
    )
    number = 1
    if last:
        try:
            number = int(last[len(prefix) :]) + 1
        except ValueError:
            number = 1
    return f"{prefix}{number:04d}"


def _insert_with_code(session: Session, batch: Batch, year: int) -> None:
    """Give the batch the next code of the year and insert it; retry when another took the code."""
    for _attempt in range(CODE_ATTEMPTS):
        batch.code = next_code(session, year)
        try:
            with session.begin_nested():
                session.add(batch)
                session.flush()
            return
        except IntegrityError:
            # Another transaction took the same number a moment ago: take the next one.
            continue
    raise Conflict(N_("Could not give the batch a code; please try again."))


def _home_library(session: Session, library_id: int) -> Site:
    library = session.get(Site, library_id) if library_id else None
    if library is None or library.kind not in LIBRARY_KINDS:
        raise ValidationError(N_("Choose the library the batch belongs to."), field="home_library_id")
    return library


# --- create, edit -----------------------------------------------------------------------------


def create_batch(
    session: Session,
    *,
    home_library_id: int,
    target_size: int = 200,
    box_count: int = 1,
    seal_number: str = "",
    notes: str = "",
    actor_id: int | None,
    parent_batch_id: int | None = None,
    now: datetime | None = None,
) -> Batch:
    """Create an empty batch at its library, coded LC-<year>-NNNN (year in Vietnam's time zone)."""
    library = _home_library(session, home_library_id)
    if not target_size or target_size < 1:
        raise ValidationError(N_("The target size must be at least 1."), field="target_size")
    if not box_count or box_count < 1:
        raise ValidationError(N_("The number of boxes must be at least 1."), field="box_count")
    year = (now or utcnow()).astimezone(LOCAL_TZ).year
    # The lock statement opens the transaction first, so the savepoint below nests inside it (SQLite).
    session.execute(text("UPDATE sites SET name = name WHERE id = :id"), {"id": library.id})
    batch = Batch(
        home_library_id=library.id,
        holder_site_id=library.id,
        status=BatchStatus.ASSEMBLING.value,
        target_size=target_size,
        box_count=box_count,
        seal_number=nfc(seal_number or "").strip()[:64],
        notes=nfc(notes or "").strip(),
        parent_batch_id=parent_batch_id,
        created_by_id=actor_id,
    )
    _insert_with_code(session, batch, year)
    _audit_batch(
        session,
        batch,
        "batch.create",
        {k: [None, v] for k, v in audit.snapshot(batch, BATCH_FIELDS).items()},
        actor_id,
    )
    return batch


def get_batch(session: Session, code: str) -> Batch:
    """Return the batch with this code, or raise NotFound."""
    batch = session.scalar(select(Batch).where(Batch.code == (code or "").strip().upper()))
    if batch is None:
        raise NotFound(N_("No batch has the code %(code)s."), code=code)
    return batch


# --- copies -----------------------------------------------------------------------------------


def add_copy(
    session: Session,
    batch: Batch,
    code: str,
    actor_id: int | None,
    *,
    rules: stock_rules.StockRules = stock_rules.DEFAULT_RULES,
) -> Item:
    """Put a copy (by accession number or barcode) into an assembling batch; it goes in_rotation."""
    _require_status(batch, EDITABLE)
    code = nfc(code or "").strip()
    item = catalog_services.find_item(session, code)
    if item is None:
        raise CopyRefused([(N_("No copy has the number %(code)s."), {"code": code})], code=code)
    number = item.accession_number
    _lock_item(session, item)  # and read again: another batch may have taken it meanwhile
    holder = open_membership(session, item.id)
    if holder is not None:
        raise _membership_refusal(batch, number, holder)
    # The libraries' names only matter in a refusal; reading them costs a query each.
    other_library = item.library_id != batch.home_library_id
    reasons = stock_rules.refusals(
        number=number,
        status=item.status,
        is_rare=item.is_rare,
        is_local_studies=item.is_local_studies,
        library_id=item.library_id,
        library_name=item.library.name if other_library and item.library else "",
        home_library_id=batch.home_library_id,
        home_library_name=batch.home_library.name if other_library and batch.home_library else "",
        rules=rules,
    )
    if reasons:
        raise CopyRefused(reasons, code=number)
    try:
        with session.begin_nested():
            session.add(BatchItem(batch_id=batch.id, item_id=item.id, is_open=True, added_by_id=actor_id))
            _set_item_status(session, item, ItemStatus.IN_ROTATION, batch, actor_id)
            # Both audit events in the same flush: one INSERT of two rows, and gone with the rest
            # if the savepoint is rolled back.
            _audit_batch(session, batch, "batch.add_copy", {"copy": [None, number]}, actor_id)
            session.flush()
    except (IntegrityError, StaleDataError):
        # The database's last word: the copy went into an open batch in another transaction.
        session.expire(item)
        holder = open_membership(session, item.id) or (0, "?")
        raise _membership_refusal(batch, number, holder) from None
    return item


def parse_codes(text_value: str) -> list[str]:
    """Return the codes of a pasted list: one per line, or separated by commas, semicolons or spaces."""
    codes: list[str] = []
    for line in (text_value or "").replace(",", "\n").replace(";", "\n").splitlines():
        codes.extend(part for part in line.split() if part)
    return codes


def parse_code_file(data: bytes) -> list[str]:
    """Return the codes of an uploaded text or CSV file: the first column, header lines skipped."""
    text_value = data.decode("utf-8-sig", errors="replace")
    codes = []
    for line in text_value.splitlines():
        first = line.replace(";", ",").replace("\t", ",").split(",")[0].strip().strip('"')
        if first and any(ch.isdigit() for ch in first):
            codes.append(first)
    return codes


def add_copies(
    session: Session,
    batch: Batch,
    codes: Sequence[str],
    actor_id: int | None = None,
    *,
    rules: stock_rules.StockRules = stock_rules.DEFAULT_RULES,
) -> AddReport:
    """Add a pasted or uploaded list of codes in one transaction; a refused code does not stop the others."""
    _require_status(batch, EDITABLE)
    report = AddReport()
    for code in codes:
        try:
            report.added.append(add_copy(session, batch, code, actor_id, rules=rules))
        except CopyRefused as err:
            report.refused.append((code, err.reasons))
    return report


def add_items_by_id(
    session: Session,
    batch: Batch,
    item_ids: Sequence[int],
    actor_id: int | None = None,
    *,
    rules: stock_rules.StockRules = stock_rules.DEFAULT_RULES,
) -> AddReport:
    """Add copies chosen by id (a search result, an automatic fill) in one transaction.

    Each goes through `add_copy`, so the same rules and the database's "one open batch per copy"
    index apply; a copy refused (taken by another batch meanwhile, say) is reported, not fatal.
    """
    _require_status(batch, EDITABLE)
    # In id order: two fills taking row locks in the same order wait for each other, never deadlock.
    ids = sorted({int(i) for i in item_ids})
    numbers = dict(session.execute(select(Item.id, Item.accession_number).where(Item.id.in_(ids))).all())
    report = AddReport()
    for item_id in ids:
        number = numbers.get(item_id)
        if number is None:
            report.refused.append(
                (str(item_id), [(N_("No copy has the number %(code)s."), {"code": item_id})])
            )
            continue
        try:
            report.added.append(add_copy(session, batch, number, actor_id, rules=rules))
        except CopyRefused as err:
            report.refused.append((number, err.reasons))
    return report


def remove_copy(session: Session, batch: Batch, item_id: int, actor_id: int | None) -> Item:
    """Take a copy out of an assembling batch; it goes back to available."""
    _require_status(batch, EDITABLE)
    member = session.scalar(
        select(BatchItem).where(BatchItem.batch_id == batch.id, BatchItem.item_id == item_id)
    )
    if member is None:
        raise NotFound(N_("That copy is not in batch %(code)s."), code=batch.code)
    item = member.item
    session.delete(member)
    _set_item_status(session, item, ItemStatus.AVAILABLE, batch, actor_id)
    session.flush()
    _audit_batch(session, batch, "batch.remove_copy", {"copy": [item.accession_number, None]}, actor_id)
    return item


def copy_count(session: Session, batch_id: int) -> int:
    """Return how many copies a batch holds."""
    return session.scalar(select(func.count()).select_from(BatchItem).where(BatchItem.batch_id == batch_id))


# --- status -----------------------------------------------------------------------------------


def mark_ready(
    session: Session, batch: Batch, *, seal_number: str, box_count: int, actor_id: int | None
) -> Batch:
    """Pack and seal an assembling batch: it needs at least one copy, a seal number and a box count."""
    _require_status(batch, EDITABLE)
    if copy_count(session, batch.id) < 1:
        raise Conflict(N_("Batch %(code)s has no copies; add some before marking it ready."), code=batch.code)
    seal = nfc(seal_number or "").strip()
    if not seal:
        raise ValidationError(N_("Type the seal number."), field="seal_number")
    if not box_count or box_count < 1:
        raise ValidationError(N_("The number of boxes must be at least 1."), field="box_count")
    before = audit.snapshot(batch, BATCH_FIELDS)
    _set_batch_status(batch, BatchStatus.READY)
    batch.seal_number = seal[:64]
    batch.box_count = box_count
    session.flush()
    _audit_batch(
        session, batch, "batch.ready", audit.diff(before, audit.snapshot(batch, BATCH_FIELDS)), actor_id
    )
    return batch


def reopen(session: Session, batch: Batch, *, actor_id: int | None) -> Batch:
    """Open a ready batch again for changes (its seal is broken)."""
    if batch.status != BatchStatus.READY:
        raise Conflict(N_("Only a ready batch can be reopened."))
    before = audit.snapshot(batch, BATCH_FIELDS)
    _set_batch_status(batch, BatchStatus.ASSEMBLING)
    session.flush()
    _audit_batch(
        session, batch, "batch.reopen", audit.diff(before, audit.snapshot(batch, BATCH_FIELDS)), actor_id
    )
    return batch


def close(session: Session, batch: Batch, *, actor_id: int | None) -> Batch:
    """Close a batch and release its copies: those still in rotation go back to available."""
    before = audit.snapshot(batch, BATCH_FIELDS)
    _set_batch_status(batch, BatchStatus.CLOSED)
    items = session.scalars(
        select(Item).join(BatchItem, BatchItem.item_id == Item.id).where(BatchItem.batch_id == batch.id)
    ).all()
    session.execute(update(BatchItem).where(BatchItem.batch_id == batch.id).values(is_open=False))
    for item in items:
        if item.status in RELEASED_STATUSES:
            _set_item_status(session, item, ItemStatus.AVAILABLE, batch, actor_id)
    batch.holder_site_id = batch.home_library_id
    session.flush()
    _audit_batch(
        session, batch, "batch.close", audit.diff(before, audit.snapshot(batch, BATCH_FIELDS)), actor_id
    )
    return batch


# --- split and merge --------------------------------------------------------------------------


def _reassemble(batch: Batch) -> None:
    """A batch whose contents changed must be packed and sealed again."""
    if batch.status == BatchStatus.READY:
        batch.status = BatchStatus.ASSEMBLING.value
        batch.seal_number = ""


def split(session: Session, batch: Batch, item_ids: Sequence[int], *, actor_id: int | None) -> Batch:
    """Move some copies of a batch into a new batch that records where it came from."""
    _require_status(batch, RESHAPEABLE)
    wanted = set(item_ids)
    if not wanted:
        raise ValidationError(N_("Choose the copies to move into the new batch."), field="item_ids")
    members = session.scalars(select(BatchItem).where(BatchItem.batch_id == batch.id)).all()
    moving = [m for m in members if m.item_id in wanted]
    if len(moving) != len(wanted):
        raise ValidationError(N_("Some chosen copies are not in batch %(code)s."), code=batch.code)
    if len(moving) == len(members):
        raise ValidationError(N_("Leave at least one copy in batch %(code)s."), code=batch.code)
    new = create_batch(
        session,
        home_library_id=batch.home_library_id,
        target_size=batch.target_size,
        box_count=1,
        notes="",
        actor_id=actor_id,
        parent_batch_id=batch.id,
    )
    session.execute(
        update(BatchItem)
        .where(BatchItem.batch_id == batch.id, BatchItem.item_id.in_(wanted))
        .values(batch_id=new.id)
        .execution_options(synchronize_session="fetch")
    )
    _reassemble(batch)
    session.flush()
    numbers = sorted(m.item.accession_number for m in moving)
    _audit_batch(
        session, batch, "batch.split", {"split_into": [None, new.code], "copies": [None, numbers]}, actor_id
    )
    _audit_batch(
        session, new, "batch.split", {"split_from": [None, batch.code], "copies": [None, numbers]}, actor_id
    )
    return new


def merge(session: Session, target: Batch, other: Batch, *, actor_id: int | None) -> Batch:
    """Move every copy of `other` into `target` (same library, both assembling or ready); close `other`."""
    if target.id == other.id:
        raise ValidationError(N_("Choose another batch to merge."), field="other")
    _require_status(target, RESHAPEABLE)
    _require_status(other, RESHAPEABLE)
    if target.home_library_id != other.home_library_id:
        raise Conflict(
            N_("Batches %(a)s and %(b)s belong to different libraries and cannot be merged."),
            a=target.code,
            b=other.code,
        )
    numbers = sorted(
        session.scalars(
            select(Item.accession_number)
            .join(BatchItem, BatchItem.item_id == Item.id)
            .where(BatchItem.batch_id == other.id)
        )
    )
    session.execute(
        update(BatchItem)
        .where(BatchItem.batch_id == other.id)
        .values(batch_id=target.id)
        .execution_options(synchronize_session="fetch")
    )
    _reassemble(target)
    # The emptied batch is closed: assembling → closed is allowed, a ready one is reopened on the way.
    _reassemble(other)
    _set_batch_status(other, BatchStatus.CLOSED)
    other.holder_site_id = other.home_library_id
    session.flush()
    _audit_batch(
        session,
        target,
        "batch.merge",
        {"merged_from": [None, other.code], "copies": [None, numbers]},
        actor_id,
    )
    _audit_batch(
        session,
        other,
        "batch.merge",
        {"merged_into": [None, target.code], "status": [None, "closed"]},
        actor_id,
    )
    return target


__all__ = [
    "AddReport",
    "add_copies",
    "add_copy",
    "add_items_by_id",
    "close",
    "copy_count",
    "create_batch",
    "get_batch",
    "mark_ready",
    "merge",
    "next_code",
    "open_membership",
    "parse_code_file",
    "parse_codes",
    "remove_copy",
    "reopen",
    "split",
]
