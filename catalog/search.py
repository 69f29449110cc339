"""Catalogue search: one box over titles, authors, subjects, ISBNs and copies, with filters and sorting.

Served from the full-text index `record_search` (SQLite FTS5, or tsvector columns with GIN indexes on
PostgreSQL), never by scanning with LIKE. The index holds each record's text twice: `exact` (lower-
cased NFC, diacritics kept) and `folded` (diacritics removed, đ→d). A query matches the folded text,
so "duong" finds "đường" (and "dương"); the last word also matches as a prefix when it is long
enough. Codes typed into the box are looked up directly first: an ISBN-10 or ISBN-13 (hyphens or
not) in the match keys, an accession number or a barcode in the copies; those records lead the list.

Relevance is a sort key computed in Python over the candidates: (1) when the query carries
diacritics, records containing every word exactly as typed come first (a hard tier: "má" before
"ma"/"mà"); (2) text starting with the whole query (titles come first in the index text); (3) the
query as one phrase; (4) the newest record. FTS5's bm25() was measured and left out: it reads the
whole posting list of every word on each query, which costs tens of milliseconds for common words
at 250,000 records.

Speed: at most COUNT_LIMIT + 1 candidates are read (newest first on SQLite). When a query matches
more, the total is reported as a lower bound ("more than 1,000") and paging stops there; ranking
is then among the newest matches, and title/year order walks the sort index instead.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from app.text import fold, nfc
from catalog.indexing import MAX_TOKEN_CLASS, MAX_TOKEN_YEAR, TOKEN_CLASS, TOKEN_LANGUAGE, YEAR_LEVELS
from catalog.marc import isbn_is_valid, normalize_isbn
from catalog.models import ItemStatus

# At most this many matches are counted and ranked (and so reached by paging).
COUNT_LIMIT = 1_000
# With filters this selective or more, the filtered records are checked against the index one by one.
FILTER_LIMIT = 1_000
MAX_PER_PAGE = 100
MAX_TERMS = 12
# A prefix match ("librar" finds "library") only for a last word at least this long: Vietnamese
# syllables are short, and "ma" should not find "mai", "mang", "mạnh".
MIN_PREFIX = 4

_WORD = re.compile(r"[^\W_]+")
_UNSAFE = re.compile(r"[^\w.,/'\-]+")
_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-_/]{2,63}$")
_ISBN_LIKE = re.compile(r"^[0-9][0-9\- ]{8,16}[0-9Xx]$")


class Sort(StrEnum):
    """How results are ordered."""

    RELEVANCE = "relevance"
    TITLE = "title"
    YEAR = "year"


@dataclass(slots=True)
class SearchQuery:
    """What the user asked for: the words, the filters, the order and the page."""

    q: str = ""
    year_from: int | None = None
    year_to: int | None = None
    language: str | None = None
    classification: str | None = None  # a prefix: "895" finds 895.922
    library_id: int | None = None  # records with a copy held by this library
    status: str | None = None  # records with a copy in this status
    sort: str = Sort.RELEVANCE.value
    page: int = 1
    per_page: int = 20

    @property
    def has_filters(self) -> bool:
        """True when any filter narrows the result."""
        return any(
            v not in (None, "")
            for v in (
                self.year_from,
                self.year_to,
                self.language,
                self.classification,
                self.library_id,
                self.status,
            )
        )


@dataclass(slots=True)
class Hit:
    """One record in a result list, with what a reader needs to find the book on the shelf."""

    id: int
    title: str
    main_author: str
    responsibility: str
    year: int | None
    publisher: str
    isbn: str | None
    classification: str | None
    language: str | None
    copies: int = 0  # copies on the books (withdrawn ones left out)
    available: int = 0
    call_numbers: list[str] = field(default_factory=list)
    matched: str | None = None  # "isbn", "accession_number" or "barcode" for a direct code match

    def as_dict(self) -> dict[str, Any]:
        """Return the hit as plain JSON-ready data."""
        return {
            "id": self.id,
            "title": self.title,
            "author": self.main_author,
            "responsibility": self.responsibility,
            "year": self.year,
            "publisher": self.publisher,
            "isbn": self.isbn,
            "classification": self.classification,
            "language": self.language,
            "copies": self.copies,
            "available": self.available,
            "call_numbers": self.call_numbers,
            "matched": self.matched,
        }


@dataclass(slots=True)
class SearchResult:
    """A page of hits; `total` is exact unless `total_is_lower_bound` (then "more than total")."""

    query: SearchQuery
    total: int
    hits: list[Hit]
    total_is_lower_bound: bool = False

    @property
    def pages(self) -> int:
        """Number of pages reachable (bounded when the total is)."""
        return max((self.total + self.query.per_page - 1) // self.query.per_page, 1)


@dataclass(slots=True)
class Terms:
    """A query split into words the way the index splits text (one entry per typed chunk)."""

    exact: list[list[str]]  # per chunk: its words, lower-cased NFC with diacritics
    folded: list[list[str]]  # the same words folded
    has_marks: bool  # the user typed diacritics: exact matches form the first tier
    chunks: list[str] = field(default_factory=list)  # each chunk folded, inner punctuation kept
    prefix: bool = True  # the last word may be a prefix (when long enough, see has_prefix)

    def has_prefix(self) -> bool:
        """True when the last word is matched as a prefix too ("librar" finds "library")."""
        return self.prefix and bool(self.folded) and len(self.folded[-1][-1]) >= MIN_PREFIX

    def __bool__(self) -> bool:
        return bool(self.exact)


def parse_terms(q: str) -> Terms:
    """Split a query into chunks of words; punctuation and search-syntax characters are dropped.

    A chunk is what the user typed between spaces ("VN.00123" is one chunk of two words, matched as
    a phrase, as the index splits it); operators such as AND, OR, NOT are ordinary words here.
    """
    exact: list[list[str]] = []
    folded: list[list[str]] = []
    chunks: list[str] = []
    for chunk in nfc(q).casefold().split():
        words = _WORD.findall(chunk)
        if not words:
            continue
        exact.append(words)
        folded.append([fold(w) for w in words])
        # PostgreSQL's parser keeps "959.718" or "vn.00123" as one token: give it the chunk as typed,
        # trimmed of outer punctuation, with only characters that cannot be query syntax.
        inner = chunk[chunk.index(words[0]) : chunk.rindex(words[-1]) + len(words[-1])]
        chunks.append(_UNSAFE.sub(" ", fold(inner)))
        if len(exact) >= MAX_TERMS:
            break
    return Terms(exact=exact, folded=folded, has_marks=exact != folded, chunks=chunks)


def clean_query(query: SearchQuery) -> SearchQuery:
    """Return the query with its values normalised and bounded (page, page size, sort, status)."""
    status = query.status if query.status in {s.value for s in ItemStatus} else None
    sort = query.sort if query.sort in {s.value for s in Sort} else Sort.RELEVANCE.value
    per_page = min(max(int(query.per_page or 20), 1), MAX_PER_PAGE)
    max_page = max(COUNT_LIMIT // per_page, 1)
    return SearchQuery(
        q=nfc(query.q or "").strip()[:300],
        year_from=query.year_from,
        year_to=query.year_to,
        language=(query.language or "").strip().lower()[:3] or None,
        classification=nfc(query.classification or "").strip()[:100] or None,
        library_id=query.library_id or None,
        status=status,
        sort=sort,
        page=min(max(int(query.page or 1), 1), max_page),
        per_page=per_page,
    )


# --- direct code look-ups ----------------------------------------------------------------------


def _direct_matches(session: Session, q: str) -> dict[int, str]:
    """Return {record_id: what matched} for an ISBN, accession number or barcode typed as the query."""
    found: dict[int, str] = {}
    if _ISBN_LIKE.match(q):
        isbn = normalize_isbn(q)
        if isbn and (len(isbn) == 13 and isbn_is_valid(isbn)):
            for (rid,) in session.execute(
                text("SELECT DISTINCT record_id FROM record_keys WHERE kind = 'isbn' AND value = :v"),
                {"v": isbn},
            ):
                found.setdefault(rid, "isbn")
    if _CODE.match(q):
        row = session.execute(
            text("SELECT record_id FROM items WHERE accession_number = :v"), {"v": q.upper()}
        ).first()
        if row:
            found.setdefault(row[0], "accession_number")
        row = session.execute(text("SELECT record_id FROM items WHERE barcode = :v"), {"v": q}).first()
        if row:
            found.setdefault(row[0], "barcode")
    return found


# --- filters -------------------------------------------------------------------------------------


def _filter_parts(query: SearchQuery) -> tuple[list[str], list[str], dict[str, Any]]:
    """Return the filters as conditions on `records r` and on `items i`, and their parameters."""
    where, params = _record_filters(query)
    items: list[str] = []
    if query.library_id:
        items.append("i.library_id = :library_id")
        params["library_id"] = query.library_id
    if query.status:
        items.append("i.status = :status")
        params["status"] = query.status
    return where, items, params


def _filter_selects(query: SearchQuery) -> tuple[list[str], dict[str, Any]]:
    """Return one SELECT of record ids per filtered table (records, items), to be intersected."""
    where, items, params = _filter_parts(query)
    selects = []
    if where:
        selects.append("SELECT r.id FROM records r WHERE " + " AND ".join(where))  # noqa: S608
    if items:
        selects.append("SELECT i.record_id FROM items i WHERE " + " AND ".join(items))  # noqa: S608
    return selects, params


def _filters(query: SearchQuery) -> tuple[list[str], dict[str, Any]]:
    """Return SQL conditions on `records r` for the query's filters, and their parameters."""
    where, items, params = _filter_parts(query)
    if items:
        exists = "EXISTS (SELECT 1 FROM items i WHERE i.record_id = r.id AND "  # noqa: S608
        where.append(exists + " AND ".join(items) + ")")
    return where, params


def _record_filters(query: SearchQuery) -> tuple[list[str], dict[str, Any]]:
    """Return SQL conditions on `records r` for the filters on its own columns, and their parameters."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if query.year_from is not None:
        where.append("r.year >= :year_from")
        params["year_from"] = query.year_from
    if query.year_to is not None:
        where.append("r.year <= :year_to")
        params["year_to"] = query.year_to
    if query.language:
        where.append("r.language = :language")
        params["language"] = query.language
    if query.classification:
        # A prefix as a range the index serves (no LIKE): "895" → ["895", "896").
        where.append("r.classification >= :cls_lo AND r.classification < :cls_hi")
        params["cls_lo"] = query.classification
        params["cls_hi"] = query.classification[:-1] + chr(ord(query.classification[-1]) + 1)
    return where, params


# At most this many index terms stand for a year range; a wider one is checked on `records` alone.
MAX_YEAR_TERMS = 24


def _year_terms(year_from: int | None, year_to: int | None) -> list[str] | None:
    """Return the year tokens covering the range (each a year, decade, century or millennium).

    None when the range is too scattered to be worth it (the records are then checked on `records`).
    """
    lo = 0 if year_from is None else max(year_from, 0)
    hi = MAX_TOKEN_YEAR if year_to is None else min(year_to, MAX_TOKEN_YEAR)
    out: list[str] = []
    year = lo
    while year <= hi:
        for size, tag in YEAR_LEVELS:
            if year % size == 0 and year + size - 1 <= hi:
                out.append(f"{tag}{year // size}")
                year += size
                break
        if len(out) > MAX_YEAR_TERMS:
            return None
    return out or None


def filter_terms(query: SearchQuery) -> list[tuple[list[str], bool]]:
    """Return the record filters as index terms: a list of (alternatives, is a prefix), all required.

    Every record passing the filters has these tokens in its folded text (see
    catalog.indexing.filter_tokens); a record may have them and still fail a filter (a year outside
    0–9999, a language in capitals), so the SQL conditions on `records` are checked as well.
    """
    groups: list[tuple[list[str], bool]] = []
    if query.language:
        groups.append(([TOKEN_LANGUAGE + query.language[:3].lower().encode().hex()], False))
    if query.year_from is not None or query.year_to is not None:
        years = _year_terms(query.year_from, query.year_to)
        if years:
            groups.append((years, False))
    if query.classification and len(query.classification) <= MAX_TOKEN_CLASS:
        groups.append(([TOKEN_CLASS + query.classification.encode().hex()], True))
    return groups


def _filter_ids(session: Session, query: SearchQuery, limit: int) -> list[int]:
    """Return up to `limit` ids of records passing the filters, newest first, found through indexes.

    Each filtered table gives its ids from an index (records by year, language or class; copies by
    library and status) and the sets are intersected, without reading a single row.
    """
    if _is_sqlite(session):
        selects, params = _filter_selects(query)
        sql = " INTERSECT ".join(selects) + " ORDER BY 1 DESC LIMIT :limit"
    else:
        # PostgreSQL intersects whole sets (HashSetOp): stream instead, newest first, up to the limit.
        where, items, params = _filter_parts(query)
        if items and not where:
            conditions = " AND ".join(items)
            sql = f"SELECT DISTINCT i.record_id FROM items i WHERE {conditions} ORDER BY 1 DESC LIMIT :limit"  # noqa: S608
        else:
            where, params = _filters(query)
            conditions = " AND ".join(where)
            sql = f"SELECT r.id FROM records r WHERE {conditions} ORDER BY r.id DESC LIMIT :limit"  # noqa: S608
    params["limit"] = limit
    return [row[0] for row in session.execute(text(sql), params)]


def _order(session: Session, query: SearchQuery) -> str:
    if query.sort == Sort.YEAR:
        nulls = "" if _is_sqlite(session) else " NULLS LAST"  # SQLite puts NULL last in DESC already
        return f"r.year DESC{nulls}, r.id DESC"
    return "r.title_sort, r.id"


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


# --- matching words --------------------------------------------------------------------------------


def _fts5_expression(terms: Terms) -> str:
    """Return the FTS5 MATCH expression: every chunk as a phrase on the folded text."""
    parts = []
    last = len(terms.folded) - 1
    for n, words in enumerate(terms.folded):
        prefix = "*" if n == last and terms.has_prefix() else ""
        parts.append('folded : "' + " ".join(words).replace('"', '""') + '"' + prefix)
    return " AND ".join(parts)


def _tsquery_text(terms: Terms) -> str:
    """Return to_tsquery text: every chunk a quoted phrase on the folded text, the last a prefix."""
    parts = []
    last = len(terms.folded) - 1
    for n, chunk in enumerate(terms.chunks):
        quoted = "'" + chunk.replace("'", "''") + "'"
        parts.append(quoted + (":*" if n == last and terms.has_prefix() else ""))
    return " & ".join(parts)


def _fts5_filters(groups: list[tuple[list[str], bool]]) -> str:
    """Return the filter tokens as an FTS5 expression to AND with the words ("" when none)."""
    parts = []
    for alternatives, prefix in groups:
        star = "*" if prefix else ""
        terms = [f'folded : "{t}"{star}' for t in alternatives]
        parts.append(terms[0] if len(terms) == 1 else "(" + " OR ".join(terms) + ")")
    return "".join(" AND " + p for p in parts)


def _tsquery_filters(groups: list[tuple[list[str], bool]]) -> str:
    """Return the filter tokens as to_tsquery text to AND with the words ("" when none)."""
    parts = []
    for alternatives, prefix in groups:
        star = ":*" if prefix else ""
        terms = [f"'{t}'{star}" for t in alternatives]
        parts.append(terms[0] if len(terms) == 1 else "(" + " | ".join(terms) + ")")
    return "".join(" & " + p for p in parts)


def _match(
    session: Session, terms: Terms, query: SearchQuery | None = None
) -> tuple[str, str, dict[str, Any]]:
    """Return (FROM clause of the index aliased s, WHERE condition, parameters) for the words.

    With a query, its record filters (language, years, classification) are added as index terms
    on PostgreSQL, so the GIN index gives only the records passing them.
    """
    if _is_sqlite(session):
        return "record_search s", "record_search MATCH :match", {"match": _fts5_expression(terms)}
    extra = _tsquery_filters(filter_terms(query)) if query is not None else ""
    cond = "s.folded_tsv @@ to_tsquery('simple', :match)"
    params = {"match": _tsquery_text(terms) + extra}
    copy_term = copy_filter_term(query.library_id, query.status) if query is not None else None
    if copy_term:
        # Kept by triggers from the copies (migration f5a9c0d7e8b3): both GIN bitmaps are intersected.
        cond += " AND s.copy_terms @@ CAST(:copy_term AS tsquery)"
        params["copy_term"] = copy_term
    return "record_search s", cond, params


def copy_filter_term(library_id: int | None, status: str | None) -> str | None:
    """Return the PostgreSQL `copy_terms` lexeme of a copy filter (lib7, stlost, lib7stlost), or None.

    A record has it when one of its copies is held by that library and/or is in that status; the
    spelling is the migration's `record_copy_terms()`. The status is an ItemStatus value (letters
    and underscores), so the lexeme is plain letters and digits.
    """
    library = f"lib{int(library_id)}" if library_id else ""
    state = "st" + status.replace("_", "") if status else ""
    return (library + state) or None


def _id_col(session: Session) -> str:
    return "s.rowid" if _is_sqlite(session) else "s.record_id"


Candidate = tuple[int, str, str]  # record id, exact text, folded text


def _candidates(session: Session, query: SearchQuery, terms: Terms) -> tuple[list[Candidate], bool]:
    """Return up to COUNT_LIMIT matching records with their index text, and True if there are more.

    Without filters, the newest matches straight from the index. With filters on SQLite, the ids of
    the matches and of the filtered records intersected (each side read from an index in id order,
    merged, stopping at the limit), then the index text of those ids. On PostgreSQL: when filters are
    selective, the filtered records checked against the index; otherwise the matches joined with
    the filters.
    """
    source, cond, params = _match(session, terms, query)
    sid = _id_col(session)
    where, fparams = _filters(query)
    params.update(fparams, limit=COUNT_LIMIT + 1)
    order = f" ORDER BY {sid} DESC" if _is_sqlite(session) else ""  # FTS5 serves it; PostgreSQL would sort
    cols = f"{sid}, s.exact, s.folded"
    if not where:
        sql = f"SELECT {cols} FROM {source} WHERE {cond}{order} LIMIT :limit"  # noqa: S608
        rows = session.execute(text(sql), params).all()
    elif _is_sqlite(session):
        selects, fparams = _filter_selects(query)
        selects.append(f"SELECT {sid} FROM {source} WHERE {cond}")  # noqa: S608
        sql = " INTERSECT ".join(selects) + " ORDER BY 1 DESC LIMIT :limit"
        ids = [row[0] for row in session.execute(text(sql), params)]
        rows = _index_rows(session, ids)
    elif _tokens_cover(query):
        # The index terms carry the record filters: the GIN index gives the passing records only,
        # without reading `records` (the tokens are written from the same fields as its columns).
        sql = f"SELECT {cols} FROM {source} WHERE {cond} LIMIT :limit"  # noqa: S608
        rows = session.execute(text(sql), params).all()
    else:
        selected = _filter_ids(session, query, FILTER_LIMIT + 1)
        if len(selected) <= FILTER_LIMIT:
            rows = _check_ids(session, source, cond, cols, sid, params, selected)
        else:
            sql = (
                f"SELECT {cols} FROM {source} JOIN records r ON r.id = {sid} "  # noqa: S608
                f"WHERE {cond} AND {' AND '.join(where)}{order} LIMIT :limit"
            )
            rows = session.execute(text(sql), params).all()
    found = [(row[0], row[1], row[2]) for row in rows]
    return found[:COUNT_LIMIT], len(found) > COUNT_LIMIT


def _tokens_cover(query: SearchQuery) -> bool:
    """True when every filter of the query is written as index terms (PostgreSQL).

    The record filters are tokens of the folded text; the copy filters (library, status) are
    `copy_terms`, which `_match` adds.
    """
    wanted = (
        bool(query.language)
        + (query.year_from is not None or query.year_to is not None)
        + bool(query.classification)
    )
    return len(filter_terms(query)) == wanted


def _index_rows(session: Session, ids: list[int]) -> list[Candidate]:
    """Return the index rows (id, exact, folded) of these records, in the order of `ids`."""
    if not ids:
        return []
    key = "rowid" if _is_sqlite(session) else "record_id"
    stmt = text(
        f"SELECT {key}, exact, folded FROM record_search WHERE {key} IN :ids"  # noqa: S608
    ).bindparams(bindparam("ids", expanding=True))
    found = {row[0]: (row[0], row[1], row[2]) for row in session.execute(stmt, {"ids": ids})}
    return [found[i] for i in ids if i in found]


def _check_ids(
    session: Session, source: str, cond: str, cols: str, sid: str, params: dict[str, Any], ids: list[int]
) -> list[Any]:
    """Return the index rows of these records that match the words, newest first."""
    ids = sorted(ids, reverse=True)
    if _is_sqlite(session):
        # FTS5 ignores "rowid IN (…)" but seeks straight to one rowid. The DB-API cursor is used
        # directly: a thousand tiny statements through the ORM layer would cost more than the seeks.
        sql = f"SELECT {cols} FROM {source} WHERE {cond.replace(':match', '?')} AND {sid} = ?"  # noqa: S608
        cursor = session.connection().connection.cursor()
        rows = []
        try:
            for record_id in ids:
                row = cursor.execute(sql, (params["match"], record_id)).fetchone()
                if row is not None:
                    rows.append(row)
                    if len(rows) > COUNT_LIMIT:
                        break
        finally:
            cursor.close()
        return rows
    stmt = text(
        f"SELECT {cols} FROM {source} WHERE {cond} AND {sid} = ANY(:ids) ORDER BY {sid} DESC LIMIT :limit"  # noqa: S608
    )
    return session.execute(stmt, {**params, "ids": ids, "limit": COUNT_LIMIT + 1}).all()


def _has(text: str, needle: str, prefix: bool = False, at_start: bool = False) -> bool:
    """True when `needle` occurs in `text` as whole words (its end may be a prefix)."""
    start = 0
    while (i := text.find(needle, start)) >= 0:
        end = i + len(needle)
        if (i == 0 or not text[i - 1].isalnum()) and (prefix or end == len(text) or not text[end].isalnum()):
            return True
        if at_start:
            return False
        start = i + 1
    return False


def _ranker(terms: Terms):
    """Return a function giving a candidate's sort key: smaller is more relevant.

    In order: every word with the diacritics as typed (only when some were typed), the text
    starting with the whole query (titles come first in the index text), the whole query as one
    phrase, then the newest record.
    """
    last = len(terms.exact) - 1
    prefix = last >= 0 and terms.has_prefix()
    exact_words = [
        (w, prefix and n == last and k == len(c) - 1)
        for n, c in enumerate(terms.exact)
        for k, w in enumerate(c)
    ]
    phrase = " ".join(w for chunk in terms.folded for w in chunk)

    def key(c: Candidate) -> tuple[int, int, int, int]:
        record_id, exact_text, folded_text = c
        tier = 0 if not terms.has_marks or all(_has(exact_text, w, p) for w, p in exact_words) else 1
        starts = (
            0 if folded_text.startswith(phrase) and _has(folded_text, phrase, prefix, at_start=True) else 1
        )
        together = 0 if starts == 0 or _has(folded_text, phrase, prefix) else 1
        return (tier, starts, together, -record_id)

    return key


def _ids_fulltext(
    session: Session, query: SearchQuery, terms: Terms, offset: int, limit: int
) -> tuple[list[int], int, bool]:
    """Return the record ids of one page of word matches, the total and whether it is a lower bound.

    When the last word could be a prefix, the whole words are tried first: if they alone match more
    than COUNT_LIMIT records, the prefix could only add to "more than 1,000", and a user who typed
    a whole word ("chọn") wants it rather than longer ones ("chống"); a common word's prefix also
    costs the most to match (tens of thousands of index entries). Otherwise the prefix is matched.
    """
    if terms.has_prefix():
        whole = replace(terms, prefix=False)
        candidates, bounded = _candidates(session, query, whole)
        if bounded:
            terms = whole
        else:
            candidates, bounded = _candidates(session, query, terms)
    else:
        candidates, bounded = _candidates(session, query, terms)
    total = len(candidates)
    if query.sort == Sort.RELEVANCE:
        ranked = sorted(candidates, key=_ranker(terms))
        return [c[0] for c in ranked[offset : offset + limit]], total, bounded
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if not bounded:
        sql = text(
            f"SELECT r.id FROM records r WHERE r.id IN :ids ORDER BY {_order(session, query)} "  # noqa: S608
            "LIMIT :limit OFFSET :offset"
        ).bindparams(bindparam("ids", expanding=True))
        params["ids"] = [c[0] for c in candidates] or [0]
        return [row[0] for row in session.execute(sql, params)], total, bounded
    # Many matches: walk the records in title (or year) order and keep the matching ones; on
    # PostgreSQL, when the matches are few enough, sort them all instead (see _sort_matches).
    source, cond, mparams = _match(session, terms, query)
    where, fparams = _filters(query)
    params.update(mparams)
    params.update(fparams)
    if not _is_sqlite(session) and _sort_matches(session, source, cond, params, offset + limit):
        conditions = "".join(" AND " + w for w in where)
        sql = text(
            f"WITH m AS MATERIALIZED (SELECT s.record_id FROM {source} WHERE {cond}) "  # noqa: S608
            f"SELECT r.id FROM m JOIN records r ON r.id = m.record_id WHERE TRUE{conditions} "
            f"ORDER BY {_order(session, query)} LIMIT :limit OFFSET :offset"
        )
        return [row[0] for row in session.execute(sql, params)], total, bounded
    matching = f"r.id IN (SELECT {_id_col(session)} FROM {source} WHERE {cond})"  # noqa: S608
    return _walk(session, query, [matching, *where], params, offset, limit), total, bounded


def _sort_matches(session: Session, source: str, cond: str, params: dict[str, Any], needed: int) -> bool:
    """True when sorting all the matches costs less than walking the sort index (PostgreSQL).

    Walking the title (or year) index checks about `needed` × records ÷ matches rows (when the
    matches are spread evenly); sorting reads every match once. So walking wins above the square
    root of `needed` × records (≈ 2,200 matches for a first page at 250,000 records). The number of
    matches is the planner's estimate (from the index statistics, no rows read).
    """
    sql = f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {source} WHERE {cond}"  # noqa: S608
    plan = session.execute(text(sql), params).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    matches = float(plan[0]["Plan"]["Plan Rows"])
    records = session.execute(
        text("SELECT reltuples FROM pg_class WHERE relname = 'records'")
    ).scalar_one_or_none()
    records = max(float(records or 0), matches, 1.0)
    return matches <= math.sqrt(needed * records)


def _walk(
    session: Session, query: SearchQuery, where: list[str], params: dict[str, Any], offset: int, limit: int
) -> list[int]:
    """Return one page of the records passing `where`, walking the title (or year) index in order.

    Records without a year come last in year order. SQLite keeps NULL last in a descending walk of
    the year index; PostgreSQL's index on (year, id) walked backwards gives NULL first, so there the
    dated records are read first and then, if the page is not full, those without a year.
    """
    if _is_sqlite(session):
        index = "ix_records_year_id" if query.sort == Sort.YEAR else "ix_records_title_sort"
        return _page(
            session, f"records r INDEXED BY {index}", where, _order(session, query), params, offset, limit
        )
    if query.sort != Sort.YEAR:
        return _page(session, "records r", where, _order(session, query), params, offset, limit)
    dated = _page(
        session, "records r", [*where, "r.year IS NOT NULL"], "r.year DESC, r.id DESC", params, offset, limit
    )
    if len(dated) == limit:
        return dated
    skip = 0
    if not dated and offset:
        conditions = " AND ".join([*where, "r.year IS NOT NULL"])
        sql = f"SELECT count(*) FROM records r WHERE {conditions}"  # noqa: S608
        count = session.execute(text(sql), params).scalar_one()
        skip = max(offset - count, 0)
    undated = _page(
        session, "records r", [*where, "r.year IS NULL"], "r.id DESC", params, skip, limit - len(dated)
    )
    return dated + undated


def _page(
    session: Session,
    source: str,
    where: list[str],
    order: str,
    params: dict[str, Any],
    offset: int,
    limit: int,
) -> list[int]:
    """Run SELECT r.id FROM `source` WHERE … ORDER BY `order` with a limit and an offset."""
    conditions = " WHERE " + " AND ".join(where) if where else ""
    sql = f"SELECT r.id FROM {source}{conditions} ORDER BY {order} LIMIT :page_limit OFFSET :page_offset"  # noqa: S608
    return [
        row[0] for row in session.execute(text(sql), {**params, "page_limit": limit, "page_offset": offset})
    ]


def _ids_browse(session: Session, query: SearchQuery, offset: int, limit: int) -> tuple[list[int], int, bool]:
    """Return one page of records chosen by filters alone (no words), in title or year order."""
    where, params = _filters(query)
    params.update(limit=limit, offset=offset)
    order = _order(session, query)
    if not where:
        total = session.execute(text("SELECT count(*) FROM records")).scalar_one()
        return _walk(session, query, [], {}, offset, limit), min(total, COUNT_LIMIT), total > COUNT_LIMIT
    selected = _filter_ids(session, query, COUNT_LIMIT + 1)
    bounded = len(selected) > COUNT_LIMIT
    if not bounded:
        sql = text(
            f"SELECT r.id FROM records r WHERE r.id IN :ids ORDER BY {order} LIMIT :limit OFFSET :offset"  # noqa: S608
        ).bindparams(bindparam("ids", expanding=True))
        params = {"ids": selected or [0], "limit": limit, "offset": offset}
        return [row[0] for row in session.execute(sql, params)], len(selected), False
    # Many records pass: walk them in order through the sort index, checking the filters.
    return _walk(session, query, where, params, offset, limit), COUNT_LIMIT, True


# --- hits ------------------------------------------------------------------------------------------


def _hits(session: Session, ids: list[int], matched: dict[int, str]) -> list[Hit]:
    """Load the display columns and copy counts of these records, in the given order."""
    if not ids:
        return []
    rows = session.execute(
        text(
            "SELECT id, title, main_author, responsibility, year, publisher, isbn, classification, "
            "language FROM records WHERE id IN :ids"
        ).bindparams(bindparam("ids", expanding=True)),
        {"ids": ids},
    ).all()
    hits = {
        row[0]: Hit(
            id=row[0],
            title=row[1],
            main_author=row[2],
            responsibility=row[3],
            year=row[4],
            publisher=row[5],
            isbn=row[6],
            classification=row[7],
            language=row[8],
            matched=matched.get(row[0]),
        )
        for row in rows
    }
    items = session.execute(
        text("SELECT record_id, call_number, status FROM items WHERE record_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": ids},
    )
    for record_id, call_number, status in items:
        hit = hits.get(record_id)
        if hit is None or status == ItemStatus.WITHDRAWN:
            continue
        hit.copies += 1
        if status == ItemStatus.AVAILABLE:
            hit.available += 1
        if call_number and call_number not in hit.call_numbers:
            hit.call_numbers.append(call_number)
    for hit in hits.values():
        hit.call_numbers.sort()
    return [hits[i] for i in ids if i in hits]


def _direct_filtered(session: Session, query: SearchQuery, ids: list[int]) -> list[int]:
    """Keep the directly matched records that also pass the filters."""
    where, params = _filters(query)
    if not ids or not where:
        return ids
    sql = text(
        "SELECT r.id FROM records r WHERE r.id IN :ids AND " + " AND ".join(where)  # noqa: S608
    ).bindparams(bindparam("ids", expanding=True))
    keep = {row[0] for row in session.execute(sql, {**params, "ids": ids})}
    return [i for i in ids if i in keep]


def search(session: Session, query: SearchQuery) -> SearchResult:
    """Return one page of records matching the query's words and filters, best first."""
    query = clean_query(query)
    offset = (query.page - 1) * query.per_page
    if not query.q:
        ids, total, bounded = _ids_browse(session, query, offset, query.per_page)
        return SearchResult(query, total, _hits(session, ids, {}), bounded)
    direct = _direct_matches(session, query.q)
    direct_ids = _direct_filtered(session, query, list(direct))
    terms = parse_terms(query.q)
    if direct_ids and len(query.q.split()) == 1:
        # A code typed alone (ISBN, accession number, barcode) means that book: no word search.
        terms = Terms(exact=[], folded=[], has_marks=False)
    if not terms:
        page_ids = direct_ids[offset : offset + query.per_page]
        return SearchResult(query, len(direct_ids), _hits(session, page_ids, direct))
    if not direct_ids:
        ids, total, bounded = _ids_fulltext(session, query, terms, offset, query.per_page)
        return SearchResult(query, total, _hits(session, ids, direct), bounded)
    # Codes matched directly lead the list, each once (they usually match the full text too).
    ids, total, bounded = _ids_fulltext(session, query, terms, 0, COUNT_LIMIT + len(direct_ids))
    lead = set(direct_ids)
    others = [i for i in ids if i not in lead]
    merged = direct_ids + others
    if not bounded:
        total = len(direct_ids) + total - (len(ids) - len(others))
    return SearchResult(
        query, total, _hits(session, merged[offset : offset + query.per_page], direct), bounded
    )
