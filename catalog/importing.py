"""Importing MARC files into the catalogue: stage (read, validate, match, report), then commit in bulk.

`stage` reads a whole file and says what an import would do, without writing anything; `commit`
does it, in the caller's transaction (the caller commits, or rolls back on any exception, so a failure
halfway leaves the catalogue as it was). Both stream the file record by record and work in chunks of
`CHUNK_SIZE` records: one key lookup per chunk, bulk inserts of records, match keys, copies and
search-index rows through the database driver (no ORM unit of work per record), so that an import of
20,000 records costs about as much as reading them.

Decisions the issue leaves open, in one place:
- Duplicates are found through `record_keys`: a record matches the first existing record (lowest id)
  sharing a key, keys tried in the order of KEY_ORDER. Records that have none of those keys get a
  "content" key (a hash of the record), so importing the same file twice creates no duplicates
  even then. A record also matches an earlier record of the same file.
- on_duplicate: "skip" leaves the existing record alone; "replace" puts the incoming MARC in its
  place (as `services.update_record` would: version + 1, keys and search text recomputed, an audit
  event with the old and new MARC); "merge" keeps the existing record and adds the incoming fields it
  lacks (see `merge_records`); "add" imports the record as a new one anyway.
- Records whose leader/06 is not a MARC 21 type but that have a 245 are imported as bibliographic,
  with a warning; holdings, authority, classification and community records are reported, not
  imported. Records that would not fit in ISO 2709 (99,999 bytes) are rejected, so every record can
  be exported again.
- Copies: each Koha 952 is a copy ($i inventory number = accession number, $p barcode, $o call number,
  $a/$b library code, $c location, $g/$v price, $e source, $x/$z notes, $0/$1/$4 withdrawn/lost/
  damaged); without 952, each 876 is a copy ($a accession number, $p barcode, $c price) placed by
  the first 852 ($b/$a library code, $c location, $h $i call number); without either, each 852 is a
  copy. A copy without an accession number gets the next one of the chosen series; a copy whose
  accession number or barcode is already used, or that has no library, is not created (reported).
  Copies read from a file are "available" unless flagged withdrawn, lost or damaged. The 9XX/852/876
  fields stay in the stored MARC (it is kept as received).
- Audit: one "catalog.import" event per import with the counts and the ids of the created records;
  records changed by replace or merge also get their own "record.update" event (with the old MARC,
  which would otherwise be lost). Created records and copies get no event each: an import of 250,000
  records would otherwise write 250,000 events.
"""

from __future__ import annotations

import gc
import hashlib
import io
import multiprocessing
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from json.encoder import encode_basestring as _enc  # the C encoder json.dumps(ensure_ascii=False) uses
from queue import Empty
from typing import IO, Any, NamedTuple

from pymarc import Field
from pymarc import Record as MarcRecord
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.audit.models import AuditEvent
from app.db import utcnow
from app.errors import N_
from app.network.models import LIBRARY_KINDS, Site
from app.text import nfc, sort_key_str
from catalog import marc
from catalog.errors import ValidationError
from catalog.indexing import fields_json as _fields_json
from catalog.indexing import record_from_json, record_search_texts, search_texts, with_item_terms
from catalog.models import AccessionSequence, Item, ItemStatus, Record, RecordMarc, iso2709_or_none
from catalog.services import RECORD_AUDIT_FIELDS, allocate_accession_numbers, write_search_rows

__all__ = [
    "CHUNK_SIZE",
    "DETAIL_LIMIT",
    "KEY_LABELS",
    "KEY_ORDER",
    "ON_DUPLICATE",
    "Duplicate",
    "ImportReport",
    "Note",
    "OtherRecord",
    "ProgressCallback",
    "Rejection",
    "commit",
    "copies_in",
    "merge_records",
    "record_row",
    "stage",
]

ON_DUPLICATE = ("skip", "merge", "replace", "add")
CHUNK_SIZE = 1000
DETAIL_LIMIT = 10_000
# Match keys in the order they are tried; the first key shared with an existing record decides.
KEY_ORDER = ("content", "control_number", "lccn", "system_number", "isbn", "title_author_year")
# What each kind of match key is called in reports (English msgids; the web edge translates them).
KEY_LABELS = {
    "content": N_("an identical record"),
    "control_number": N_("control number (003+001)"),
    "lccn": N_("LCCN (010)"),
    "system_number": N_("system number (035)"),
    "isbn": N_("ISBN"),
    "title_author_year": N_("title, author and year"),
}
_ACTIONS = {"skip": "skipped", "add": "added", "replace": "replaced", "merge": "merged"}
NON_BIBLIOGRAPHIC = frozenset({"holdings", "authority", "classification", "community"})
_IN_BATCH = 900  # values per IN (...) list: well under SQLite's limit of bound parameters
_ALLOCATE_MAX = 10_000  # allocate_accession_numbers takes at most this many at once
_ISO_CHECK_CHARS = 25_000  # MARC-in-JSON longer than this may not fit in ISO 2709: check exactly

ProgressCallback = Callable[[int, int, int], None]
"""progress(records done, bytes read, file size in bytes (0 when unknown))."""


# --- the report --------------------------------------------------------------------------------


@dataclass(slots=True)
class Rejection:
    """A record that cannot be imported: its number in the file, byte offset (ISO 2709) and why.

    `reason` is in English (the CLI and JSON show it); `parts` keeps it translatable for the web
    page: [tag or "", English msgid, params] each (marc.render_reason joins them).
    """

    record: int
    offset: int | None
    reason: str
    parts: list[marc.ReasonPart] = field(default_factory=list)

    def text(self, translate: Callable[..., str] | None = None) -> str:
        """The reason, translated with `translate` (gettext) when given and the parts are known."""
        if translate is None or not self.parts:
            return self.reason
        return marc.render_reason(self.parts, translate)


@dataclass(slots=True)
class Duplicate:
    """A record that matches an existing record (or an earlier one in the same file), and on what."""

    record: int
    offset: int | None
    title: str
    match_kind: str
    match_value: str
    record_id: int | None = None  # the catalogue record it matched
    file_record: int | None = None  # or the number of an earlier record of the same file (staging)
    matched_title: str = ""
    action: str = ""  # skipped, added, replaced, merged, or unchanged (replace/merge changing nothing)


@dataclass(slots=True)
class OtherRecord:
    """A record that is not bibliographic (holdings, authority, …): reported, not imported."""

    record: int
    offset: int | None
    kind: str


@dataclass(slots=True)
class Note:
    """Something worth knowing about a record that was imported anyway (a repaired field, a copy left out)."""

    record: int
    offset: int | None
    message: str


@dataclass
class ImportReport:
    """What an import found and did (staged: would do). Counts are exact; detail lists are capped.

    read = new + duplicates + rejected + not_bibliographic, and
    new + duplicates = created + updated + unchanged + skipped.
    """

    filename: str = ""
    format: str = "auto"
    encoding: str = "auto"
    on_duplicate: str = "skip"
    committed: bool = False
    size: int = 0
    read: int = 0
    new: int = 0
    duplicates: int = 0
    rejected: int = 0
    not_bibliographic: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    items_found: int = 0
    items_created: int = 0
    items_skipped: int = 0
    numbers_allocated: int = 0
    with_warnings: int = 0
    encodings: dict[str, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    duplicate_records: list[Duplicate] = field(default_factory=list)
    other_records: list[OtherRecord] = field(default_factory=list)
    warnings: list[Note] = field(default_factory=list)
    truncated: bool = False
    created_ids: list[list[int]] = field(default_factory=list)  # [first, last] ranges
    import_id: str = ""
    audit_event_id: int | None = None
    detail_limit: int = DETAIL_LIMIT

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-safe data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        """Rebuild a report from `to_dict` data."""
        values = dict(data)
        values["rejections"] = [Rejection(**r) for r in data.get("rejections", [])]
        values["duplicate_records"] = [Duplicate(**d) for d in data.get("duplicate_records", [])]
        values["other_records"] = [OtherRecord(**o) for o in data.get("other_records", [])]
        values["warnings"] = [Note(**n) for n in data.get("warnings", [])]
        return cls(**values)

    def add(self, items: list, item: Any) -> None:
        """Append a detail to one of the lists, unless it is full (then mark the report truncated)."""
        if len(items) < self.detail_limit:
            items.append(item)
        else:
            self.truncated = True


# --- the stored text of a record --------------------------------------------------------------


def _record_json(leader: str, fields_json: str) -> str:
    """The MARC-in-JSON text of a record from its leader and `fields_json` (as indexing.record_json)."""
    return '{"leader":' + _enc(leader) + ',"fields":' + fields_json + "}"


def _clip(text: str | None, n: int) -> str:
    return (text or "")[:n]


_ROW_NAMES = (
    "title",
    "title_sort",
    "responsibility",
    "main_author",
    "authors",
    "isbn",
    "publisher",
    "place",
    "year",
    "edition",
    "language",
    "classification",
    "classification_scheme",
    "subjects",
    "physical_description",
    "series",
    "control_number",
    "control_number_source",
)


def _row_values(f: marc.RecordFields) -> tuple:
    """The `records` columns of a record but "marc", in the order of _ROW_NAMES (see `record_row`)."""
    return (
        f.title,
        sort_key_str(f.sort_title or f.title)[:1000],
        f.responsibility,
        _clip(f.main_author, 500),
        "; ".join(f.authors),
        f.isbns[0] if f.isbns else None,
        _clip(f.publisher, 500),
        _clip(f.place, 300),
        f.year,
        _clip(f.edition, 300),
        (f.language or None) and f.language[:3],
        _clip(f.classification, 100) or None,
        _clip(f.classification_scheme, 10) or None,
        "; ".join(f.subjects),
        _clip(f.physical_description, 500),
        "; ".join(f.series),
        _clip(f.control_number, 64) or None,
        _clip(f.control_number_source, 64) or None,
    )


def record_row(marc_json: str, f: marc.RecordFields) -> dict[str, Any]:
    """Return the `records` columns of a record: the same as indexing.index_record(record).row."""
    return {"marc": marc_json, **dict(zip(_ROW_NAMES, _row_values(f), strict=True))}


ROW_COLUMNS = tuple(record_row("", marc.RecordFields()))
_KEY_RANK = {kind: n for n, kind in enumerate(KEY_ORDER)}


def _key_str(kind: str, value: str) -> str:
    """A match key as one string, "kind<US>value" (the value cut to the column's 400 characters)."""
    return kind + "\x1f" + value[:400]


def _key_parts(key: str) -> tuple[str, str]:
    kind, _, value = key.partition("\x1f")
    return kind, value


def _ordered_keys(keys: Iterable[marc.MatchKey], leader: str, fields_json: str) -> tuple[str, ...]:
    """Return the match keys as strings, without repeats, in KEY_ORDER; a record without any gets a
    content key (a hash of its data)."""
    unique = list(dict.fromkeys(_key_str(k.kind, k.value) for k in keys if k.value))
    if not unique:
        digest = hashlib.sha1((leader[5:12] + leader[17:] + fields_json).encode(), usedforsecurity=False)
        return (_key_str("content", digest.hexdigest()),)
    unique.sort(key=lambda k: _KEY_RANK.get(k[: k.find("\x1f")], len(KEY_ORDER)))
    return tuple(unique)


# Keys that identify a record within a namespace: an LCCN, a control number of one source (003), a
# system number of one system (the "(OCoLC)" prefix of a 035). Two records that both have identifiers
# of one namespace, and share none of them, are different records even if their ISBNs are the same.
IDENTIFIER_KINDS = ("control_number", "lccn", "system_number")
_IDENTIFIER_PREFIXES = tuple(kind + "\x1f" for kind in IDENTIFIER_KINDS)
_TRUSTED_PREFIXES = ("content\x1f", *_IDENTIFIER_PREFIXES)


def _namespace(ks: str) -> str:
    kind, _, value = ks.partition("\x1f")
    if kind == "control_number":
        return "cn:" + value.partition("|")[0]
    if kind == "system_number":
        return "sn:" + (value[: value.find(")") + 1] if value.startswith("(") else "")
    return kind


def _namespaces(keys: Iterable[str]) -> dict[str, set[str]]:
    spaces: dict[str, set[str]] = {}
    for ks in keys:
        spaces.setdefault(_namespace(ks), set()).add(ks)
    return spaces


def _conflict(mine: dict[str, set[str]], theirs: dict[str, set[str]]) -> bool:
    """True when two records have identifiers of a common namespace but share none."""
    return any(space in theirs and not (values & theirs[space]) for space, values in mine.items())


# --- copies ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Copy:
    """A copy described in a record (952, 876 or 852)."""

    number: int
    tag: str
    accession: str = ""
    barcode: str | None = None
    call_number: str = ""
    library_code: str = ""
    location: str = ""
    price: int | None = None
    price_text: str = ""
    source: str = ""
    notes: str = ""
    status: str = ItemStatus.AVAILABLE.value


_THOUSANDS = re.compile(r"\d{1,3}(?:[.,\s]\d{3})+")
_DECIMAL = re.compile(r"\d+(?:[.,]\d{1,2})?")
_PRICE_EDGES = " .,\u00a0\u202f"  # spaces, dots and commas around the number
_PRICE_JUNK = re.compile(r"[^\d.,\s]+")


def parse_price(text: str) -> int | None:
    """Return a whole price from "45.000đ", "45,000 VND", "45000" or "12.50" (decimals dropped), or None."""
    value = _PRICE_JUNK.sub("", text or "").strip(_PRICE_EDGES)
    if not value:
        return None
    if _THOUSANDS.fullmatch(value):
        return int(re.sub(r"\D", "", value))
    if _DECIMAL.fullmatch(value):
        return int(re.split(r"[.,]", value)[0])
    return None


def _subfields(f: Field) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for code, value in f.subfields:
        value = nfc(value).strip()
        if value:
            values.setdefault(code, []).append(value)
    return values


def _first(values: dict[str, list[str]], *codes: str) -> str:
    for code in codes:
        if values.get(code):
            return values[code][0]
    return ""


def _flag(values: dict[str, list[str]], code: str) -> bool:
    value = _first(values, code)
    return bool(value) and value != "0"


def copies_in(record: MarcRecord) -> list[_Copy]:
    """Return the copies a record describes: each 952 (Koha), else each 876, else each 852."""
    by_tag: dict[str, list[Field]] = {}
    for f in record.fields:
        if f.tag in ("952", "876", "852") and not f.control_field:
            by_tag.setdefault(f.tag, []).append(f)
    if not by_tag:
        return []
    copies = []
    if "952" in by_tag:
        for n, f in enumerate(by_tag["952"], 1):
            v = _subfields(f)
            price_text = _first(v, "g", "v")
            status = ItemStatus.AVAILABLE.value
            if _flag(v, "0"):
                status = ItemStatus.WITHDRAWN.value
            elif _flag(v, "1"):
                status = ItemStatus.LOST.value
            elif _flag(v, "4"):
                status = ItemStatus.DAMAGED.value
            copies.append(
                _Copy(
                    n,
                    "952",
                    accession=_first(v, "i").upper(),
                    barcode=_first(v, "p") or None,
                    call_number=_first(v, "o"),
                    library_code=_first(v, "a", "b"),
                    location=_first(v, "c"),
                    price=parse_price(price_text),
                    price_text=price_text,
                    source=_first(v, "e"),
                    notes="; ".join(v.get("z", []) + v.get("x", [])),
                    status=status,
                )
            )
        return copies
    holding = _subfields(by_tag["852"][0]) if "852" in by_tag else {}
    call = " ".join(p for p in (_first(holding, "h"), _first(holding, "i")) if p)
    if "876" in by_tag:
        for n, f in enumerate(by_tag["876"], 1):
            v = _subfields(f)
            copies.append(
                _Copy(
                    n,
                    "876",
                    accession=_first(v, "a").upper(),
                    barcode=_first(v, "p") or None,
                    call_number=call,
                    library_code=_first(holding, "b", "a"),
                    location=_first(holding, "c"),
                    price=parse_price(_first(v, "c")),
                    price_text=_first(v, "c"),
                    notes="; ".join(v.get("z", []) + v.get("x", [])),
                )
            )
        return copies
    for n, f in enumerate(by_tag["852"], 1):
        v = _subfields(f)
        copies.append(
            _Copy(
                n,
                "852",
                barcode=_first(v, "p") or None,
                call_number=" ".join(p for p in (_first(v, "h"), _first(v, "i")) if p),
                library_code=_first(v, "b", "a"),
                location=_first(v, "c"),
                notes="; ".join(v.get("z", []) + v.get("x", [])),
            )
        )
    return copies


# --- merging -----------------------------------------------------------------------------------

# Tags whose incoming fields are added to an existing record when not already there, even when the
# record already has that tag: identifiers, notes, subjects, added entries, series, local fields.
_ADDITIVE = ("020", "022", "024", "035", "5", "6", "7", "8", "9")


def _signature(f: Field) -> tuple:
    if f.control_field:
        return (f.tag, nfc(f.data or "").strip())
    if f.tag == "020":
        isbn = marc.normalize_isbn(" ".join(v for c, v in f.subfields if c == "a"))
        if isbn:
            return ("020", isbn)
    subs = tuple((c, marc.normalize_text(v).strip(" .,;:/")) for c, v in f.subfields if c not in "0")
    return (f.tag, *f.indicators, subs)


def merge_records(existing: MarcRecord, incoming: MarcRecord) -> MarcRecord | None:
    """Return `existing` with the incoming fields it lacks added, or None when it lacks none.

    Kept from the existing record: the leader, every control field (00X) and every field already
    there. Added from the incoming record: fields with a tag the existing record does not have at all
    (e.g. a 250 edition), and, for identifiers (020 by normalised ISBN, 022, 024, 035), notes (5XX),
    subjects (6XX), added entries (7XX), series (8XX) and local fields (9XX, copies included), each
    field not already present. New fields go after the last field with the same or a lower tag.
    """
    have_tags = {f.tag for f in existing.fields}
    seen = {_signature(f) for f in existing.fields}
    added: list[Field] = []
    for f in incoming.fields:
        if f.control_field or f.tag < "010":
            continue
        sig = _signature(f)
        if sig in seen:
            continue
        if f.tag not in have_tags or f.tag.startswith(_ADDITIVE):
            added.append(f)
            seen.add(sig)
    if not added:
        return None
    fields = list(existing.fields)
    for f in added:
        pos = len(fields)
        for i in range(len(fields) - 1, -1, -1):
            if fields[i].tag <= f.tag:
                pos = i + 1
                break
        else:
            pos = 0
        fields.insert(pos, f)
    merged = MarcRecord()
    merged.leader = existing.leader
    merged.fields = fields
    return merged


# --- reading with a byte count -------------------------------------------------------------------


class _Counting:
    """A binary stream that counts the bytes read and keeps the first block (to name the format)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.count = 0
        self.head = b""

    def read(self, size: int = -1) -> bytes:
        """Read from the underlying stream, counting."""
        data = self._stream.read(size)
        if data:
            if not self.count:
                self.head = data[:4096]
            self.count += len(data)
        return data


def _file_size(stream: IO[bytes]) -> int:
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        pass
    try:
        here = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(here)
        return end - here
    except (AttributeError, OSError, ValueError):
        return 0


# --- the run ------------------------------------------------------------------------------------


class _Incoming(NamedTuple):
    """A bibliographic record that passed validation, as plain data (it crosses from the reader process)."""

    index: int
    offset: int | None
    keys: tuple[str, ...]  # match keys as "kind<US>value", strongest first
    marc_json: str
    row: tuple  # the `records` columns but "marc", in the order of _ROW_NAMES (`_row_values`)
    search: tuple[str, str]  # (exact, folded) search text without the copies (record_search_texts)
    copies: list[_Copy]
    iso: bytes | None = None  # the record as ISO 2709 (record_to_iso2709), None when it cannot be written

    @property
    def title(self) -> str:
        """The record's title."""
        return self.row[0]


@dataclass(slots=True)
class _PendingCopy:
    record_id: int
    index: int
    offset: int | None
    copy: _Copy
    library_id: int | None


_ITEM_COLUMNS = (
    "record_id",
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
    "is_demo",
    "created_at",
    "updated_at",
    "version",
)
# The MARC text goes to record_marc (with its ISO 2709 bytes), the other columns to records.
_RECORD_COLUMNS = (
    "id",
    *_ROW_NAMES,
    "source",
    "is_demo",
    "created_at",
    "updated_at",
    "created_by_id",
    "updated_by_id",
    "version",
)


def _insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """INSERT many rows with one driver-level executemany (no ORM, no per-row SQLAlchemy work)."""
    if not rows:
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"  # noqa: S608
    conn.exec_driver_sql(sql, rows)


def _prepare(parsed: marc.ParsedRecord) -> tuple:
    """Do the per-record work that needs no database: validate, serialise, extract, find keys and copies.

    Returns ("rejected", index, offset, reason, reason parts), ("other", index, offset, kind) or
    ("ok", _Incoming, notes, encoding). Pure, so it can run in a reader process.
    """
    index, offset = parsed.index, parsed.offset
    record = parsed.record
    if record is None:
        parts = parsed.reason_parts or [["", N_("the record cannot be read"), {}]]
        return ("rejected", index, offset, marc.render_reason(parts), parts)
    kind = parsed.kind
    if kind in NON_BIBLIOGRAPHIC:
        return ("other", index, offset, kind)
    notes = parsed.warnings
    errors = [p for p in marc.validate(record) if p.severity == "error"]
    if kind != "bibliographic":
        has_title = any(f.tag == "245" for f in record.fields)
        wrong_type = [p for p in errors if p.tag == "LDR" and p.msgid == marc.LEADER_TYPE_PROBLEM]
        if has_title and wrong_type:
            errors = [p for p in errors if p not in wrong_type]
            notes = [
                *notes,
                f"leader/06 (type of record) {str(record.leader)[6:7]!r} is not a MARC 21 type; "
                "imported as a bibliographic record because it has a title (245)",
            ]
        elif not has_title:
            errors.append(marc.Problem("245", N_("there is no 245 (title) field")))
    if errors:
        return ("rejected", index, offset, "; ".join(str(p) for p in errors), [p.part for p in errors])
    leader = str(record.leader)
    fields_json = _fields_json(record)
    marc_json = _record_json(leader, fields_json)
    iso = parsed.raw  # the bytes read are the record's ISO 2709 form when the reader says so
    if iso is None:
        if len(marc_json) > _ISO_CHECK_CHARS:
            try:
                marc.record_to_iso2709(record)
            except marc.MarcWriteError as exc:
                parts = [["", N_("the record cannot be kept: %(reason)s"), {"reason": str(exc)}]]
                return ("rejected", index, offset, marc.render_reason(parts), parts)
        try:
            iso = marc.iso2709_from_json(marc_json)
        except marc.MarcWriteError:
            iso = None
    fields = marc.extract(record)
    keys = _ordered_keys(marc.match_keys(fields), leader, fields_json)
    # The pymarc record is not kept: chunks hold plain data only, which keeps the memory flat and
    # the garbage collector's full passes short. Replace and merge rebuild it from marc_json.
    inc = _Incoming(
        index,
        offset,
        keys,
        marc_json,
        _row_values(fields),
        record_search_texts(fields),
        copies_in(record),
        iso,
    )
    return ("ok", inc, notes, parsed.encoding)


class _Run:
    """One pass over a file: classify every record and, when committing, store the chunks."""

    def __init__(
        self,
        session: Session,
        report: ImportReport,
        *,
        write: bool,
        actor_id: int | None,
        library_id: int | None,
        sequence_id: int | None,
    ) -> None:
        self.session = session
        self.report = report
        self.write = write
        self.actor_id = actor_id
        self.mode = report.on_duplicate
        self.chunk: list[_Incoming] = []
        # Keys of the records this run creates or changes: for the whole run when staging (nothing
        # is written), for the current chunk when committing (earlier chunks are in record_keys).
        self.pending: dict[str, int] = {}
        self.pending_identities: dict[int, tuple[str, ...]] = {}
        self.queued_ids: set[int] = set()
        self.creates: list[tuple[int, _Incoming]] = []
        self.updates: dict[int, list[tuple[_Incoming, Duplicate]]] = {}
        self.copies: list[_PendingCopy] = []
        self.used_numbers: set[str] = set()
        self.used_barcodes: set[str] = set()
        self.source = ("import:" + report.filename)[:200]
        self.dialect = session.get_bind().dialect
        self.is_sqlite = self.dialect.name == "sqlite"
        self.mark = "?" if self.dialect.paramstyle == "qmark" else "%s"
        self.next_id = 0
        self.id_block: list[int] = []
        self.created_ranges: list[list[int]] = []
        kinds = [k.value for k in LIBRARY_KINDS]
        self.libraries: dict[str, int] = {
            code.upper(): sid
            for sid, code in session.execute(select(Site.id, Site.code).where(Site.kind.in_(kinds))).all()
        }
        self.sequence: AccessionSequence | None = None
        if sequence_id is not None:
            self.sequence = session.get(AccessionSequence, sequence_id)
            if self.sequence is None or not self.sequence.is_active:
                raise ValidationError(N_("No such accession-number series."), field="sequence_id")
        if library_id is not None and library_id not in self.libraries.values():
            raise ValidationError(N_("Choose the library that holds the copies."), field="library_id")
        self.library_id = library_id or (self.sequence.library_id if self.sequence else None)
        now = utcnow()
        self.now = self.constant(Record.__table__, "created_at", now)
        self.false = self.constant(Record.__table__, "is_demo", False)
        self.event: AuditEvent | None = None

    def constant(self, table: Any, column: str, value: Any) -> Any:
        """Return `value` as the driver receives it for a column (e.g. a timestamp on SQLite)."""
        processor = table.c[column].type.dialect_impl(self.dialect).bind_processor(self.dialect)
        return processor(value) if processor else value

    # -- reading

    def accept(self, item: tuple) -> None:
        """Take one prepared record (see `_prepare`) into the report and the current chunk."""
        report = self.report
        report.read += 1
        status = item[0]
        if status == "rejected":
            report.rejected += 1
            report.add(report.rejections, Rejection(*item[1:]))
            return
        if status == "other":
            report.not_bibliographic += 1
            report.add(report.other_records, OtherRecord(*item[1:]))
            return
        inc, notes, encoding = item[1], item[2], item[3]
        if encoding:
            report.encodings[encoding] = report.encodings.get(encoding, 0) + 1
        report.items_found += len(inc.copies)
        if notes:
            report.with_warnings += 1
            for message in notes:
                report.add(report.warnings, Note(inc.index, inc.offset, message))
        self.chunk.append(inc)
        if len(self.chunk) >= CHUNK_SIZE:
            self.process_chunk()

    # -- matching

    def lookup(self, chunk: list[_Incoming]) -> tuple[dict[str, list[int]], dict[int, list[str]]]:
        """Find the chunk's keys in the catalogue (one query per kind of key).

        Returns {key: ids of the records having it, lowest first} and, for those records, their
        identifier keys {id: [key, …]} (to refuse matches between records with different identifiers).
        """
        wanted: dict[str, set[str]] = {}
        for inc in chunk:
            for key in inc.keys:
                kind, value = _key_parts(key)
                wanted.setdefault(kind, set()).add(value)
        conn = self.session.connection()
        found: dict[str, list[int]] = {}
        for kind, values in wanted.items():
            ordered = sorted(values)
            for i in range(0, len(ordered), _IN_BATCH):
                part = ordered[i : i + _IN_BATCH]
                sql = (
                    "SELECT record_id, value FROM record_keys "  # noqa: S608 - placeholders only
                    f"WHERE kind = {self.mark} AND value IN ({', '.join([self.mark] * len(part))})"
                )
                for record_id, value in conn.exec_driver_sql(sql, (kind, *part)):
                    found.setdefault(_key_str(kind, value), []).append(record_id)
        identities: dict[int, list[str]] = {}
        if not found:
            return found, identities
        for ids in found.values():
            ids.sort()
        candidates = sorted({i for ids in found.values() for i in ids})
        kinds = ", ".join(f"'{k}'" for k in IDENTIFIER_KINDS)
        for i in range(0, len(candidates), _IN_BATCH):
            part = candidates[i : i + _IN_BATCH]
            sql = (
                "SELECT record_id, kind, value FROM record_keys "  # noqa: S608 - placeholders only
                f"WHERE kind IN ({kinds}) AND record_id IN ({', '.join([self.mark] * len(part))})"
            )
            for record_id, kind, value in conn.exec_driver_sql(sql, tuple(part)):
                identities.setdefault(record_id, []).append(_key_str(kind, value))
        return found, identities

    def match(
        self, inc: _Incoming, found: dict[str, list[int]], identities: dict[int, list[str]]
    ) -> tuple[int, str] | None:
        """Return (record id, key) of the record this one duplicates, or None.

        Ids are negative (minus the record number) for records of this file that staging would create.
        A match on an ISBN or on title/author/year does not count when both records have identifiers
        of the same namespace (LCCN, 003+001 of one source, 035 of one system) and none is shared.
        """
        mine: dict[str, set[str]] | None = None
        pending = self.pending
        for key in inc.keys:
            candidates = found.get(key)
            mate = pending.get(key)
            if candidates is None:
                if mate is None:
                    continue
                candidates = [mate]
            elif mate is not None:
                candidates = [*candidates, mate]
            if key.startswith(_TRUSTED_PREFIXES):
                return candidates[0], key
            if mine is None:
                mine = _namespaces(k for k in inc.keys if k.startswith(_IDENTIFIER_PREFIXES))
            for target in candidates:
                theirs = identities.get(target)
                if theirs is None:
                    theirs = list(self.pending_identities.get(target, ()))
                if not mine or not _conflict(mine, _namespaces(theirs)):
                    return target, key
        return None

    def remember(self, keys: Iterable[str], record_id: int) -> None:
        """Note the keys of a record this run creates or changes, for the records after it."""
        own = []
        for key in keys:
            self.pending.setdefault(key, record_id)
            if key.startswith(_IDENTIFIER_PREFIXES):
                own.append(key)
        if own:
            self.pending_identities.setdefault(record_id, tuple(own))

    # -- the chunk

    def process_chunk(self) -> None:
        """Match a chunk against the catalogue and the run so far, then store it (when committing)."""
        chunk, self.chunk = self.chunk, []
        if not chunk:
            return
        report = self.report
        found, identities = self.lookup(chunk)
        for inc in chunk:
            hit = self.match(inc, found, identities)
            if hit is None:
                report.new += 1
                self.create(inc)
                continue
            target, key = hit
            kind, value = _key_parts(key)
            report.duplicates += 1
            dup = Duplicate(
                inc.index,
                inc.offset,
                inc.title[:200],
                kind,
                value[:200],
                record_id=target if target > 0 else None,
                file_record=-target if target < 0 else None,
                action=_ACTIONS[self.mode],
            )
            report.add(report.duplicate_records, dup)
            if self.mode == "skip":
                report.skipped += 1
            elif self.mode == "add":
                self.create(inc)
            else:
                if target in self.queued_ids:
                    self.flush()  # the target is new in this chunk: store it before changing it
                self.updates.setdefault(target, []).append((inc, dup))
                self.remember(inc.keys, target)
        self.flush()
        self.apply_updates()
        if self.write:
            self.pending.clear()
            self.pending_identities.clear()
            self.used_numbers.clear()
            self.used_barcodes.clear()

    def create(self, inc: _Incoming) -> None:
        """Queue a new record and its copies."""
        self.report.created += 1
        record_id = self.allocate_id() if self.write else -inc.index
        self.remember(inc.keys, record_id)
        self.creates.append((record_id, inc))
        self.queued_ids.add(record_id)
        self.queue_copies(inc, record_id)

    def allocate_id(self) -> int:
        """Return the next record id: max(id) + 1 on SQLite (this transaction holds the write lock since
        `begin`), the records' own sequence on PostgreSQL (a chunk of numbers at a time)."""
        if self.is_sqlite:
            if not self.next_id:
                conn = self.session.connection()
                top = conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM records").scalar()
                self.next_id = int(top or 0) + 1
            self.next_id += 1
            return self.next_id - 1
        if not self.id_block:
            rows = self.session.connection().exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('records', 'id')) FROM generate_series(1, %(n)s)",
                {"n": CHUNK_SIZE},
            )
            self.id_block = sorted((int(r[0]) for r in rows), reverse=True)
        return self.id_block.pop()

    # -- copies

    def note(self, index: int, offset: int | None, message: str) -> None:
        self.report.add(self.report.warnings, Note(index, offset, message))

    def skip_copy(self, index: int, offset: int | None, copy: _Copy, why: str) -> None:
        self.report.items_skipped += 1
        self.note(index, offset, f"copy {copy.number} ({copy.tag}) was not created: {why}")

    def queue_copies(self, inc: _Incoming, record_id: int) -> None:
        """Queue the copies of a record, or say why a copy is left out."""
        for copy in inc.copies:
            where = f"copy {copy.number} ({copy.tag})"
            library_id = self.library_id
            if copy.library_code:
                code = copy.library_code.upper()
                if code in self.libraries:
                    library_id = self.libraries[code]
                elif library_id is not None:
                    self.note(
                        inc.index,
                        inc.offset,
                        f"{where}: library code {copy.library_code!r} is not a library of the network; "
                        "the copy was put in the chosen library",
                    )
            if library_id is None:
                self.skip_copy(
                    inc.index, inc.offset, copy, "no library of the network is named and none was chosen"
                )
                continue
            if len(copy.accession) > 40:
                self.skip_copy(
                    inc.index, inc.offset, copy, "its accession number is longer than 40 characters"
                )
                continue
            if not copy.accession and self.sequence is None:
                self.skip_copy(
                    inc.index,
                    inc.offset,
                    copy,
                    "it has no accession number and no accession-number series was chosen",
                )
                continue
            if copy.price is None and copy.price_text:
                self.note(
                    inc.index,
                    inc.offset,
                    f"{where}: the price {copy.price_text!r} is not a number; it was left empty",
                )
            if copy.barcode and len(copy.barcode) > 64:
                self.note(
                    inc.index,
                    inc.offset,
                    f"{where}: the barcode is longer than 64 characters; it was left out",
                )
                copy.barcode = None
            self.copies.append(_PendingCopy(record_id, inc.index, inc.offset, copy, library_id))

    def check_copies(self) -> list[_PendingCopy]:
        """Take the queued copies: drop those whose accession number is used, clear used barcodes,
        and (when committing) give numbers from the series to those without one."""
        copies, self.copies = self.copies, []
        if not copies:
            return []
        taken_numbers = self.existing(
            Item.accession_number, {c.copy.accession for c in copies if c.copy.accession}
        )
        taken_barcodes = self.existing(Item.barcode, {c.copy.barcode for c in copies if c.copy.barcode})
        kept = []
        for pc in copies:
            copy = pc.copy
            if copy.accession:
                if copy.accession in taken_numbers or copy.accession in self.used_numbers:
                    self.skip_copy(
                        pc.index, pc.offset, copy, f"accession number {copy.accession} is already used"
                    )
                    continue
                self.used_numbers.add(copy.accession)
            if copy.barcode:
                if copy.barcode in taken_barcodes or copy.barcode in self.used_barcodes:
                    self.note(
                        pc.index,
                        pc.offset,
                        f"copy {copy.number} ({copy.tag}): barcode {copy.barcode} is already used; "
                        "the copy was created without it",
                    )
                    copy.barcode = None
                else:
                    self.used_barcodes.add(copy.barcode)
            kept.append(pc)
        need = [pc for pc in kept if not pc.copy.accession]
        self.report.numbers_allocated += len(need)
        self.report.items_created += len(kept)
        if self.write and need:
            for pc, number in zip(need, self.allocate(len(need)), strict=True):
                pc.copy.accession = number
        return kept

    def allocate(self, count: int) -> list[str]:
        """Take `count` accession numbers from the series, passing over numbers already used."""
        assert self.sequence is not None
        result: list[str] = []
        while len(result) < count:
            numbers = allocate_accession_numbers(
                self.session, self.sequence.id, min(count - len(result), _ALLOCATE_MAX)
            )
            taken = self.existing(Item.accession_number, set(numbers))
            fresh = [n for n in numbers if n not in taken and n not in self.used_numbers]
            self.used_numbers.update(fresh)
            result.extend(fresh)
        return result

    def existing(self, column: Any, values: set[str]) -> set[str]:
        """Return those of `values` that copies in the catalogue already have in `column`."""
        ordered = sorted(values)
        taken: set[str] = set()
        for i in range(0, len(ordered), _IN_BATCH):
            taken.update(self.session.scalars(select(column).where(column.in_(ordered[i : i + _IN_BATCH]))))
        return taken

    # -- writing

    def begin(self) -> None:
        """Stage the import's audit event first: on SQLite this write takes the database's write lock,
        so the record ids counted from max(id) stay ours until the commit."""
        self.event = audit.record(
            self.session,
            actor_id=self.actor_id,
            action="catalog.import",
            object_type="import",
            object_id=self.report.import_id,
            object_label=self.report.filename[:300],
            changes={},
        )
        self.session.flush()
        self.report.audit_event_id = self.event.id

    def flush(self) -> None:
        """Store the queued new records with their keys, copies and search text (when committing)."""
        creates, self.creates = self.creates, []
        self.queued_ids.clear()
        copies = self.check_copies()
        if not self.write or not creates:
            return
        conn = self.session.connection()
        now, false, actor, source = self.now, self.false, self.actor_id, self.source
        rows = []
        marcs = []
        keys = []
        for record_id, inc in creates:
            rows.append((record_id, *inc.row, source, false, now, now, actor, actor, 1))
            marcs.append((record_id, inc.marc_json, inc.iso))  # computed in _prepare (reader process)
            keys.extend([(record_id, *_key_parts(k)) for k in inc.keys])
            self.add_range(record_id)
        _insert_rows(conn, "records", _RECORD_COLUMNS, rows)
        _insert_rows(conn, "record_marc", ("record_id", "marc", "iso2709"), marcs)
        _insert_rows(conn, "record_keys", ("record_id", "kind", "value"), keys)
        terms = self.insert_items(copies)
        search = []
        for record_id, inc in creates:
            search.append((record_id, *with_item_terms(inc.search, terms.get(record_id, ()))))
        column = "rowid" if self.is_sqlite else "record_id"
        _insert_rows(conn, "record_search", (column, "exact", "folded"), search)

    def add_range(self, record_id: int) -> None:
        ranges = self.created_ranges
        if ranges and ranges[-1][1] == record_id - 1:
            ranges[-1][1] = record_id
        else:
            ranges.append([record_id, record_id])

    def insert_items(self, copies: list[_PendingCopy]) -> dict[int, list[str]]:
        """Insert copies; return {record id: the copies' search terms}."""
        terms: dict[int, list[str]] = {}
        if not copies:
            return terms
        false, now = self.false, self.now
        rows = []
        for pc in copies:
            c = pc.copy
            rows.append(
                (
                    pc.record_id,
                    c.accession,
                    c.barcode,
                    "",
                    "",
                    c.call_number[:120],
                    pc.library_id,
                    c.location[:120],
                    c.status,
                    c.price,
                    (c.source or self.source)[:120],
                    c.notes,
                    false,
                    false,
                    now,
                    now,
                    1,
                )
            )
            terms.setdefault(pc.record_id, []).extend(t for t in (c.accession, c.barcode, c.call_number) if t)
        _insert_rows(self.session.connection(), "items", _ITEM_COLUMNS, rows)
        return terms

    def apply_updates(self) -> None:
        """Replace or merge the records matched in this chunk (when staging, count what would change)."""
        updates, self.updates = self.updates, {}
        if not updates:
            return
        report = self.report
        existing = self.fetch([t for t in updates if t > 0])
        changed: dict[int, tuple[MarcRecord, str]] = {}
        for target, pairs in updates.items():
            current = existing.get(target)
            for inc, _dup in pairs:
                self.queue_copies(inc, target)
            if current is None:  # staging: an earlier record of this file that would be created
                report.updated += len(pairs)
                continue
            record, marc_json = current[0], current[1]
            for inc, dup in pairs:
                if self.mode == "replace":
                    new_record, new_json = record_from_json(inc.marc_json), inc.marc_json
                else:
                    merged = merge_records(record, record_from_json(inc.marc_json))
                    if merged is None:
                        new_record, new_json = record, marc_json
                    else:
                        new_record = merged
                        new_json = _record_json(str(merged.leader), _fields_json(merged))
                if new_json == marc_json:
                    report.unchanged += 1
                    dup.action = "unchanged"
                else:
                    report.updated += 1
                    record, marc_json = new_record, new_json
                    changed[target] = (record, marc_json)
        copies = self.check_copies()
        if not self.write:
            return
        self.store_updates(changed, existing)
        self.insert_items(copies)
        self.reindex(set(changed) | {pc.record_id for pc in copies})

    def fetch(self, ids: list[int]) -> dict[int, tuple[MarcRecord, str, dict[str, Any]]]:
        """Return {id: (record, MARC-in-JSON, audited values)} for records of the catalogue."""
        result: dict[int, tuple[MarcRecord, str, dict[str, Any]]] = {}
        columns = [Record.id, RecordMarc.marc, *(getattr(Record, n) for n in RECORD_AUDIT_FIELDS)]
        for i in range(0, len(ids), _IN_BATCH):
            part = ids[i : i + _IN_BATCH]
            stmt = select(*columns).join(RecordMarc, RecordMarc.record_id == Record.id)
            for row in self.session.execute(stmt.where(Record.id.in_(part))):
                values = dict(zip(RECORD_AUDIT_FIELDS, row[2:], strict=True))
                result[row[0]] = (record_from_json(row[1]), row[1], values)
        return result

    def store_updates(
        self,
        changed: dict[int, tuple[MarcRecord, str]],
        existing: dict[int, tuple[MarcRecord, str, dict[str, Any]]],
    ) -> None:
        """Write replaced or merged records: columns, version + 1, keys, and one audit event each."""
        if not changed:
            return
        conn = self.session.connection()
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sets = ", ".join(f"{c} = {mark}" for c in ROW_COLUMNS if c != "marc")
        sql = (
            f"UPDATE records SET {sets}, updated_at = {mark}, updated_by_id = {mark}, "  # noqa: S608
            f"version = version + 1 WHERE id = {mark}"
        )
        marc_sql = f"UPDATE record_marc SET marc = {mark}, iso2709 = {mark} WHERE record_id = {mark}"  # noqa: S608
        rows = []
        marcs = []
        keys = []
        for record_id, (record, marc_json) in changed.items():
            fields = marc.extract(record)
            row = record_row(marc_json, fields)
            del row["marc"]
            rows.append((*row.values(), self.now, self.actor_id, record_id))
            marcs.append((marc_json, iso2709_or_none(marc_json), record_id))
            ordered = _ordered_keys(marc.match_keys(fields), str(record.leader), _fields_json(record))
            keys.extend([(record_id, *_key_parts(k)) for k in ordered])
            old_json, before = existing[record_id][1], existing[record_id][2]
            changes = audit.diff(before, {n: row.get(n) for n in RECORD_AUDIT_FIELDS})
            changes["marc"] = [str(record_from_json(old_json)), str(record)]
            changes["import"] = [None, self.report.import_id]
            audit.record(
                self.session,
                actor_id=self.actor_id,
                action="record.update",
                object_type="record",
                object_id=record_id,
                object_label=row["title"][:200],
                changes=changes,
            )
        conn.exec_driver_sql(sql, rows)
        conn.exec_driver_sql(marc_sql, marcs)
        ids = list(changed)
        for i in range(0, len(ids), _IN_BATCH):
            part = tuple(ids[i : i + _IN_BATCH])
            marks = ", ".join([mark] * len(part))
            conn.exec_driver_sql(f"DELETE FROM record_keys WHERE record_id IN ({marks})", part)  # noqa: S608
        _insert_rows(conn, "record_keys", ("record_id", "kind", "value"), keys)
        self.session.flush()

    def reindex(self, ids: set[int]) -> None:
        """Recompute the search text of existing records from their MARC and all their copies."""
        ordered = sorted(ids)
        search = []
        for i in range(0, len(ordered), _IN_BATCH):
            part = ordered[i : i + _IN_BATCH]
            terms: dict[int, list[str]] = {}
            rows = self.session.execute(
                select(Item.record_id, Item.accession_number, Item.barcode, Item.call_number).where(
                    Item.record_id.in_(part)
                )
            )
            for record_id, *values in rows:
                terms.setdefault(record_id, []).extend(v for v in values if v)
            for record_id, marc_json in self.session.execute(
                select(RecordMarc.record_id, RecordMarc.marc).where(RecordMarc.record_id.in_(part))
            ):
                fields = marc.extract(record_from_json(marc_json))
                search.append((record_id, *search_texts(fields, terms.get(record_id, []))))
        write_search_rows(self.session, search)

    def finish(self) -> None:
        """Process the last chunk and complete the report (and the import's audit event)."""
        self.process_chunk()
        report = self.report
        report.warnings.sort(key=lambda n: n.record)
        report.created_ids = self.created_ranges[:100]
        self.fill_titles()
        report.committed = self.write
        if self.event is not None:
            names = (
                "read",
                "created",
                "updated",
                "unchanged",
                "skipped",
                "rejected",
                "not_bibliographic",
                "items_created",
                "items_skipped",
            )
            changes: dict[str, list[Any]] = {name: [None, getattr(report, name)] for name in names}
            changes["on_duplicate"] = [None, report.on_duplicate]
            changes["created_ids"] = [None, [f"{a}-{b}" if a != b else str(a) for a, b in report.created_ids]]
            self.event.changes = changes
            self.session.flush()

    def fill_titles(self) -> None:
        """Put the titles of the matched catalogue records into the duplicates' details."""
        ids = sorted({d.record_id for d in self.report.duplicate_records if d.record_id})
        titles: dict[int, str] = {}
        for i in range(0, len(ids), _IN_BATCH):
            part = ids[i : i + _IN_BATCH]
            for record_id, title in self.session.execute(
                select(Record.id, Record.title).where(Record.id.in_(part))
            ):
                titles[record_id] = title
        for d in self.report.duplicate_records:
            if d.record_id:
                d.matched_title = (titles.get(d.record_id) or "")[:200]


_BATCH = 200  # prepared records per message from the reader process
_QUEUE_BATCHES = 3 * CHUNK_SIZE // _BATCH  # a reader may run three chunks ahead
# Reader processes: each scans the whole file for record boundaries (cheap) but parses and prepares
# only every READERS-th group of records. On two cores, two readers and the importing process share
# the machine better than one reader that the importer waits for (measured: docs/benchmarks.md).
READERS = 2 if (os.cpu_count() or 1) >= 2 else 1
_PARALLEL_MIN_BYTES = 1 << 20  # smaller files are read in this process: a process costs more than it saves


def _batches(stream: _Counting, format: str, encoding: str) -> Iterator[tuple[list[tuple], int]]:  # noqa: A002
    """Yield (prepared records, bytes read so far) from a stream, in this process."""
    batch: list[tuple] = []
    for parsed in marc.read_records(stream, format=format, encoding=encoding):  # type: ignore[arg-type]
        batch.append(_prepare(parsed))
        if len(batch) >= _BATCH:
            yield batch, stream.count
            batch = []
    yield batch, stream.count


_ORPHAN_CHECK_SECONDS = 0.1


def _leave_when_orphaned(parent: int) -> None:
    """Exit this reader process as soon as the importing process `parent` is gone.

    When the importer is killed (SIGKILL: no clean-up, `daemon=True` does not help), nobody reads the
    queue any more: the reader would block for ever, on a full queue in `put` or, at its exit, in the
    queue's feeder thread writing to a full pipe. A daemon thread watches the parent instead.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_ORPHAN_CHECK_SECONDS)
        os._exit(0)  # the importing process is gone: nobody will read what is left

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def _reader_process(path: str, format: str, encoding: str, queue: Any, part: int, parts: int) -> None:  # noqa: A002
    """A reader process: go through the whole file, parse and prepare every `parts`-th group of _BATCH
    records starting with group `part`, and send each group as one batch, in file order."""
    gc.freeze()  # the heap inherited from the parent is not ours to collect
    parent = multiprocessing.parent_process()  # its pid was recorded before the fork: no race
    _leave_when_orphaned(parent.pid if parent is not None else os.getppid())
    try:
        batch: list[tuple] = []
        group = -1

        def wanted(index: int) -> bool:
            return ((index - 1) // _BATCH) % parts == part

        with open(path, "rb") as fh:
            stream = _Counting(fh)
            for parsed in marc.read_records(stream, format=format, encoding=encoding, wanted=wanted):  # type: ignore[arg-type]
                this = (parsed.index - 1) // _BATCH
                if this != group:
                    if group >= 0 and group % parts == part:
                        queue.put(("batch", batch, stream.count))
                    batch, group = [], this
                if this % parts == part:
                    batch.append(_prepare(parsed))
            if group >= 0 and group % parts == part:
                queue.put(("batch", batch, stream.count))
        queue.put(("end", None, 0))
    except marc.MarcFileError as exc:
        queue.put(("file_error", str(exc), 0))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
        queue.put(("error", f"{type(exc).__name__}: {exc}", 0))


def _batches_from_processes(
    path: str, format: str, encoding: str, parts: int
) -> Iterator[tuple[list[tuple], int]]:  # noqa: A002
    """Yield (prepared records, bytes read so far) prepared by `parts` forked reader processes.

    Validating, extracting and serialising cost more than storing; in other processes they overlap
    with it. Each reader goes through the whole file but parses (ISO 2709: only finds the record
    boundaries of the others) and prepares only its share of the groups; the groups are taken from
    the readers in turn, so they arrive in file order. Each queue holds a few chunks' worth of
    batches: enough to run ahead while a chunk is stored, and a bound on the memory when the
    database is the slower side. The readers are stopped when the caller stops (an error, or the
    end).
    """
    context = multiprocessing.get_context("fork")
    queues = [context.Queue(maxsize=_QUEUE_BATCHES) for _ in range(parts)]
    processes = [
        context.Process(
            target=_reader_process, args=(path, format, encoding, queues[n], n, parts), daemon=True
        )
        for n in range(parts)
    ]
    for process in processes:
        process.start()
    turn = 0
    try:
        while True:
            try:
                status, payload, count = queues[turn].get(timeout=1)
            except Empty:
                if processes[turn].is_alive():
                    continue
                raise RuntimeError("the process reading the MARC file stopped unexpectedly") from None
            if status == "batch":
                yield payload, count
                turn = (turn + 1) % parts
            elif status == "end":
                return  # this reader's next group would have been the next one: the file is done
            elif status == "file_error":
                raise marc.MarcFileError(payload)
            else:
                raise RuntimeError(f"reading the MARC file failed: {payload}")
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
        for queue in queues:
            queue.close()
            queue.cancel_join_thread()


_IMPORT_CACHE_KIB = 64 * 1024


class _BulkCache:
    """A larger SQLite page cache for the importing connection while it writes (restored after).

    With SQLite's default 2 MiB, the pages of the indexes being filled (titles, match keys, the
    search index) are spilled to the write-ahead log and read back many times within the one
    transaction; 64 MiB keeps them in memory, which makes the inserts about a fifth faster. Pages
    already dirty stay until the caller's commit whatever the setting. Other databases: no change.
    """

    def __init__(self, session: Session) -> None:
        self.conn: Connection | None = None
        self.previous: int | None = None
        conn = session.connection()
        if conn.dialect.name != "sqlite":
            return
        self.previous = conn.exec_driver_sql("PRAGMA cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA cache_size = -{_IMPORT_CACHE_KIB}")
        self.conn = conn

    def restore(self) -> None:
        if self.conn is not None and self.previous is not None:
            self.conn.exec_driver_sql(f"PRAGMA cache_size = {int(self.previous)}")
            self.conn = None


def _use_reader_process(source: object, size: int, parallel: bool | None) -> bool:
    """Decide whether a reader process helps: a file on disk, big enough, and fork is safe here."""
    if not isinstance(source, str | os.PathLike) or "fork" not in multiprocessing.get_all_start_methods():
        return False
    if parallel is not None:
        return parallel
    # fork() copies only the calling thread: with other threads running (a web server's), a lock one
    # of them holds would stay locked in the child, so read in this process then.
    return size >= _PARALLEL_MIN_BYTES and threading.active_count() == 1


def _run(
    session: Session,
    source: str | os.PathLike[str] | bytes | IO[bytes],
    *,
    write: bool,
    format: str,  # noqa: A002 - the CLI's name
    encoding: str,
    on_duplicate: str,
    actor_id: int | None,
    library_id: int | None,
    sequence_id: int | None,
    filename: str | None,
    import_id: str | None,
    progress: ProgressCallback | None,
    detail_limit: int,
    parallel: bool | None,
) -> ImportReport:
    if format not in marc.FORMATS:
        raise ValidationError(N_("Unknown format %(value)s."), field="format", value=format)
    if encoding not in marc.ENCODINGS:
        raise ValidationError(N_("Unknown encoding %(value)s."), field="encoding", value=encoding)
    if on_duplicate not in ON_DUPLICATE:
        raise ValidationError(
            N_("Unknown duplicate handling %(value)s."), field="on_duplicate", value=on_duplicate
        )
    owned = False
    if isinstance(source, bytes | bytearray):
        stream: IO[bytes] = io.BytesIO(bytes(source))
        name = filename or "upload"
    elif isinstance(source, str | os.PathLike):
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise marc.MarcFileError(f"the file cannot be opened: {exc.strerror or exc}") from None
        owned = True
        name = filename or os.path.basename(os.fspath(source))
    else:
        stream = source
        name = filename or os.path.basename(str(getattr(source, "name", "") or "upload"))
    try:
        size = _file_size(stream)
        report = ImportReport(
            filename=name,
            format=format,
            encoding=encoding,
            on_duplicate=on_duplicate,
            size=size,
            import_id=import_id or uuid.uuid4().hex[:12],
            detail_limit=detail_limit,
        )
        run = _Run(
            session, report, write=write, actor_id=actor_id, library_id=library_id, sequence_id=sequence_id
        )
        counted = _Counting(stream)
        if _use_reader_process(source, size, parallel):
            head = stream.read(4096)
            counted.head = head
            batches = _batches_from_processes(os.fspath(source), format, encoding, READERS)  # type: ignore[arg-type]
        else:
            batches = _batches(counted, format, encoding)
        if write:
            run.begin()
        ticked = 0
        # The objects that exist before the import (the application, the ORM's mappings, …) are left
        # out of the garbage collector's passes while it runs: the import allocates millions of
        # containers, and each full pass would otherwise walk that whole heap again (≈ 0.5 s per
        # 20,000 records). They go back to the collector's care at the end.
        gc.freeze()
        cache = _BulkCache(session) if write else None
        try:
            try:
                for batch, bytes_read in batches:
                    for item in batch:
                        run.accept(item)
                    if progress is not None and report.read - ticked >= CHUNK_SIZE:
                        ticked = report.read
                        progress(report.read, bytes_read, size)
            finally:
                batches.close()  # type: ignore[attr-defined]
            run.finish()
        finally:
            if cache is not None:
                cache.restore()
            gc.unfreeze()
        if format == "auto" and counted.head:
            report.format = marc.sniff_format(counted.head)
        if progress is not None:
            progress(report.read, size or counted.count, size)
        return report
    finally:
        if owned:
            stream.close()


def stage(
    session: Session,
    source: str | os.PathLike[str] | bytes | IO[bytes],
    *,
    format: str = "auto",  # noqa: A002 - the CLI's name
    encoding: str = "auto",
    on_duplicate: str = "skip",
    library_id: int | None = None,
    sequence_id: int | None = None,
    filename: str | None = None,
    progress: ProgressCallback | None = None,
    detail_limit: int = DETAIL_LIMIT,
    parallel: bool | None = None,
) -> ImportReport:
    """Read, validate and match a whole file and return what committing it would do; write nothing.

    Raises marc.MarcFileError when the file as a whole cannot be read.
    """
    return _run(
        session,
        source,
        write=False,
        format=format,
        encoding=encoding,
        on_duplicate=on_duplicate,
        actor_id=None,
        library_id=library_id,
        sequence_id=sequence_id,
        filename=filename,
        import_id=None,
        progress=progress,
        detail_limit=detail_limit,
        parallel=parallel,
    )


def commit(
    session: Session,
    source: str | os.PathLike[str] | bytes | IO[bytes],
    *,
    actor_id: int | None,
    format: str = "auto",  # noqa: A002 - the CLI's name
    encoding: str = "auto",
    on_duplicate: str = "skip",
    library_id: int | None = None,
    sequence_id: int | None = None,
    filename: str | None = None,
    import_id: str | None = None,
    progress: ProgressCallback | None = None,
    detail_limit: int = DETAIL_LIMIT,
    parallel: bool | None = None,
) -> ImportReport:
    """Import a file into the catalogue in the session's transaction and return the report.

    Reads the file again (the catalogue may have changed since staging), so the report is both the
    staging report and the result. The caller commits; on any exception it must roll back, and then
    nothing of the file is in the catalogue. Raises marc.MarcFileError when the file cannot be read.
    """
    return _run(
        session,
        source,
        write=True,
        format=format,
        encoding=encoding,
        on_duplicate=on_duplicate,
        actor_id=actor_id,
        library_id=library_id,
        sequence_id=sequence_id,
        filename=filename,
        import_id=import_id,
        progress=progress,
        detail_limit=detail_limit,
        parallel=parallel,
    )
