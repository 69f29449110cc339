"""Reading and writing the network's sites as CSV: encodings, separators, columns (no Flask, no database)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.errors import N_, DomainError, ValidationError
from app.network.models import SITE_KIND_LABELS, SiteKind
from app.text import fold, nfc

COLUMNS = (
    "code",
    "name",
    "kind",
    "admin_unit_code",
    "served_by_code",
    "address",
    "contact_person",
    "phone",
    "capacity",
    "is_active",
    "notes",
)
REQUIRED_COLUMNS = ("code", "name", "kind")
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-16": "UTF-16",
    "cp1258": "Windows-1258",
}

# Spreadsheet programs run a cell that starts with one of these as a formula; exported values that
# start with one get a leading apostrophe (which spreadsheets hide) and the importer removes it again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_TRUE = {"1", "true", "yes", "y", "x", "co"}
_FALSE = {"0", "false", "no", "n", "khong"}

# Vietnamese names librarians write in spreadsheets, folded (no diacritics, lower case, single spaces).
_KIND_ALIASES = {
    "thu vien tinh": SiteKind.PROVINCIAL_LIBRARY,
    "thu vien cap tinh": SiteKind.PROVINCIAL_LIBRARY,
    "thu vien huyen": SiteKind.DISTRICT_LIBRARY,
    "thu vien thanh pho": SiteKind.DISTRICT_LIBRARY,
    "thu vien huyen thanh pho": SiteKind.DISTRICT_LIBRARY,
    "thu vien cap huyen": SiteKind.DISTRICT_LIBRARY,
    "chi nhanh": SiteKind.BRANCH,
    "phan vien": SiteKind.BRANCH,
    "tram sach": SiteKind.BRANCH,
    "diem sach": SiteKind.BRANCH,
    "phan vien tram diem sach": SiteKind.BRANCH,
    "diem buu dien van hoa xa": SiteKind.POST_CULTURE_POINT,
    "diem bdvhx": SiteKind.POST_CULTURE_POINT,
    "bdvhx": SiteKind.POST_CULTURE_POINT,
    "thu vien truong hoc": SiteKind.SCHOOL_LIBRARY,
    "thu vien truong": SiteKind.SCHOOL_LIBRARY,
    "diem luan chuyen khac": SiteKind.OTHER_POINT,
    "diem luan chuyen": SiteKind.OTHER_POINT,
}


class CsvFileError(ValidationError):
    """The file as a whole cannot be used (unreadable encoding, no header, unknown columns)."""


@dataclass
class CsvRow:
    """One data row of the file: its first line number, its values by column, and what is wrong."""

    line: int
    values: dict[str, str]
    errors: list[DomainError] = field(default_factory=list)

    @property
    def code(self) -> str:
        return (self.values.get("code") or "").strip().upper()

    @property
    def is_bad(self) -> bool:
        return bool(self.errors)


@dataclass
class ParsedCsv:
    """A decoded file: the columns its header names, the data rows, and how it was encoded."""

    columns: list[str]
    rows: list[CsvRow]
    encoding: str
    delimiter: str


def _simplify(value: str) -> str:
    """Fold a label for matching: no diacritics, lower case, punctuation to single spaces."""
    return " ".join(re.sub(r"[\W_]+", " ", fold(value)).split())


_KIND_LOOKUP: dict[str, SiteKind] = {
    **{_simplify(k.value): k for k in SiteKind},
    **{_simplify(label): k for k, label in SITE_KIND_LABELS.items()},
    **_KIND_ALIASES,
}


def parse_kind(value: str | None) -> SiteKind | None:
    """Return the site kind named by an enum value, its English label or a common Vietnamese name."""
    if not value:
        return None
    return _KIND_LOOKUP.get(_simplify(value))


def parse_bool(value: str | None) -> bool | None:
    """Return True/False for 1/0, true/false, yes/no, có/không (any case); None when unrecognised."""
    word = fold(value or "").strip()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return None


def decode(data: bytes) -> tuple[str, str]:
    """Return the text of a file and the encoding used: UTF-8 (with or without BOM), UTF-16, cp1258."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ["utf-16"]
    else:
        encodings = ["utf-8", "cp1258"]
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            break  # a binary file (or a spreadsheet saved in its own format)
        return text, encoding
    raise CsvFileError(
        N_("The file cannot be read as text. Save it as CSV in UTF-8 (or Windows-1258) and try again.")
    )


def detect_delimiter(header_line: str) -> str:
    """Return the separator used by a header line: the most frequent of comma, semicolon and tab."""
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _unprotect(value: str) -> str:
    """Remove the apostrophe the exporter put in front of a formula-like value."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@":
        return value[1:]
    return value


def read_sites_csv(data: bytes) -> ParsedCsv:
    """Decode and split a sites file into rows; raise CsvFileError when it has no usable header.

    Row-level problems (a wrong number of fields) are recorded on the row, not raised.
    Every value is NFC-normalised and stripped of surrounding spaces.
    """
    text, encoding = decode(data)
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), None)
    if first is None:
        raise CsvFileError(N_("The file is empty."))
    delimiter = detect_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: list[str] | None = None
    rows: list[CsvRow] = []
    last_line = 0
    try:
        for record in reader:
            start, last_line = last_line + 1, reader.line_num
            cells = [nfc(cell).strip() for cell in record]
            if not any(cells):
                continue  # blank lines and rows of empty cells that spreadsheets leave behind
            if columns is None:
                columns = _header(cells)
                continue
            row = CsvRow(line=start, values={})
            if len(cells) != len(columns):
                # Spreadsheets pad rows with empty trailing cells; only real values count.
                while len(cells) > len(columns) and not cells[-1]:
                    cells.pop()
                if len(cells) != len(columns):
                    row.errors.append(
                        ValidationError(
                            N_("The row has %(found)d fields; the header has %(expected)d."),
                            found=len(cells),
                            expected=len(columns),
                        )
                    )
            row.values = {name: _unprotect(value) for name, value in zip(columns, cells, strict=False)}
            rows.append(row)
    except csv.Error as err:
        raise CsvFileError(
            N_("The file is not valid CSV near line %(line)d: %(reason)s"),
            line=reader.line_num,
            reason=str(err),
        ) from None
    if columns is None:
        raise CsvFileError(N_("The file is empty."))
    return ParsedCsv(columns=columns, rows=rows, encoding=encoding, delimiter=delimiter)


def _header(cells: list[str]) -> list[str]:
    names = [cell.strip().lower().lstrip("\ufeff") for cell in cells]
    while names and not names[-1]:
        names.pop()
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise CsvFileError(
            N_("Unknown column(s) in the header: %(names)s. The columns are: %(columns)s."),
            names=", ".join(n or '""' for n in unknown),
            columns=", ".join(COLUMNS),
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise CsvFileError(N_("Repeated column(s) in the header: %(names)s."), names=", ".join(repeated))
    missing = [n for n in REQUIRED_COLUMNS if n not in names]
    if missing:
        raise CsvFileError(
            N_("The header row must name the columns %(names)s (missing: %(missing)s)."),
            names=", ".join(REQUIRED_COLUMNS),
            missing=", ".join(missing),
        )
    return names


def _protect(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def site_to_row(site: Any) -> dict[str, str]:
    """Return a site's values as CSV cells (codes for the unit and the serving library)."""
    return {
        "code": site.code,
        "name": site.name,
        "kind": site.kind,
        "admin_unit_code": site.admin_unit.code if site.admin_unit else "",
        "served_by_code": site.served_by.code if site.served_by else "",
        "address": site.address or "",
        "contact_person": site.contact_person or "",
        "phone": site.phone or "",
        "capacity": "" if site.capacity is None else str(site.capacity),
        "is_active": "1" if site.is_active else "0",
        "notes": site.notes or "",
    }


def write_sites_csv(rows: Iterable[dict[str, str]], delimiter: str = ",") -> str:
    """Return CSV text: the header row, then one line per row (the caller adds a BOM if wanted)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_protect(row.get(name, "") or "") for name in COLUMNS])
    return out.getvalue()
