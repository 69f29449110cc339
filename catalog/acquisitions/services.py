"""Acquisitions state changes: suppliers, intakes and their lines, receiving into copies, withdrawals.

Every function stages its changes (add, flush) and records audit events; the caller commits once.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.audit.models import AuditEvent
from app.db import utcnow
from app.errors import N_, Conflict, NotFound, ValidationError
from app.network.models import LIBRARY_KINDS, Site
from app.text import fold, nfc
from catalog import importing, marc
from catalog.acquisitions.models import (
    Intake,
    IntakeItem,
    IntakeLine,
    IntakeRegisterCounter,
    IntakeSource,
    IntakeStatus,
    Supplier,
    SupplierKind,
    Withdrawal,
    WithdrawalLine,
    WithdrawalReason,
)
from catalog.models import AccessionSequence, Item, ItemStatus, Record, can_change_status
from catalog.services import (
    allocate_accession_numbers,
    change_item_status,
    create_record,
    reindex_records,
)

SUPPLIER_FIELDS = ("name", "kind", "address", "phone", "tax_code", "notes", "is_active")
INTAKE_FIELDS = ("library_id", "intake_date", "source", "supplier_id", "document_number", "fund", "notes")
LINE_FIELDS = (
    "record_id",
    "copies",
    "unit_price_vnd",
    "sequence_id",
    "class_number",
    "author_mark",
    "call_number",
    "location",
    "notes",
)
MAX_COPIES_PER_LINE = 10_000
MAX_UNIT_PRICE_VND = 1_000_000_000  # a billion đồng for one copy is a typing mistake
MAX_WITHDRAWAL = 20_000
_IN_BATCH = 900  # values per IN (...) list, under SQLite's limit of bound parameters


# --- small helpers -----------------------------------------------------------------------------


def _text(value: Any, limit: int, field_name: str) -> str:
    """Return trimmed NFC text, or raise when it is longer than `limit`."""
    text = nfc(str(value or "")).strip()
    if len(text) > limit:
        raise ValidationError(N_("%(field)s is too long."), field=field_name, **{"field": field_name})
    return text


def parse_vnd(value: Any, field_name: str = "unit_price_vnd") -> int | None:
    """Read a whole amount of đồng ("1.250.000", "85000", "85 000 ₫"); None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        amount = value
    else:
        text = str(value).replace("₫", "").replace("đ", "").replace(".", "").replace(",", "").replace(" ", "")
        if not text:
            return None
        try:
            amount = int(text)
        except ValueError:
            raise ValidationError(N_("The price must be a whole number of đồng."), field=field_name) from None
    if amount < 0:
        raise ValidationError(N_("The price cannot be negative."), field=field_name)
    if amount > MAX_UNIT_PRICE_VND:
        raise ValidationError(N_("The price is too high; check the number of zeros."), field=field_name)
    return amount


def _library(session: Session, library_id: Any) -> Site:
    site = session.get(Site, int(library_id)) if str(library_id or "").isdigit() else None
    if site is None or site.kind not in LIBRARY_KINDS:
        raise ValidationError(N_("Choose a library."), field="library_id")
    return site


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _chunks(values: Sequence[Any], size: int = _IN_BATCH) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# --- suppliers ---------------------------------------------------------------------------------


def supplier_key(name: str) -> str:
    """Return the form in which two supplier names clash: NFC, folded (no marks, đ→d), lower case."""
    return " ".join(fold(nfc(name)).lower().split())


def _supplier_values(values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "name" in values:
        clean["name"] = " ".join(_text(values["name"], 300, "name").split())
        if not clean["name"]:
            raise ValidationError(N_("The name is required."), field="name")
    if "kind" in values:
        try:
            clean["kind"] = SupplierKind(values["kind"] or SupplierKind.SUPPLIER).value
        except ValueError:
            raise ValidationError(N_("Unknown kind."), field="kind") from None
    for name, limit in (("address", 500), ("phone", 50), ("tax_code", 20), ("notes", 10_000)):
        if name in values:
            clean[name] = _text(values[name], limit, name)
    if clean.get("tax_code") and not all(ch.isdigit() or ch == "-" for ch in clean["tax_code"]):
        raise ValidationError(N_("A tax code has digits (and a dash) only."), field="tax_code")
    if "is_active" in values:
        clean["is_active"] = bool(values["is_active"])
    return clean


def _check_supplier_name(session: Session, name: str, supplier_id: int | None) -> str:
    key = supplier_key(name)
    clash = session.scalar(
        select(Supplier).where(Supplier.name_key == key, Supplier.id != (supplier_id or -1))
    )
    if clash is not None:
        raise Conflict(N_("A supplier named %(name)s exists already."), field="name", name=clash.name)
    return key


def create_supplier(session: Session, values: dict[str, Any], *, actor_id: int | None) -> Supplier:
    """Stage a new supplier or donor; names that differ only by marks or case clash."""
    clean = _supplier_values({"kind": SupplierKind.SUPPLIER.value, **values})
    if "name" not in clean:
        raise ValidationError(N_("The name is required."), field="name")
    key = _check_supplier_name(session, clean["name"], None)
    row = Supplier(name_key=key, **clean)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="supplier.create",
        object_type="supplier",
        object_id=row.id,
        object_label=row.name,
        changes={k: [None, v] for k, v in audit.snapshot(row, SUPPLIER_FIELDS).items()},
    )
    return row


def update_supplier(
    session: Session, supplier_id: int, values: dict[str, Any], *, actor_id: int | None
) -> Supplier:
    """Change a supplier's details (deactivate instead of deleting one that intakes point to)."""
    row = get_supplier(session, supplier_id)
    before = audit.snapshot(row, SUPPLIER_FIELDS)
    clean = _supplier_values(values)
    if "name" in clean:
        row.name_key = _check_supplier_name(session, clean["name"], row.id)
    for name, value in clean.items():
        setattr(row, name, value)
    session.flush()
    changes = audit.diff(before, audit.snapshot(row, SUPPLIER_FIELDS))
    if changes:
        audit.record(
            session,
            actor_id=actor_id,
            action="supplier.update",
            object_type="supplier",
            object_id=row.id,
            object_label=row.name,
            changes=changes,
        )
    return row


def get_supplier(session: Session, supplier_id: int) -> Supplier:
    """Return a supplier or raise NotFound."""
    row = session.get(Supplier, supplier_id)
    if row is None:
        raise NotFound(N_("No such supplier."))
    return row


# --- intakes -----------------------------------------------------------------------------------


def get_intake(session: Session, intake_id: int) -> Intake:
    """Return an intake or raise NotFound."""
    row = session.get(Intake, intake_id)
    if row is None:
        raise NotFound(N_("No such intake."))
    return row


def _draft(session: Session, intake_id: int) -> Intake:
    row = get_intake(session, intake_id)
    if row.status != IntakeStatus.DRAFT.value:
        raise Conflict(N_("This intake has been received; it can no longer be changed."))
    return row


def _intake_values(session: Session, values: dict[str, Any], *, today: date | None = None) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "library_id" in values:
        clean["library_id"] = _library(session, values["library_id"]).id
    if "intake_date" in values:
        day = values["intake_date"]
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day.strip())
            except ValueError:
                day = None
        if not isinstance(day, date):
            raise ValidationError(N_("Give the date of the intake."), field="intake_date")
        if day > (today or date.today()):
            raise ValidationError(N_("The date cannot be in the future."), field="intake_date")
        if day.year < 1900:
            raise ValidationError(N_("The date is too far in the past."), field="intake_date")
        clean["intake_date"] = day
    if "source" in values:
        try:
            clean["source"] = IntakeSource(values["source"]).value
        except ValueError:
            raise ValidationError(N_("Choose how the books came."), field="source") from None
    if "supplier_id" in values:
        sid = values["supplier_id"]
        if sid in (None, "", 0):
            clean["supplier_id"] = None
        else:
            supplier = session.get(Supplier, int(sid))
            if supplier is None:
                raise ValidationError(N_("No such supplier."), field="supplier_id")
            clean["supplier_id"] = supplier.id
    if "document_number" in values:
        clean["document_number"] = _text(values["document_number"], 100, "document_number")
    if "fund" in values:
        clean["fund"] = _text(values["fund"], 200, "fund")
    if "notes" in values:
        clean["notes"] = _text(values["notes"], 10_000, "notes")
    return clean


def create_intake(
    session: Session, values: dict[str, Any], *, actor_id: int | None, today: date | None = None
) -> Intake:
    """Stage a new draft intake (library, date, source, supplier, invoice or decision, fund)."""
    clean = _intake_values(session, {"source": IntakeSource.PURCHASE.value, **values}, today=today)
    for required in ("library_id", "intake_date"):
        if required not in clean:
            raise ValidationError(
                N_("Choose a library.") if required == "library_id" else N_("Give the date of the intake."),
                field=required,
            )
    row = Intake(**clean, status=IntakeStatus.DRAFT.value, created_by_id=actor_id)
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="intake.create",
        object_type="intake",
        object_id=row.id,
        object_label=f"#{row.id} {row.document_number}".strip(),
        changes={k: [None, v] for k, v in audit.snapshot(row, INTAKE_FIELDS).items()},
    )
    return row


def update_intake(
    session: Session,
    intake_id: int,
    values: dict[str, Any],
    *,
    actor_id: int | None,
    today: date | None = None,
) -> Intake:
    """Change a draft intake's header; the library cannot change once a line names a series."""
    row = _draft(session, intake_id)
    before = audit.snapshot(row, INTAKE_FIELDS)
    clean = _intake_values(session, values, today=today)
    changes_library = "library_id" in clean and clean["library_id"] != row.library_id
    if changes_library and any(line.sequence_id for line in row.lines):
        raise Conflict(
            N_("The lines use accession series of the library; remove them before changing the library."),
            field="library_id",
        )
    for name, value in clean.items():
        setattr(row, name, value)
    session.flush()
    changes = audit.diff(before, audit.snapshot(row, INTAKE_FIELDS))
    if changes:
        audit.record(
            session,
            actor_id=actor_id,
            action="intake.update",
            object_type="intake",
            object_id=row.id,
            object_label=f"#{row.id}",
            changes=changes,
        )
    return row


def delete_intake(session: Session, intake_id: int, *, actor_id: int | None) -> None:
    """Delete a draft intake and its lines (a received intake stays: it is in the register)."""
    row = _draft(session, intake_id)
    audit.record(
        session,
        actor_id=actor_id,
        action="intake.delete",
        object_type="intake",
        object_id=row.id,
        object_label=f"#{row.id} {row.document_number}".strip(),
        changes={"lines": [len(row.lines), None]},
    )
    session.delete(row)
    session.flush()


def _line_values(session: Session, intake: Intake, values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if "record_id" in values:
        rid = values["record_id"]
        record = session.get(Record, int(rid)) if str(rid or "").isdigit() else None
        if record is None:
            raise ValidationError(N_("The title was not found in the catalogue."), field="record_id")
        clean["record_id"] = record.id
    if "copies" in values:
        try:
            copies = int(str(values["copies"]).strip())
        except (TypeError, ValueError):
            raise ValidationError(
                N_("The number of copies must be a whole number."), field="copies"
            ) from None
        if not 1 <= copies <= MAX_COPIES_PER_LINE:
            raise ValidationError(
                N_("The number of copies must be between 1 and %(max)d."),
                field="copies",
                max=MAX_COPIES_PER_LINE,
            )
        clean["copies"] = copies
    if "unit_price_vnd" in values:
        clean["unit_price_vnd"] = parse_vnd(values["unit_price_vnd"])
    if "sequence_id" in values:
        sid = values["sequence_id"]
        if sid in (None, "", 0):
            clean["sequence_id"] = None
        else:
            seq = session.get(AccessionSequence, int(sid))
            if seq is None or not seq.is_active:
                raise ValidationError(N_("No such accession-number series."), field="sequence_id")
            if seq.library_id != intake.library_id:
                raise ValidationError(
                    N_("The series %(prefix)s belongs to another library."),
                    field="sequence_id",
                    prefix=seq.prefix,
                )
            clean["sequence_id"] = seq.id
    for name, limit in (("class_number", 60), ("author_mark", 30), ("call_number", 120), ("location", 120)):
        if name in values:
            clean[name] = _text(values[name], limit, name)
    if "notes" in values:
        clean["notes"] = _text(values["notes"], 10_000, "notes")
    return clean


def _default_call_parts(record: Record) -> dict[str, str]:
    from catalog.queries import author_mark, class_number

    return {
        "class_number": class_number(record)[:60],
        "author_mark": author_mark(record.main_author, record.title),
    }


def add_line(session: Session, intake_id: int, values: dict[str, Any], *, actor_id: int | None) -> IntakeLine:
    """Add a title to a draft intake; the call number parts default from the record."""
    intake = _draft(session, intake_id)
    clean = _line_values(session, intake, {"copies": 1, **values})
    if "record_id" not in clean:
        raise ValidationError(N_("The title was not found in the catalogue."), field="record_id")
    record = session.get(Record, clean["record_id"])
    defaults = _default_call_parts(record)
    for name, value in defaults.items():
        if not clean.get(name):
            clean[name] = value
    if "sequence_id" not in clean or clean["sequence_id"] is None:
        clean["sequence_id"] = default_sequence(session, intake)
    position = session.scalar(
        select(func.coalesce(func.max(IntakeLine.position), 0)).where(IntakeLine.intake_id == intake.id)
    )
    line = IntakeLine(intake_id=intake.id, position=position + 1, **clean)
    session.add(line)
    session.flush()
    session.expire(intake, ["lines"])
    audit.record(
        session,
        actor_id=actor_id,
        action="intake.line_add",
        object_type="intake",
        object_id=intake.id,
        object_label=f"#{intake.id} {record.title[:150]}",
        changes={k: [None, v] for k, v in audit.snapshot(line, LINE_FIELDS).items()},
    )
    return line


def default_sequence(session: Session, intake: Intake) -> int | None:
    """The series the intake's other lines use, else the library's only active series."""
    used = session.scalar(
        select(IntakeLine.sequence_id)
        .where(IntakeLine.intake_id == intake.id, IntakeLine.sequence_id.is_not(None))
        .order_by(IntakeLine.position.desc())
        .limit(1)
    )
    if used:
        return used
    ids = session.scalars(
        select(AccessionSequence.id)
        .where(AccessionSequence.library_id == intake.library_id, AccessionSequence.is_active.is_(True))
        .limit(2)
    ).all()
    return ids[0] if len(ids) == 1 else None


def _line(session: Session, intake_id: int, line_id: int) -> tuple[Intake, IntakeLine]:
    intake = _draft(session, intake_id)
    line = session.get(IntakeLine, line_id)
    if line is None or line.intake_id != intake.id:
        raise NotFound(N_("No such line."))
    return intake, line


def update_line(
    session: Session, intake_id: int, line_id: int, values: dict[str, Any], *, actor_id: int | None
) -> IntakeLine:
    """Change a line of a draft intake (copies, price, series, call number, place)."""
    intake, line = _line(session, intake_id, line_id)
    before = audit.snapshot(line, LINE_FIELDS)
    clean = _line_values(session, intake, values)
    for name, value in clean.items():
        setattr(line, name, value)
    session.flush()
    changes = audit.diff(before, audit.snapshot(line, LINE_FIELDS))
    if changes:
        audit.record(
            session,
            actor_id=actor_id,
            action="intake.line_update",
            object_type="intake",
            object_id=intake.id,
            object_label=f"#{intake.id} {line.record.title[:150]}",
            changes=changes,
        )
    return line


def remove_line(session: Session, intake_id: int, line_id: int, *, actor_id: int | None) -> None:
    """Remove a line from a draft intake."""
    intake, line = _line(session, intake_id, line_id)
    audit.record(
        session,
        actor_id=actor_id,
        action="intake.line_remove",
        object_type="intake",
        object_id=intake.id,
        object_label=f"#{intake.id} {line.record.title[:150]}",
        changes={k: [v, None] for k, v in audit.snapshot(line, LINE_FIELDS).items()},
    )
    session.delete(line)
    session.flush()
    session.expire(intake, ["lines"])


def catalogue_and_add_line(
    session: Session,
    intake_id: int,
    *,
    title: str,
    author: str = "",
    publisher: str = "",
    place: str = "",
    year: Any = None,
    isbn: str = "",
    classification: str = "",
    line_values: dict[str, Any] | None = None,
    actor_id: int | None,
) -> IntakeLine:
    """Catalogue a book on the spot from a few fields and add it as a line of a draft intake."""
    _draft(session, intake_id)
    title = nfc(title or "").strip()
    if not title:
        raise ValidationError(N_("The title is required."), field="title")
    year_text = str(year or "").strip()
    if year_text and not (year_text.isdigit() and len(year_text) == 4):
        raise ValidationError(N_("The year has four digits."), field="year")
    if year_text and int(year_text) > date.today().year + 1:
        raise ValidationError(N_("The year cannot be in the future."), field="year")
    author = nfc(author or "").strip()
    try:
        built = marc.build_record(
            title,
            responsibility=author or None,
            authors=[author] if author else [],
            isbn=nfc(isbn or "").strip() or None,
            publisher=nfc(publisher or "").strip() or None,
            place=nfc(place or "").strip() or None,
            year=year_text or None,
            classification=nfc(classification or "").strip() or None,
        )
    except ValueError as err:
        raise ValidationError(
            N_("The record cannot be built: %(why)s"), field="title", why=str(err)
        ) from None
    record = create_record(session, built, actor_id=actor_id, source="acquisitions")
    return add_line(session, intake_id, {**(line_values or {}), "record_id": record.id}, actor_id=actor_id)


@dataclass
class MarcLinesResult:
    """What adding a supplier's MARC file to an intake did."""

    lines: list[IntakeLine] = field(default_factory=list)
    created: int = 0  # records new to the catalogue
    matched: int = 0  # records already in the catalogue (duplicates)
    rejected: int = 0
    report: importing.ImportReport | None = None


def add_lines_from_marc(
    session: Session,
    intake_id: int,
    data: bytes,
    *,
    filename: str = "",
    line_values: dict[str, Any] | None = None,
    actor_id: int | None,
) -> MarcLinesResult:
    """Import a supplier's MARC file into the catalogue and add one line per record (new or matched).

    Records already in the catalogue are not imported twice: their existing record becomes the line.
    Copies described in the file are not created here; receiving the intake creates them.
    """
    _draft(session, intake_id)
    try:
        report = importing.commit(
            session,
            io.BytesIO(data),
            actor_id=actor_id,
            on_duplicate="skip",
            filename=filename or "intake.mrc",
            detail_limit=MAX_WITHDRAWAL,
            parallel=False,
        )
    except marc.MarcFileError as err:
        raise ValidationError(
            N_("The file cannot be read as MARC: %(why)s"), field="file", why=str(err)
        ) from None
    record_ids: list[int] = []
    for first, last in report.created_ids:
        record_ids.extend(range(first, last + 1))
    for dup in sorted(report.duplicate_records, key=lambda d: d.record):
        if dup.record_id:
            record_ids.append(dup.record_id)
    result = MarcLinesResult(created=report.created, matched=report.duplicates, rejected=report.rejected)
    result.report = report
    for rid in dict.fromkeys(record_ids):
        result.lines.append(
            add_line(session, intake_id, {**(line_values or {}), "record_id": rid}, actor_id=actor_id)
        )
    if not result.lines:
        raise ValidationError(N_("The file holds no bibliographic record that could be used."), field="file")
    return result


@dataclass(frozen=True)
class IntakeTotals:
    """The number of titles, copies and their value (in đồng) of an intake."""

    titles: int
    copies: int
    value_vnd: int


def intake_totals(session: Session, intake_id: int) -> IntakeTotals:
    """Return the totals of an intake's lines."""
    titles, copies, value = session.execute(
        select(
            func.count(IntakeLine.id),
            func.coalesce(func.sum(IntakeLine.copies), 0),
            func.coalesce(func.sum(IntakeLine.copies * func.coalesce(IntakeLine.unit_price_vnd, 0)), 0),
        ).where(IntakeLine.intake_id == intake_id)
    ).one()
    return IntakeTotals(int(titles), int(copies), int(value))


# --- receiving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedRange:
    """The accession numbers given to one line."""

    line_id: int
    record_id: int
    title: str
    first: str
    last: str
    count: int


@dataclass
class ReceiveResult:
    """What receiving an intake created."""

    intake_id: int
    register_number: int
    copies: int
    ranges: list[ReceivedRange]
    accession_numbers: list[str]


def _next_register_number(session: Session, library_id: int) -> int:
    """Take the next general-register running number of a library (an UPDATE … RETURNING: no reuse)."""
    ins = (pg_insert if not _is_sqlite(session) else sqlite_insert)(IntakeRegisterCounter)
    start = 1 + (
        session.scalar(
            select(func.coalesce(func.max(Intake.register_number), 0)).where(Intake.library_id == library_id)
        )
        or 0
    )
    session.execute(ins.values(library_id=library_id, next_number=start).on_conflict_do_nothing())
    number = session.execute(
        update(IntakeRegisterCounter)
        .where(IntakeRegisterCounter.library_id == library_id)
        .values(next_number=IntakeRegisterCounter.next_number + 1)
        .returning(IntakeRegisterCounter.next_number)
    ).scalar_one()
    return number - 1


def set_register_start(session: Session, library_id: int, next_number: int, *, actor_id: int | None) -> None:
    """Set the next general-register number of a library that continues a paper register."""
    _library(session, library_id)
    used = session.scalar(
        select(func.coalesce(func.max(Intake.register_number), 0)).where(Intake.library_id == library_id)
    )
    if next_number <= (used or 0):
        raise ValidationError(
            N_("The register already reached number %(n)d; the next number must be higher."),
            field="next_number",
            n=used or 0,
        )
    row = session.get(IntakeRegisterCounter, library_id)
    old = row.next_number if row else None
    if row is None:
        session.add(IntakeRegisterCounter(library_id=library_id, next_number=next_number))
    else:
        row.next_number = next_number
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="intake.register_start",
        object_type="site",
        object_id=library_id,
        changes={"next_number": [old, next_number]},
    )


_PG_INSERT_ITEMS = text(
    "WITH new AS ("
    " INSERT INTO items (record_id, accession_number, class_number, author_mark, call_number, library_id,"
    " location, status, price_vnd, source, notes, is_rare, is_demo, created_at, updated_at, version)"
    " SELECT CAST(:record_id AS integer), n, CAST(:class_number AS varchar), CAST(:author_mark AS varchar),"
    " CAST(:call_number AS varchar), CAST(:library_id AS integer), CAST(:location AS varchar),"
    " CAST(:status AS varchar), CAST(:price_vnd AS bigint), CAST(:source AS varchar), CAST(:notes AS text),"
    " CAST(:is_rare AS boolean), CAST(:is_demo AS boolean), CAST(:created_at AS timestamptz),"
    " CAST(:updated_at AS timestamptz), CAST(:version AS integer)"
    " FROM unnest(CAST(:numbers AS varchar[])) WITH ORDINALITY AS u(n, i) ORDER BY i"
    " RETURNING id, accession_number),"
    " link AS (INSERT INTO intake_items (item_id, intake_line_id)"
    " SELECT id, CAST(:line_id AS integer) FROM new),"
    " log AS (INSERT INTO audit_events (at, actor_id, action, object_type, object_id, object_label, changes)"
    " SELECT CAST(:created_at AS timestamptz), CAST(:actor_id AS integer), 'item.create', 'item',"
    " CAST(id AS varchar), left(accession_number || ' ' || CAST(:title AS varchar), 300),"
    " json_build_object('accession_number', json_build_array(NULL, accession_number),"
    " 'library_id', json_build_array(NULL, CAST(:library_id AS integer)),"
    " 'status', json_build_array(NULL, CAST(:status AS varchar)),"
    " 'price_vnd', json_build_array(NULL, CAST(:price_vnd AS bigint)),"
    " 'source', json_build_array(NULL, CAST(:source AS varchar)),"
    " 'intake_id', json_build_array(NULL, CAST(:intake_id AS integer))) FROM new)"
    " SELECT id, accession_number FROM new"
)
"""PostgreSQL: one line's copies, their links to the line and their audit events in one statement."""


def receive_intake(
    session: Session,
    intake_id: int,
    actor_id: int | None,
    *,
    item_status: ItemStatus | str = ItemStatus.AVAILABLE,
) -> ReceiveResult:
    """Turn a draft intake's lines into numbered copies and give it its general-register number.

    All or nothing, once: a conditional UPDATE moves the intake from draft to received first (a
    second receive, even from another session at the same moment, finds no draft and is refused),
    then the copies are inserted in bulk. On any error the caller rolls back and nothing is left.
    """
    status = ItemStatus(item_status)
    if status not in (ItemStatus.AVAILABLE, ItemStatus.IN_PROCESSING):
        raise ValidationError(N_("Unknown status."), field="item_status")
    now = utcnow()
    header = session.execute(
        select(Intake.id, Intake.library_id, Intake.status, Intake.source).where(Intake.id == intake_id)
    ).first()
    if header is None:
        raise NotFound(N_("No such intake."))
    library_id = header.library_id
    # Lock the draft (PostgreSQL: a second receive waits here, then finds it received), check the
    # lines, take the register number, then claim the row with a conditional UPDATE (the guard on
    # SQLite, which has no row locks but one writer at a time).
    locked = session.execute(
        select(Intake.status).where(Intake.id == intake_id).with_for_update()
    ).scalar_one()
    if locked != IntakeStatus.DRAFT.value:
        raise Conflict(N_("This intake has already been received."))
    lines = session.execute(
        select(
            IntakeLine.id,
            IntakeLine.record_id,
            IntakeLine.copies,
            IntakeLine.unit_price_vnd,
            IntakeLine.sequence_id,
            IntakeLine.class_number,
            IntakeLine.author_mark,
            IntakeLine.call_number,
            IntakeLine.location,
            Record.title,
        )
        .join(Record, Record.id == IntakeLine.record_id)
        .where(IntakeLine.intake_id == intake_id)
        .order_by(IntakeLine.position, IntakeLine.id)
    ).all()
    if not lines:
        raise ValidationError(N_("The intake has no lines; add the titles first."))
    missing = [line.title for line in lines if line.sequence_id is None]
    if missing:
        raise ValidationError(
            N_("Choose an accession-number series for every line (missing: %(titles)s)."),
            titles="; ".join(t[:60] for t in missing[:5]),
        )
    seq_ids = {line.sequence_id for line in lines}
    foreign = session.scalars(
        select(AccessionSequence.prefix).where(
            AccessionSequence.id.in_(seq_ids),
            (AccessionSequence.library_id != library_id) | AccessionSequence.is_active.is_(False),
        )
    ).all()
    if foreign:
        raise ValidationError(
            N_("The series %(prefix)s belongs to another library or is closed."), prefix=", ".join(foreign)
        )
    total = sum(line.copies for line in lines)
    if total > 2 * MAX_COPIES_PER_LINE:
        raise ValidationError(N_("An intake can hold at most %(max)d copies."), max=2 * MAX_COPIES_PER_LINE)
    register_number = _next_register_number(session, library_id)
    result = session.execute(
        update(Intake)
        .where(Intake.id == intake_id, Intake.status == IntakeStatus.DRAFT.value)
        .values(
            status=IntakeStatus.RECEIVED.value,
            register_number=register_number,
            received_at=now,
            received_by_id=actor_id,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # SQLite has no row lock: the conditional UPDATE is the guard there
        raise Conflict(N_("This intake has already been received."))

    # Numbers: one block per line, from its series (UPDATE … RETURNING on the series).
    # One block per series (UPDATE … RETURNING), shared out to its lines in line order.
    blocks: dict[int, list[str]] = {}
    for seq_id in dict.fromkeys(line.sequence_id for line in lines):
        wanted = sum(line.copies for line in lines if line.sequence_id == seq_id)
        blocks[seq_id] = allocate_accession_numbers(session, seq_id, wanted)
    numbered: list[tuple[Any, list[str]]] = []
    for line in lines:
        block = blocks[line.sequence_id]
        numbered.append((line, block[: line.copies]))
        del block[: line.copies]
    all_numbers = [n for _, numbers in numbered for n in numbers]
    if len(set(all_numbers)) != len(all_numbers):
        raise Conflict(N_("The same accession number would be given twice; check the series."))
    taken: list[str] = []
    for chunk in _chunks(all_numbers):
        taken.extend(session.scalars(select(Item.accession_number).where(Item.accession_number.in_(chunk))))
    if taken:
        raise Conflict(
            N_(
                "Accession numbers already used by other copies: %(numbers)s. "
                "Move the series on, then receive."
            ),
            numbers=", ".join(sorted(taken)[:10]),
        )
    status_value = str(status.value)
    rows = []
    for line, numbers in numbered:
        call = line.call_number or " ".join(p for p in (line.class_number, line.author_mark) if p)
        for number in numbers:
            rows.append(
                {
                    "record_id": line.record_id,
                    "accession_number": number,
                    "class_number": line.class_number,
                    "author_mark": line.author_mark,
                    "call_number": call[:120],
                    "library_id": library_id,
                    "location": line.location,
                    "status": status_value,
                    "price_vnd": line.unit_price_vnd,
                    "source": header.source,
                    "notes": "",
                    "is_rare": False,
                    "is_demo": False,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
    ids_by_number: dict[str, int] = {}
    items = Item.__table__
    conn = session.connection()  # Core inserts: the ORM's per-row bookkeeping costs more than the SQL
    if _is_sqlite(session):
        for chunk in _chunks(rows, 500):
            for item_id, number in conn.execute(
                insert(items).returning(items.c.id, items.c.accession_number, sort_by_parameter_order=True),
                list(chunk),
            ):
                ids_by_number[number] = item_id
    else:
        # One short statement per line, the same text each time (psycopg caches it), the numbers as
        # an array: a long multi-row VALUES statement costs more to build and parse than to run.
        first_of_line = 0
        for line, numbers in numbered:
            row = rows[first_of_line]
            first_of_line += len(numbers)
            params = {k: v for k, v in row.items() if k != "accession_number"}
            params.update(
                numbers=numbers,
                line_id=line.id,
                actor_id=actor_id,
                title=line.title[:100],
                intake_id=intake_id,
            )
            for item_id, number in conn.execute(_PG_INSERT_ITEMS, params):
                ids_by_number[number] = item_id
    if _is_sqlite(session):  # PostgreSQL wrote the links and the audit events with the copies
        link_rows = []
        audit_rows = []
        for line, numbers in numbered:
            for number in numbers:
                item_id = ids_by_number[number]
                link_rows.append({"item_id": item_id, "intake_line_id": line.id})
                audit_rows.append(
                    {
                        "at": now,
                        "actor_id": actor_id,
                        "action": "item.create",
                        "object_type": "item",
                        "object_id": str(item_id),
                        "object_label": f"{number} {line.title[:100]}",
                        "changes": {
                            "accession_number": [None, number],
                            "library_id": [None, library_id],
                            "status": [None, status_value],
                            "price_vnd": [None, line.unit_price_vnd],
                            "source": [None, header.source],
                            "intake_id": [None, intake_id],
                        },
                    }
                )
        for chunk in _chunks(link_rows, 2000):
            conn.execute(insert(IntakeItem.__table__), list(chunk))
        for chunk in _chunks(audit_rows, 1000):
            conn.execute(insert(AuditEvent.__table__), list(chunk))
    reindex_records(session, list(dict.fromkeys(line.record_id for line in lines)))
    ranges = [
        ReceivedRange(line.id, line.record_id, line.title, numbers[0], numbers[-1], len(numbers))
        for line, numbers in numbered
    ]
    audit.record(
        session,
        actor_id=actor_id,
        action="intake.receive",
        object_type="intake",
        object_id=intake_id,
        object_label=f"#{intake_id}",
        changes={
            "status": [IntakeStatus.DRAFT.value, IntakeStatus.RECEIVED.value],
            "register_number": [None, register_number],
            "copies": [None, len(all_numbers)],
            "accession_numbers": [None, [f"{r.first}–{r.last}" if r.count > 1 else r.first for r in ranges]],
        },
    )
    session.flush()
    intake = session.get(Intake, intake_id)
    if intake is not None:
        session.refresh(intake)
    return ReceiveResult(intake_id, register_number, len(all_numbers), ranges, all_numbers)


def received_ranges(session: Session, intake_id: int) -> list[ReceivedRange]:
    """Return, per line of a received intake, the first and last accession numbers of its copies."""
    rows = session.execute(
        select(
            IntakeLine.id,
            IntakeLine.record_id,
            Record.title,
            func.min(Item.accession_number),
            func.max(Item.accession_number),
            func.count(Item.id),
        )
        .join(Record, Record.id == IntakeLine.record_id)
        .join(IntakeItem, IntakeItem.intake_line_id == IntakeLine.id)
        .join(Item, Item.id == IntakeItem.item_id)
        .where(IntakeLine.intake_id == intake_id)
        .group_by(IntakeLine.id, IntakeLine.record_id, Record.title, IntakeLine.position)
        .order_by(IntakeLine.position, IntakeLine.id)
    ).all()
    return [ReceivedRange(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


def received_accessions(session: Session, intake_id: int) -> list[str]:
    """Return the accession numbers of the copies an intake created, in line order."""
    return list(
        session.scalars(
            select(Item.accession_number)
            .join(IntakeItem, IntakeItem.item_id == Item.id)
            .join(IntakeLine, IntakeLine.id == IntakeItem.intake_line_id)
            .where(IntakeLine.intake_id == intake_id)
            .order_by(IntakeLine.position, IntakeLine.id, Item.accession_number)
        )
    )


# --- withdrawals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WithdrawalProblem:
    """Why one accession number cannot be withdrawn."""

    accession_number: str
    reason: str  # unknown, already_withdrawn, other_library, status, repeated
    status: str = ""


class WithdrawalRefused(ValidationError):
    """Some of the accession numbers cannot be withdrawn; nothing was withdrawn."""

    def __init__(self, problems: list[WithdrawalProblem]) -> None:
        super().__init__(
            N_("%(n)d accession number(s) cannot be withdrawn; nothing was withdrawn."),
            field="accessions",
            n=len(problems),
        )
        self.problems = problems


def parse_accessions(text: str) -> list[str]:
    """Split typed, scanned or pasted accession numbers (lines, commas, semicolons, spaces)."""
    raw = nfc(text or "").replace(",", "\n").replace(";", "\n").replace("\t", "\n").replace(" ", "\n")
    return [part.strip().upper() for part in raw.splitlines() if part.strip()]


def withdraw(
    session: Session,
    library_id: int,
    accessions: Sequence[str],
    reason: WithdrawalReason | str,
    minutes_number: str,
    actor_id: int | None,
    *,
    withdrawal_date: date | None = None,
    notes: str = "",
    today: date | None = None,
) -> Withdrawal:
    """Withdraw copies of a library from the stock under one set of minutes; all or nothing.

    Every number is checked first: unknown numbers, copies already withdrawn, copies of another
    library and copies whose status does not allow it (out in rotation) are all reported together
    in WithdrawalRefused. The copies stay in the catalogue with status withdrawn; their history stays.
    """
    library = _library(session, library_id)
    try:
        reason_value = WithdrawalReason(reason).value
    except ValueError:
        raise ValidationError(N_("Choose the reason."), field="reason") from None
    minutes = _text(minutes_number, 100, "minutes_number")
    if not minutes:
        raise ValidationError(N_("Give the number of the withdrawal minutes."), field="minutes_number")
    day = withdrawal_date or today or date.today()
    if day > (today or date.today()):
        raise ValidationError(N_("The date cannot be in the future."), field="withdrawal_date")
    numbers = [nfc(a).strip().upper() for a in accessions if a and a.strip()]
    if not numbers:
        raise ValidationError(N_("Give at least one accession number."), field="accessions")
    if len(numbers) > MAX_WITHDRAWAL:
        raise ValidationError(N_("At most %(max)d copies at once."), field="accessions", max=MAX_WITHDRAWAL)
    problems: list[WithdrawalProblem] = []
    seen: set[str] = set()
    unique_numbers = []
    for n in numbers:
        if n in seen:
            problems.append(WithdrawalProblem(n, "repeated"))
        else:
            seen.add(n)
            unique_numbers.append(n)
    items: dict[str, Item] = {}
    for chunk in _chunks(unique_numbers):
        for item in session.scalars(
            select(Item).where(Item.accession_number.in_(chunk)).order_by(Item.id).with_for_update(of=Item)
        ):
            items[item.accession_number] = item
    for n in unique_numbers:
        item = items.get(n)
        if item is None:
            problems.append(WithdrawalProblem(n, "unknown"))
        elif item.status == ItemStatus.WITHDRAWN.value:
            problems.append(WithdrawalProblem(n, "already_withdrawn"))
        elif item.library_id != library.id:
            problems.append(WithdrawalProblem(n, "other_library"))
        elif not can_change_status(item.status, ItemStatus.WITHDRAWN):
            problems.append(WithdrawalProblem(n, "status", item.status))
    if problems:
        raise WithdrawalRefused(problems)
    row = Withdrawal(
        library_id=library.id,
        withdrawal_date=day,
        reason=reason_value,
        minutes_number=minutes,
        notes=_text(notes, 10_000, "notes"),
        created_by_id=actor_id,
    )
    session.add(row)
    session.flush()
    titles = dict(
        session.execute(
            select(Record.id, Record.title).where(Record.id.in_({i.record_id for i in items.values()}))
        ).all()
    )
    for n in unique_numbers:
        item = items[n]
        session.add(
            WithdrawalLine(
                withdrawal_id=row.id,
                item_id=item.id,
                accession_number=item.accession_number,
                title=(titles.get(item.record_id) or "")[:500],
                price_vnd=item.price_vnd,
                previous_status=item.status,
            )
        )
    # The line rows go in first: their unique item_id stops a second withdrawal of the same copy.
    session.flush()
    for n in unique_numbers:
        change_item_status(session, items[n], ItemStatus.WITHDRAWN, actor_id=actor_id)
    audit.record(
        session,
        actor_id=actor_id,
        action="withdrawal.create",
        object_type="withdrawal",
        object_id=row.id,
        object_label=minutes,
        changes={
            "library_id": [None, library.id],
            "reason": [None, reason_value],
            "minutes_number": [None, minutes],
            "withdrawal_date": [None, day],
            "copies": [None, len(unique_numbers)],
        },
    )
    return row


def get_withdrawal(session: Session, withdrawal_id: int) -> Withdrawal:
    """Return a withdrawal or raise NotFound."""
    row = session.get(Withdrawal, withdrawal_id)
    if row is None:
        raise NotFound(N_("No such withdrawal."))
    return row
