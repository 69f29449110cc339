"""From a MARC record to database rows: extracted columns, match keys and search text (no database)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pymarc import Record as MarcRecord

from app.text import fold, sort_key_str
from catalog import marc

_SEP = "; "


@dataclass(slots=True)
class IndexedRecord:
    """Everything the database stores for one record, computed once."""

    row: dict[str, Any]
    keys: list[marc.MatchKey]
    fields: marc.RecordFields


def _clip(text: str | None, n: int) -> str:
    return (text or "")[:n]


def record_json(record: MarcRecord) -> str:
    """Return the lossless MARC-in-JSON text stored for a record."""
    return json.dumps(marc.record_to_dict(record), ensure_ascii=False, separators=(",", ":"))


def record_from_json(text: str) -> MarcRecord:
    """Return the pymarc Record stored as MARC-in-JSON text."""
    return marc.record_from_dict(json.loads(text))


def index_record(record: MarcRecord) -> IndexedRecord:
    """Return the columns, match keys and extracted fields of a record."""
    f = marc.extract(record)
    row = {
        "marc": record_json(record),
        "title": f.title,
        "title_sort": sort_key_str(f.sort_title or f.title)[:1000],
        "responsibility": f.responsibility,
        "main_author": _clip(f.main_author, 500),
        "authors": _SEP.join(f.authors),
        "isbn": f.isbns[0] if f.isbns else None,
        "publisher": _clip(f.publisher, 500),
        "place": _clip(f.place, 300),
        "year": f.year,
        "edition": _clip(f.edition, 300),
        "language": (f.language or None) and f.language[:3],
        "classification": _clip(f.classification, 100) or None,
        "classification_scheme": _clip(f.classification_scheme, 10) or None,
        "subjects": _SEP.join(f.subjects),
        "physical_description": _clip(f.physical_description, 500),
        "series": _SEP.join(f.series),
        "control_number": _clip(f.control_number, 64) or None,
        "control_number_source": _clip(f.control_number_source, 64) or None,
    }
    return IndexedRecord(row=row, keys=marc.match_keys(f), fields=f)


def search_texts(fields: marc.RecordFields, item_terms: list[str] | tuple[str, ...] = ()) -> tuple[str, str]:
    """Return (exact, folded) search text: lower-cased NFC with diacritics, and diacritics folded.

    Covers title, responsibility, authors, subjects, series, publisher, ISBN/ISSN, classification, and
    the copies' accession numbers, barcodes and call numbers (`item_terms`).
    """
    parts = [
        fields.title,
        fields.responsibility,
        " ".join(fields.authors),
        " ".join(fields.subjects),
        " ".join(fields.series),
        fields.publisher,
        " ".join(fields.isbns),
        " ".join(fields.invalid_isbns),
        " ".join(fields.issns),
        fields.classification or "",
        " ".join(item_terms),
    ]
    text = " ".join(p for p in parts if p)
    return text.casefold(), fold(text)
