"""From a MARC record to database rows: extracted columns, match keys and search text (no database)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from json.encoder import encode_basestring as _enc  # the C encoder of json.dumps(ensure_ascii=False)
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
    return '{"leader":' + _enc(str(record.leader)) + ',"fields":' + fields_json(record) + "}"


# fields_json writes the JSON text itself, with the C string encoder json.dumps uses for each value
# and the JSON around the values remembered per field head ({"245":{"ind1":…,"subfields":[) and
# subfield code ({"a":); anything that is not text goes through json.dumps.
_HEADS: dict[tuple[str, str, str], str] = {}
_CODES: dict[str, str] = {}
_CACHE_MAX = 20_000


def fields_json(record: MarcRecord) -> str:
    """Return the "fields" list of the record's MARC-in-JSON text (the same text as `_slow_fields_json`)."""
    try:
        return _fields_json(record)
    except (TypeError, IndexError):  # a tag, indicator, code or value that is not text
        return _slow_fields_json(record)


def _fields_json(record: MarcRecord) -> str:
    out = []
    append = out.append
    heads = _HEADS
    codes = _CODES
    for f in record.fields:
        if f.control_field:
            append("{" + _enc(f.tag) + ":" + _enc(f.data or "") + "}")
            continue
        ind = f.indicators
        key = (f.tag, ind[0], ind[1])
        head = heads.get(key)
        if head is None:
            head = (
                "{" + _enc(f.tag) + ':{"ind1":' + _enc(ind[0]) + ',"ind2":' + _enc(ind[1]) + ',"subfields":['
            )
            if len(heads) < _CACHE_MAX:
                heads[key] = head
        parts = []
        for code, value in f.subfields:
            prefix = codes.get(code)
            if prefix is None:
                prefix = "{" + _enc(code) + ":"
                if len(codes) < _CACHE_MAX:
                    codes[code] = prefix
            parts.append(prefix + _enc(value))
        append(head + "},".join(parts) + "}]}}" if parts else head + "]}}")
    return "[" + ",".join(out) + "]"


def _slow_fields_json(record: MarcRecord) -> str:
    """The "fields" list as json.dumps writes it (the reference for `fields_json`)."""
    return json.dumps(marc.record_to_dict(record)["fields"], ensure_ascii=False, separators=(",", ":"))


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
    return with_item_terms(record_search_texts(fields), item_terms)


def record_search_texts(fields: marc.RecordFields) -> tuple[str, str]:
    """Return the (exact, folded) search text of a record without its copies (see `search_texts`)."""
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
    ]
    text = " ".join([p for p in parts if p])
    return text.casefold(), fold(text) + filter_tokens(fields.language, fields.year, fields.classification)


def with_item_terms(texts: tuple[str, str], item_terms: list[str] | tuple[str, ...] = ()) -> tuple[str, str]:
    """Add the copies' terms to a record's (exact, folded) search text from `record_search_texts`.

    Case folding and `fold` work character by character and nothing composes across a space, so
    folding the parts and joining them gives the text folded whole.
    """
    terms = " ".join(item_terms)
    if not terms:
        return texts
    exact, folded = texts
    # The filter tokens stay at the end of the folded text (see `filter_tokens`).
    at = (folded + " ").rfind(FILTER_MARK)
    head, tail = (folded[:at], folded[at:]) if at >= 0 else (folded, "")
    if not exact:
        return terms.casefold(), fold(terms) + tail
    return exact + " " + terms.casefold(), head + " " + fold(terms) + tail


# Filter tokens: the record's language, year and classification written at the end of the folded
# search text as words no query types, so that the full-text index alone answers "these words and
# this filter" (catalog.search builds the query terms; the migration a0b4d5f2e7c3 writes the same
# tokens with SQL). Values are hex-encoded (one index token whatever the characters, and a prefix of
# a value is a prefix of its hex); a year is written at four levels (millennium, century, decade,
# year) so that a range is a handful of terms.
FILTER_MARK = " zzf "
TOKEN_LANGUAGE = "zzfl"  # noqa: S105 - an index token, not a secret
TOKEN_CLASS = "zzfk"  # noqa: S105
YEAR_LEVELS = ((1000, "zzfm"), (100, "zzfc"), (10, "zzfd"), (1, "zzfy"))
MAX_TOKEN_YEAR = 9999
MAX_TOKEN_CLASS = 100


def filter_tokens(language: str | None, year: int | None, classification: str | None) -> str:
    """Return the filter tokens ending a record's folded search text (" zzf" and one per value)."""
    out = [" zzf"]
    if language:
        out.append(TOKEN_LANGUAGE + language[:3].lower().encode().hex())
    if year is not None and 0 <= year <= MAX_TOKEN_YEAR:
        out += [f"{tag}{year // size}" for size, tag in YEAR_LEVELS]
    if classification and classification[:MAX_TOKEN_CLASS]:
        out.append(TOKEN_CLASS + classification[:MAX_TOKEN_CLASS].encode().hex())
    return " ".join(out)
