"""Export catalogue records as ISO 2709, MARCXML or MARC-in-JSON, streamed chunk by chunk from the database.

What is exported (the *scope*):
- the whole catalogue: records in id order, read with keyset pagination (`WHERE id > :last ORDER BY id
  LIMIT :chunk`), so memory holds one chunk of records at a time however big the catalogue;
- a list of record ids (a search result, in its ranking order), given as an iterable or as a function
  of the session returning one; ids are read `chunk_size` at a time (`WHERE id IN (…)`); ids that no
  longer exist are counted in `ExportReport.missing`;
- one record (`export_record`);
- a search result: `search_ids(query, report, **filters)` pages through catalog.search.search, best
  match first; the search ranks at most `catalog.search.COUNT_LIMIT` matches, so a broader search is
  cut there and `ExportReport.limited` says so.

Records are stored as MARC-in-JSON text exactly as received (`record_marc.marc`), so the export gives
back what was imported: every tag (880, 9XX), the text as received (not NFC-altered). The writers of
catalog.marc take that stored text directly (no pymarc objects are built), which keeps the export
within reach of yaz-marcdump's speed (docs/benchmarks.md). ISO 2709 without copies is faster still:
each record's ISO 2709 bytes are cached next to its text (`record_marc.iso2709`, written on import
and on every edit) and go out as they are; a record without cached bytes goes through the writer.

Copies as Koha-style 952 fields (`with_items=True`): any 952 already stored in the record is dropped and
one 952 per current copy is appended, in accession-number order. Subfields, following Koha's default
MARC21 framework:
  $a home library (the copy's library code, `sites.code`)          -> items.homebranch
  $b holding library (the same code: Trạm Sách keeps the copy's library; where a rotating copy
     physically is belongs to the rotation module, which the catalogue does not read)
                                                                     -> items.holdingbranch
  $c shelving location (when set)                                   -> items.location
  $d date acquired (the date the copy was added, YYYY-MM-DD, Vietnam time) -> items.dateaccessioned
  $e source of acquisition (when set)                               -> items.booksellerid
  $g purchase price in whole đồng (when set)                        -> items.price
  $i accession number ("số đăng ký cá biệt", e.g. VN.00123)         -> items.stocknumber
  $o full call number (when set)                                    -> items.itemcallnumber
  $p barcode (when set)                                             -> items.barcode
  $x non-public note (when set; line breaks folded to spaces)       -> items.itemnotes_nonpublic
  status, as Koha's flags: $0 1 = withdrawn, $1 1 = lost, $4 1 = damaged, $7 -1 = in processing
  (Koha's "Ordered": not yet on the shelf); available, in rotation, in transit and at a point carry
  no Koha flag (the copy belongs to the library and is not lost);
  $k the exact Trạm Sách status (in_processing, available, in_rotation, in_transit, at_point, lost,
     damaged, withdrawn) — a subfield Koha's default framework leaves unused — so that our own import
     restores the status exactly; an importer without $k derives it from the Koha flags.
No $y (Koha item type): item types are a Koha site's own codes; map them on the Koha side.

A record that a format cannot hold (over 99,999 bytes in ISO 2709, a field over 9,999 bytes, a
character XML forbids) is skipped and reported in `ExportReport.skipped` with the reason; the export
goes on with the next record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from zoneinfo import ZoneInfo

from pymarc import Field, Indicators, Subfield
from sqlalchemy import bindparam, case, func, null, select, update
from sqlalchemy.orm import Session

from app.errors import N_
from app.network.models import Site
from catalog import marc, search
from catalog.errors import NotFound, ValidationError
from catalog.models import Item, ItemStatus, Record, RecordMarc

__all__ = [
    "CHUNK_SIZE",
    "EXPORT_FORMATS",
    "ExportReport",
    "SkippedRecord",
    "export",
    "export_record",
    "export_to_stream",
    "file_extension",
    "filename_for",
    "item_field",
    "media_type",
    "search_ids",
]

EXPORT_FORMATS = ("iso2709", "marcxml", "marcjson")
CHUNK_SIZE = 1000
# Chunks handed to a stream or a response are about this big (many records joined): fewer writes.
_BUFFER_BYTES = 256 * 1024
_MAX_SKIPPED_DETAILS = 1000
_LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_EXTENSIONS = {"iso2709": "mrc", "marcxml": "xml", "marcjson": "json"}
_MEDIA_TYPES = {
    "iso2709": "application/marc",
    "marcxml": "application/marcxml+xml",
    "marcjson": "application/json",
}
# Koha's status flags for our item statuses (subfield code, value).
_KOHA_FLAGS: dict[str, tuple[str, str]] = {
    ItemStatus.WITHDRAWN.value: ("0", "1"),
    ItemStatus.LOST.value: ("1", "1"),
    ItemStatus.DAMAGED.value: ("4", "1"),
    ItemStatus.IN_PROCESSING.value: ("7", "-1"),
}

RecordIdSource = Callable[[Session], Iterable[int]]
RecordIds = Iterable[int] | RecordIdSource


@dataclass(slots=True)
class SkippedRecord:
    """A record left out of an export, and why (in plain English words)."""

    record_id: int
    reason: str


@dataclass(slots=True)
class ExportReport:
    """What an export wrote: records written, records skipped with reasons, ids no longer found."""

    format: str
    written: int = 0
    skipped_count: int = 0
    missing: int = 0
    skipped: list[SkippedRecord] = field(default_factory=list)
    limited: int | None = None  # a search found more than it ranks: only this many were exported

    def skip(self, record_id: int, reason: str) -> None:
        """Count a skipped record (details are kept for the first thousand)."""
        self.skipped_count += 1
        if len(self.skipped) < _MAX_SKIPPED_DETAILS:
            self.skipped.append(SkippedRecord(record_id, reason))

    def summary(self) -> str:
        """Return a short English summary, one line per skipped record after the first line."""
        lines = [f"{self.written} record(s) written as {self.format}, {self.skipped_count} skipped"]
        if self.missing:
            lines[0] += f", {self.missing} no longer in the catalogue"
        if self.limited is not None:
            lines[0] += (
                f"; the search found more matches than it ranks: only the first {self.limited:,} went out"
            )
        lines.extend(f"  record {s.record_id} skipped: {s.reason}" for s in self.skipped)
        if self.skipped_count > len(self.skipped):
            lines.append(f"  … and {self.skipped_count - len(self.skipped)} more")
        return "\n".join(lines)


def file_extension(fmt: str) -> str:
    """Return the usual file extension of an export format (mrc, xml, json)."""
    return _EXTENSIONS[_check_format(fmt)]


def media_type(fmt: str) -> str:
    """Return the MIME type of an export format."""
    return _MEDIA_TYPES[_check_format(fmt)]


def filename_for(fmt: str, today: dt.date, record_id: int | None = None) -> str:
    """Return a download file name: tramsach-20261127.xml, or tramsach-record-42.mrc for one record."""
    ext = file_extension(fmt)
    if record_id is not None:
        return f"tramsach-record-{record_id}.{ext}"
    return f"tramsach-{today:%Y%m%d}.{ext}"


def _check_format(fmt: str) -> str:
    if fmt not in EXPORT_FORMATS:
        raise ValidationError(
            N_("Unknown export format %(format)s; choose iso2709, marcxml or marcjson."),
            field="format",
            format=fmt,
        )
    return fmt


# --- reading records from the database, a chunk at a time ------------------------------------


Row = tuple[int, str | None, bytes | None]  # record id, MARC-in-JSON text, cached ISO 2709 bytes


def _columns(cached: bool) -> tuple[Any, ...]:
    """The columns read per record; with `cached`, the ISO 2709 bytes and the text only where none are."""
    if not cached:
        return (RecordMarc.record_id, RecordMarc.marc, null())
    text = case((RecordMarc.iso2709.is_(None), RecordMarc.marc), else_=null())
    return (RecordMarc.record_id, text, RecordMarc.iso2709)


def _chunks_all(session: Session, chunk_size: int, cached: bool = False) -> Iterator[list[Row]]:
    """Yield the whole catalogue in id order, `chunk_size` rows at a time (keyset pagination)."""
    last = 0
    columns = _columns(cached)
    key = RecordMarc.record_id
    while True:
        rows = [
            (rid, text, iso)
            for rid, text, iso in session.execute(
                select(*columns).where(key > last).order_by(key).limit(chunk_size)
            )
        ]
        if not rows:
            return
        yield rows
        if len(rows) < chunk_size:
            return
        last = rows[-1][0]


def _chunks_of_ids(
    session: Session, ids: Iterable[int], chunk_size: int, report: ExportReport, cached: bool = False
) -> Iterator[list[Row]]:
    """Yield the records with these ids in the order given (duplicates dropped), a chunk at a time."""
    seen: set[int] = set()
    batch: list[int] = []
    columns = _columns(cached)

    def fetch(wanted: list[int]) -> list[Row]:
        stmt = select(*columns).where(RecordMarc.record_id.in_(wanted))
        found = {rid: (rid, text, iso) for rid, text, iso in session.execute(stmt)}
        report.missing += len(wanted) - len(found)
        return [found[rid] for rid in wanted if rid in found]

    for rid in ids:
        rid = int(rid)
        if rid in seen:
            continue
        seen.add(rid)
        batch.append(rid)
        if len(batch) >= chunk_size:
            rows = fetch(batch)
            batch = []
            if rows:
                yield rows
    if batch:
        rows = fetch(batch)
        if rows:
            yield rows


def _items_of(session: Session, record_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Return the copies of these records (with their library code), grouped by record id."""
    query = (
        select(
            Item.record_id,
            Item.accession_number,
            Item.barcode,
            Item.call_number,
            Item.location,
            Item.status,
            Item.price_vnd,
            Item.source,
            Item.notes,
            Item.created_at,
            Site.code.label("library_code"),
        )
        .join(Site, Site.id == Item.library_id)
        .where(Item.record_id.in_(record_ids))
        .order_by(Item.record_id, Item.accession_number)
    )
    grouped: dict[int, list[dict[str, Any]]] = {}
    for row in session.execute(query).mappings():
        grouped.setdefault(row["record_id"], []).append(dict(row))
    return grouped


_ITEM_COLUMNS = (
    "accession_number",
    "barcode",
    "call_number",
    "location",
    "status",
    "price_vnd",
    "source",
    "notes",
    "created_at",
)


def item_field(item: dict[str, Any] | Item, library_code: str | None = None) -> Field:
    """Return the Koha-style 952 field describing one copy (see the module docstring for the subfields)."""
    if isinstance(item, Item):
        values: dict[str, Any] = {name: getattr(item, name) for name in _ITEM_COLUMNS}
        values["library_code"] = library_code or (item.library.code if item.library else "")
    else:
        values = dict(item)
        if library_code is not None:
            values["library_code"] = library_code
    return Field("952", Indicators(" ", " "), [Subfield(c, v) for c, v in _item_subfields(values)])


def _item_subfields(values: dict[str, Any]) -> list[tuple[str, str]]:
    """The 952 subfields (code, value) of one copy, in Koha's order."""
    code = values.get("library_code") or ""
    status = str(values.get("status") or ItemStatus.IN_PROCESSING.value)
    subs: list[tuple[str, str]] = []
    flag = _KOHA_FLAGS.get(status)
    if flag:
        subs.append(flag)
    if code:
        subs.append(("a", code))
        subs.append(("b", code))
    if values.get("location"):
        subs.append(("c", _one_line(values["location"])))
    created = values.get("created_at")
    if isinstance(created, dt.datetime):
        when = created.astimezone(_LOCAL_TZ) if created.tzinfo else created
        subs.append(("d", when.date().isoformat()))
    if values.get("source"):
        subs.append(("e", _one_line(values["source"])))
    if values.get("price_vnd") is not None:
        subs.append(("g", str(int(values["price_vnd"]))))
    subs.append(("i", values["accession_number"]))
    subs.append(("k", status))
    if values.get("call_number"):
        subs.append(("o", _one_line(values["call_number"])))
    if values.get("barcode"):
        subs.append(("p", values["barcode"]))
    if values.get("notes") and _one_line(values["notes"]):
        subs.append(("x", _one_line(values["notes"])))
    return subs


def _one_line(text: str) -> str:
    """Fold line breaks and runs of white space to single spaces (other systems expect one line)."""
    return " ".join(str(text).split())


def _item_json(values: dict[str, Any]) -> dict[str, Any]:
    """The 952 field of one copy as a MARC-in-JSON field object."""
    return {"952": {"ind1": " ", "ind2": " ", "subfields": [{c: v} for c, v in _item_subfields(values)]}}


def _is_marc_json(text: str | None) -> bool:
    """True when stored text looks like a MARC-in-JSON object (what the writers take)."""
    return text is not None and text.startswith('{"leader":')


def _iso2709_cached(chunks: Iterator[list[Row]], report: ExportReport) -> Iterator[bytes]:
    """ISO 2709 without copies: each record's cached bytes, or the writer's output where none are cached."""
    for rows in chunks:
        for rid, text, cached in rows:
            if cached is not None:
                report.written += 1
                yield cached if isinstance(cached, bytes) else bytes(cached)
                continue
            if not _is_marc_json(text):
                report.skip(rid, "the stored record is not a MARC-in-JSON object")
                continue
            try:
                data = marc.iso2709_from_json(text)  # type: ignore[arg-type]
            except marc.MarcWriteError as exc:
                report.skip(rid, str(exc))
                continue
            report.written += 1
            yield data


def _records(
    session: Session,
    chunks: Iterator[list[Row]],
    with_items: bool,
    report: ExportReport,
    current: list[int],
) -> Iterator[dict[str, Any] | str]:
    """Turn chunks of stored rows into what the writers take, noting the id of the record being written.

    Without copies that is the stored MARC-in-JSON text itself; with copies, a MARC-in-JSON object
    whose stored 952 fields are replaced by one 952 per current copy. No pymarc objects are built:
    that makes the export two to three times faster.
    """
    loads = json.loads
    for rows in chunks:
        if not with_items:
            # The writers take the stored text as it is (the fastest path).
            for rid, text, _iso in rows:
                if not _is_marc_json(text):
                    report.skip(rid, "the stored record is not a MARC-in-JSON object")
                    continue
                current[0] = rid
                report.written += 1
                yield text  # type: ignore[misc]
            continue
        items = _items_of(session, [row[0] for row in rows])
        for rid, text, _iso in rows:
            try:
                obj = loads(text)
            except ValueError as exc:
                report.skip(rid, f"the stored record is not valid JSON: {exc}")
                continue
            if not (
                isinstance(obj, dict)
                and isinstance(obj.get("leader"), str)
                and isinstance(obj.get("fields"), list)
            ):
                report.skip(rid, "the stored record is not a MARC-in-JSON object")
                continue
            fields = [f for f in obj["fields"] if "952" not in f]
            fields.extend(_item_json(item) for item in items.get(rid, ()))
            obj["fields"] = fields
            current[0] = rid
            report.written += 1
            yield obj


# --- writing --------------------------------------------------------------------------------


def _buffered(chunks: Iterable[bytes], size: int = _BUFFER_BYTES) -> Iterator[bytes]:
    """Join small chunks into pieces of about `size` bytes."""
    pending: list[bytes] = []
    length = 0
    for chunk in chunks:
        pending.append(chunk)
        length += len(chunk)
        if length >= size:
            yield b"".join(pending)
            pending, length = [], 0
    if pending:
        yield b"".join(pending)


def export(
    session: Session,
    fmt: str,
    *,
    ids: RecordIds | None = None,
    with_items: bool = False,
    chunk_size: int = CHUNK_SIZE,
    report: ExportReport | None = None,
) -> Iterator[bytes]:
    """Yield the export file piece by piece: the whole catalogue, or the records `ids` in their order.

    `ids` is an iterable of record ids or a function of the session returning one (a search). Pass a
    `report` to learn, once the iterator is exhausted, how many records were written and skipped.
    """
    _check_format(fmt)
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    report = report if report is not None else ExportReport(fmt)
    current = [0]
    cached = fmt == "iso2709" and not with_items
    if ids is None:
        chunks = _chunks_all(session, chunk_size, cached)
    else:
        wanted = ids(session) if callable(ids) else ids
        chunks = _chunks_of_ids(session, wanted, chunk_size, report, cached)
    if cached:
        yield from _buffered(_iso2709_cached(chunks, report))
        return
    records = _records(session, chunks, with_items, report, current)

    def on_error(_number: int, _record: Any, exc: marc.MarcWriteError) -> None:
        report.written -= 1
        report.skip(current[0], str(exc))

    if fmt == "iso2709":
        pieces = marc.iter_iso2709(records, on_error)
    elif fmt == "marcxml":
        pieces = marc.iter_marcxml(records, on_error)
    else:
        pieces = marc.iter_marcjson(records)
    yield from _buffered(pieces)


def export_to_stream(
    session: Session,
    stream: IO[bytes],
    fmt: str,
    *,
    ids: RecordIds | None = None,
    with_items: bool = False,
    chunk_size: int = CHUNK_SIZE,
) -> ExportReport:
    """Write an export to a binary stream and return the report."""
    report = ExportReport(fmt)
    for piece in export(session, fmt, ids=ids, with_items=with_items, chunk_size=chunk_size, report=report):
        stream.write(piece)
    return report


def export_record(session: Session, record_id: int, fmt: str, *, with_items: bool = False) -> bytes:
    """Return one record in a format; raise NotFound, or ValidationError if the format cannot hold it."""
    _check_format(fmt)
    if session.get(Record, record_id) is None:
        raise NotFound(N_("No such record."))
    report = ExportReport(fmt)
    data = b"".join(export(session, fmt, ids=[record_id], with_items=with_items, report=report))
    if report.skipped:
        raise ValidationError(
            N_("This record cannot be exported in this format: %(reason)s"),
            field="format",
            reason=report.skipped[0].reason,
        )
    return data


def search_ids(query: str, report: ExportReport | None = None, **filters: Any) -> RecordIdSource:
    """Return a function of the session yielding the ids a catalogue search finds, best first.

    `filters` are SearchQuery fields (year_from, year_to, language, classification, library_id,
    status, sort). The search ranks at most COUNT_LIMIT matches; when it finds more, the export holds
    the first ones and `report.limited` says how many.
    """

    def run(session: Session) -> Iterator[int]:
        per_page = search.MAX_PER_PAGE
        for page in range(1, search.COUNT_LIMIT // per_page + 2):
            wanted = search.SearchQuery(q=query, page=page, per_page=per_page, **filters)
            result = search.search(session, wanted)
            yield from (hit.id for hit in result.hits)
            if not result.hits or page * per_page >= result.total:
                if result.total_is_lower_bound and report is not None:
                    report.limited = result.total
                return

    return run


# --- filling the ISO 2709 cache of older records ---------------------------------------------------

BACKFILL_BATCH = 1_000


@dataclass(slots=True)
class BackfillBatch:
    """What one batch of `backfill_iso2709` did; `last_id` is where the next batch starts (None: done)."""

    last_id: int | None
    filled: int = 0
    skipped: list[int] = field(default_factory=list)  # records ISO 2709 cannot hold (too long): left NULL


def iso2709_missing(session: Session) -> int:
    """Return how many records have no cached ISO 2709 bytes (including those too long to have any)."""
    return int(session.scalar(select(func.count()).where(RecordMarc.iso2709.is_(None))) or 0)


def backfill_iso2709(
    session: Session, *, after_id: int = 0, batch_size: int = BACKFILL_BATCH
) -> BackfillBatch:
    """Fill the ISO 2709 cache of up to `batch_size` records after `after_id` that have none; flush.

    Databases upgraded by migration c45ce2e48bb2 keep NULL for their older records, which then export
    at the writer's speed. The bytes are the ones the export writes for such a record
    (`marc.iso2709_from_json`). A row is only filled while it still has no bytes and the same MARC
    text as read, so an edit saved meanwhile is never overwritten; the caller commits each batch, so
    an interrupted run keeps what it did and a second run carries on (records too long for ISO 2709
    stay NULL and are reported each time).
    """
    rows = session.execute(
        select(RecordMarc.record_id, RecordMarc.marc)
        .where(RecordMarc.iso2709.is_(None), RecordMarc.record_id > after_id)
        .order_by(RecordMarc.record_id)
        .limit(max(int(batch_size), 1))
    ).all()
    if not rows:
        return BackfillBatch(last_id=None)
    batch = BackfillBatch(last_id=rows[-1][0])
    values = []
    for record_id, text in rows:
        try:
            values.append({"rid": record_id, "text": text, "data": marc.iso2709_from_json(text)})
        except (marc.MarcWriteError, ValueError, KeyError, TypeError):
            batch.skipped.append(record_id)
    if values:
        stmt = (
            update(RecordMarc)
            .where(
                RecordMarc.record_id == bindparam("rid"),
                RecordMarc.iso2709.is_(None),
                RecordMarc.marc == bindparam("text"),
            )
            .values(iso2709=bindparam("data"))
            .execution_options(synchronize_session=False)
        )
        result = session.connection().execute(stmt, values)
        count = result.rowcount
        batch.filled = count if count is not None and count >= 0 else len(values)
    session.flush()
    return batch
