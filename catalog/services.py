"""Catalogue state changes: records (create, edit), copies, accession numbers, the search index."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pymarc import Record as MarcRecord
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.db import utcnow
from app.errors import N_
from app.network.models import LIBRARY_KINDS, Site
from app.text import nfc
from catalog import marc
from catalog.errors import Conflict, MarcValidationError, NotFound, ValidationError
from catalog.indexing import index_record, record_from_json, search_texts
from catalog.models import (
    AccessionSequence,
    Item,
    ItemStatus,
    Record,
    RecordKey,
    RecordMarc,
    can_change_status,
)

RECORD_AUDIT_FIELDS = ("title", "main_author", "isbn", "publisher", "year", "classification", "language")
ITEM_FIELDS = (
    "accession_number",
    "barcode",
    "class_number",
    "author_mark",
    "call_number",
    "library_id",
    "location",
    "status",
    "price_vnd",
    "source",
    "notes",
    "is_rare",
    "is_local_studies",
)


# --- search index -----------------------------------------------------------------------------


def _item_terms(session: Session, record_id: int) -> list[str]:
    rows = session.execute(
        select(Item.accession_number, Item.barcode, Item.call_number).where(Item.record_id == record_id)
    ).all()
    return [t for row in rows for t in row if t]


def write_search_rows(session: Session, rows: Sequence[tuple[int, str, str]]) -> None:
    """Replace the search-index rows (record_id, exact, folded) of these records."""
    if not rows:
        return
    # SQLite keeps the index in an FTS5 table keyed by rowid; PostgreSQL in a table with tsvectors.
    key = "rowid" if _is_sqlite(session) else "record_id"
    delete_search_rows(session, [r[0] for r in rows])
    session.execute(
        text(f"INSERT INTO record_search ({key}, exact, folded) VALUES (:id, :exact, :folded)"),  # noqa: S608
        [{"id": rid, "exact": exact, "folded": folded} for rid, exact, folded in rows],
    )


def delete_search_rows(session: Session, record_ids: Iterable[int]) -> None:
    """Remove records from the search index."""
    column = "rowid" if _is_sqlite(session) else "record_id"
    params = [{"id": rid} for rid in record_ids]
    if params:
        session.execute(text(f"DELETE FROM record_search WHERE {column} = :id"), params)  # noqa: S608


def reindex_record(session: Session, record: Record) -> None:
    """Recompute a record's search text from its MARC data and its copies."""
    fields = marc.extract(record_from_json(record.marc))
    exact, folded = search_texts(fields, _item_terms(session, record.id))
    write_search_rows(session, [(record.id, exact, folded)])


def reindex_records(session: Session, record_ids: Sequence[int]) -> None:
    """Recompute the search text of many records at once, a few queries per 900 records."""
    ids = list(record_ids)
    for chunk in (ids[i : i + 900] for i in range(0, len(ids), 900)):
        marc_by_id = dict(
            session.execute(
                select(RecordMarc.record_id, RecordMarc.marc).where(RecordMarc.record_id.in_(chunk))
            ).all()
        )
        terms: dict[int, list[str]] = {rid: [] for rid in chunk}
        for rid, number, barcode, call in session.execute(
            select(Item.record_id, Item.accession_number, Item.barcode, Item.call_number).where(
                Item.record_id.in_(chunk)
            )
        ):
            terms[rid].extend(t for t in (number, barcode, call) if t)
        rows = []
        for rid in chunk:
            if rid in marc_by_id:
                fields = marc.extract(record_from_json(marc_by_id[rid]))
                exact, folded = search_texts(fields, terms[rid])
                rows.append((rid, exact, folded))
        write_search_rows(session, rows)


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


# --- records ----------------------------------------------------------------------------------


def check_record(record: MarcRecord) -> None:
    """Raise MarcValidationError listing every problem when a record is not valid MARC21."""
    problems = marc.validate(record)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise MarcValidationError(
            N_("The record has %(n)d problem(s): %(list)s"),
            problems=errors,
            n=len(errors),
            list="; ".join(str(p) for p in errors),
        )


def _replace_keys(session: Session, record_id: int, keys: Iterable[marc.MatchKey]) -> None:
    session.execute(delete(RecordKey).where(RecordKey.record_id == record_id))
    rows = [{"record_id": record_id, "kind": k.kind, "value": k.value[:400]} for k in dict.fromkeys(keys)]
    if rows:
        session.execute(insert(RecordKey), rows)


def create_record(
    session: Session, record: MarcRecord, *, actor_id: int | None, source: str = "manual"
) -> Record:
    """Validate and store a new bibliographic record; index it and record the creation."""
    check_record(record)
    indexed = index_record(record)
    columns = dict(indexed.row)
    marc_json = columns.pop("marc")
    row = Record(**columns, source=source[:200], created_by_id=actor_id, updated_by_id=actor_id)
    row.marc_data = RecordMarc(marc=marc_json, iso2709=_iso2709(record))
    session.add(row)
    session.flush()
    _replace_keys(session, row.id, indexed.keys)
    exact, folded = search_texts(indexed.fields)
    write_search_rows(session, [(row.id, exact, folded)])
    audit.record(
        session,
        actor_id=actor_id,
        action="record.create",
        object_type="record",
        object_id=row.id,
        object_label=row.title[:200],
        changes={k: [None, v] for k, v in audit.snapshot(row, RECORD_AUDIT_FIELDS).items()},
    )
    return row


def update_record(
    session: Session,
    row: Record,
    record: MarcRecord,
    *,
    actor_id: int | None,
    expected_version: int | None = None,
) -> Record:
    """Replace a record's MARC data after validation; refuse if someone saved it meanwhile."""
    if expected_version is not None and row.version != expected_version:
        raise Conflict(
            N_("Someone else saved this record meanwhile. Reload it and make your change again."),
        )
    check_record(record)
    before = audit.snapshot(row, RECORD_AUDIT_FIELDS)
    old_marc = row.marc
    indexed = index_record(record)
    columns = dict(indexed.row)
    marc_json = columns.pop("marc")
    for name, value in columns.items():
        setattr(row, name, value)
    if marc_json != old_marc:
        if row.marc_data is None:
            row.marc_data = RecordMarc(marc=marc_json)
        row.marc_data.marc = marc_json
        row.marc_data.iso2709 = _iso2709(record)
        row.updated_at = utcnow()  # the MARC data is in another table: this makes the version go up
    row.updated_by_id = actor_id
    session.flush()
    _replace_keys(session, row.id, indexed.keys)
    exact, folded = search_texts(indexed.fields, _item_terms(session, row.id))
    write_search_rows(session, [(row.id, exact, folded)])
    changes = audit.diff(before, audit.snapshot(row, RECORD_AUDIT_FIELDS))
    if old_marc != row.marc:
        changes["marc"] = [_marc_lines(old_marc), _marc_lines(row.marc)]
    audit.record(
        session,
        actor_id=actor_id,
        action="record.update",
        object_type="record",
        object_id=row.id,
        object_label=row.title[:200],
        changes=changes,
    )
    return row


def _iso2709(record: MarcRecord) -> bytes | None:
    """Return the ISO 2709 bytes cached for export, or None when ISO 2709 cannot hold the record."""
    try:
        return marc.record_to_iso2709(record)
    except marc.MarcWriteError:
        return None


def _marc_lines(marc_json: str) -> str:
    """Return a compact text form of a MARC record for the audit log."""
    return str(record_from_json(marc_json))


def get_record(session: Session, record_id: int) -> Record:
    """Return a record by id or raise NotFound."""
    row = session.get(Record, record_id)
    if row is None:
        raise NotFound(N_("No such record."))
    return row


# --- accession numbers ------------------------------------------------------------------------


def _clean_prefix(prefix: str) -> str:
    value = nfc(prefix).strip().upper()
    if not value or len(value) > 16 or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in value):
        raise ValidationError(
            N_("A prefix has 1 to 16 letters A-Z, digits, dash or underscore."), field="prefix"
        )
    return value


def create_sequence(
    session: Session,
    *,
    library_id: int,
    prefix: str,
    width: int = 5,
    next_number: int = 1,
    description: str = "",
    actor_id: int | None,
) -> AccessionSequence:
    """Stage a new accession-number series for a library (prefixes are unique in the network)."""
    prefix = _clean_prefix(prefix)
    library = session.get(Site, library_id)
    if library is None or library.kind not in LIBRARY_KINDS:
        raise ValidationError(N_("Accession numbers belong to a library."), field="library_id")
    if not 1 <= int(width) <= 12:
        raise ValidationError(N_("The width must be between 1 and 12 digits."), field="width")
    if int(next_number) < 1:
        raise ValidationError(N_("The next number must be at least 1."), field="next_number")
    if session.scalar(select(AccessionSequence.id).where(AccessionSequence.prefix == prefix)):
        raise Conflict(N_("The prefix %(prefix)s is already used."), field="prefix", prefix=prefix)
    seq = AccessionSequence(
        library_id=library_id,
        prefix=prefix,
        width=int(width),
        next_number=int(next_number),
        description=description.strip()[:200],
    )
    session.add(seq)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="accession_sequence.create",
        object_type="accession_sequence",
        object_id=seq.id,
        object_label=prefix,
        changes={"prefix": [None, prefix], "width": [None, seq.width], "library_id": [None, library_id]},
    )
    return seq


def allocate_accession_numbers(session: Session, sequence_id: int, count: int) -> list[str]:
    """Reserve `count` consecutive running numbers atomically and return the accession numbers.

    One UPDATE … RETURNING takes the block, so two cataloguers never get the same number and
    numbers are never reused, on SQLite and PostgreSQL alike.
    """
    if count < 1 or count > 10_000:
        raise ValidationError(N_("The number of copies must be between 1 and 10,000."), field="count")
    result = session.execute(
        update(AccessionSequence)
        .where(AccessionSequence.id == sequence_id, AccessionSequence.is_active.is_(True))
        .values(next_number=AccessionSequence.next_number + count)
        .returning(AccessionSequence.next_number, AccessionSequence.prefix, AccessionSequence.width)
    ).first()
    if result is None:
        raise NotFound(N_("No such accession-number series."))
    after, prefix, width = result
    first = after - count
    return [f"{prefix}.{n:0{width}d}" for n in range(first, after)]


# --- copies -----------------------------------------------------------------------------------


def _check_unique(session: Session, accession: str, barcode: str | None, item_id: int | None) -> None:
    clash = session.scalar(
        select(Item.id).where(Item.accession_number == accession, Item.id != (item_id or -1))
    )
    if clash:
        raise Conflict(
            N_("Accession number %(number)s is already used."), field="accession_number", number=accession
        )
    if barcode:
        clash = session.scalar(select(Item.id).where(Item.barcode == barcode, Item.id != (item_id or -1)))
        if clash:
            raise Conflict(N_("Barcode %(barcode)s is already used."), field="barcode", barcode=barcode)


def _clean_item_values(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name in ("class_number", "author_mark", "location", "source", "notes"):
        if name in values:
            clean[name] = nfc(str(values[name] or "")).strip()
    if "call_number" in values or "class_number" in clean or "author_mark" in clean:
        call = nfc(str(values.get("call_number") or "")).strip()
        if not call:
            call = " ".join(p for p in (clean.get("class_number"), clean.get("author_mark")) if p)
        clean["call_number"] = call[:120]
    if "barcode" in values:
        clean["barcode"] = str(values["barcode"] or "").strip() or None
    if "price_vnd" in values:
        price = values["price_vnd"]
        if price in (None, ""):
            clean["price_vnd"] = None
        else:
            try:
                clean["price_vnd"] = int(str(price).replace(".", "").replace(",", "").replace(" ", ""))
            except ValueError:
                raise ValidationError(
                    N_("The price must be a whole number of đồng."), field="price_vnd"
                ) from None
            if clean["price_vnd"] < 0:
                raise ValidationError(N_("The price cannot be negative."), field="price_vnd")
    if "library_id" in values:
        library = session.get(Site, values["library_id"]) if values["library_id"] else None
        if library is None or library.kind not in LIBRARY_KINDS:
            raise ValidationError(N_("Choose the library that holds the copy."), field="library_id")
        clean["library_id"] = library.id
    if "is_rare" in values:
        clean["is_rare"] = bool(values["is_rare"])
    if "is_local_studies" in values:
        clean["is_local_studies"] = bool(values["is_local_studies"])
    if "status" in values:
        try:
            clean["status"] = ItemStatus(values["status"]).value
        except ValueError:
            raise ValidationError(N_("Unknown status."), field="status") from None
    limits = {"class_number": 60, "author_mark": 30, "location": 120, "source": 120, "barcode": 64}
    for name, limit in limits.items():
        if clean.get(name) and len(clean[name]) > limit:
            raise ValidationError(N_("%(field)s is too long."), field=name, **{"field": name})
    return clean


def add_items(
    session: Session,
    record: Record,
    *,
    count: int = 1,
    sequence_id: int | None = None,
    accession_numbers: Sequence[str] | None = None,
    values: dict[str, Any],
    actor_id: int | None,
) -> list[Item]:
    """Add copies to a record in one action: numbers from a series, or typed by the cataloguer."""
    clean = _clean_item_values(session, values)
    if "library_id" not in clean:
        raise ValidationError(N_("Choose the library that holds the copy."), field="library_id")
    if accession_numbers:
        numbers = [nfc(n).strip().upper() for n in accession_numbers if n and n.strip()]
        if len(set(numbers)) != len(numbers):
            raise Conflict(N_("The same accession number is typed twice."), field="accession_number")
    elif sequence_id is not None:
        numbers = allocate_accession_numbers(session, sequence_id, count)
    else:
        raise ValidationError(
            N_("Choose an accession-number series or type the numbers."), field="accession_number"
        )
    barcode = clean.pop("barcode", None)
    if barcode and len(numbers) > 1:
        raise ValidationError(N_("A barcode can be given only when adding one copy."), field="barcode")
    items = []
    for number in numbers:
        _check_unique(session, number, barcode, None)
        item = Item(record_id=record.id, accession_number=number, barcode=barcode, **clean)
        item.status = clean.get("status", ItemStatus.IN_PROCESSING.value)
        session.add(item)
        items.append(item)
    session.flush()
    for item in items:
        audit.record(
            session,
            actor_id=actor_id,
            action="item.create",
            object_type="item",
            object_id=item.id,
            object_label=f"{item.accession_number} {record.title[:100]}",
            changes={k: [None, v] for k, v in audit.snapshot(item, ITEM_FIELDS).items()},
        )
    reindex_record(session, record)
    return items


def update_item(session: Session, item: Item, values: dict[str, Any], *, actor_id: int | None) -> Item:
    """Change a copy's details; a status change must follow the allowed transitions."""
    before = audit.snapshot(item, ITEM_FIELDS)
    clean = _clean_item_values(session, values)
    if (
        "status" in clean
        and clean["status"] != item.status
        and not can_change_status(item.status, clean["status"])
    ):
        raise ValidationError(
            N_("A copy cannot go from %(old)s to %(new)s."),
            field="status",
            old=item.status,
            new=clean["status"],
        )
    if "accession_number" in values:
        number = nfc(str(values["accession_number"] or "")).strip().upper()
        if not number:
            raise ValidationError(N_("The accession number is required."), field="accession_number")
        clean["accession_number"] = number
    _check_unique(
        session, clean.get("accession_number", item.accession_number), clean.get("barcode"), item.id
    )
    for name, value in clean.items():
        setattr(item, name, value)
    session.flush()
    changes = audit.diff(before, audit.snapshot(item, ITEM_FIELDS))
    if changes:
        audit.record(
            session,
            actor_id=actor_id,
            action="item.update",
            object_type="item",
            object_id=item.id,
            object_label=item.accession_number,
            changes=changes,
        )
        reindex_record(session, item.record)
    return item


def change_item_status(
    session: Session, item: Item, status: ItemStatus | str, *, actor_id: int | None
) -> Item:
    """Move a copy to another status, if the transition is allowed."""
    return update_item(session, item, {"status": ItemStatus(status).value}, actor_id=actor_id)


def find_item(session: Session, code: str) -> Item | None:
    """Return the copy with this accession number or barcode, or None."""
    value = nfc(code or "").strip()
    if not value:
        return None
    item = session.scalar(select(Item).where(Item.accession_number == value.upper()))
    return item or session.scalar(select(Item).where(Item.barcode == value))
