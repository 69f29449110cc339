"""Copy labels (QR code or Code 128 with the accession number) and spine labels (the call number).

Pure domain code: it reads copies with a SQLAlchemy session and returns label drawing functions for
the label engine (app/labels/engine.py); it knows nothing of Flask. Texts printed on a label come
through the `gettext(msgid, **params)` function the caller passes (the web edge passes Flask-Babel's).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import N_, ValidationError
from app.network.models import Site
from app.text import nfc
from catalog.models import Item, ItemStatus, Record

if TYPE_CHECKING:
    from app.labels.engine import LabelCanvas

Label = Callable[["LabelCanvas"], None]
Gettext = Callable[..., str]

KINDS = ("copy", "spine")
CODES = ("qr", "code128")
ON_UNKNOWN = ("skip", "refuse")
# Copies are read this many accession numbers at a time (one IN (...) query each).
CHUNK = 500
# At most this many accession numbers in one print job (a day's intake is a few hundred).
MAX_ACCESSIONS = 20_000
# How many unknown numbers an error message names before "…".
SHOWN_UNKNOWN = 20

_SPLIT = re.compile(r"[\s,;]+")


def english(msgid: str, **params: Any) -> str:
    """Return the English text of a message (the default when no translation function is given)."""
    return msgid % params if params else msgid


class UnknownAccessions(ValidationError):
    """Some accession numbers are not in the catalogue and the user chose to refuse the job."""

    def __init__(self, message: str, unknown: Sequence[str], **params: Any) -> None:
        self.unknown = list(unknown)
        super().__init__(message, field="accessions", **params)


@dataclass(frozen=True)
class CopyInfo:
    """What a copy or spine label shows about one copy."""

    accession_number: str
    title: str
    call_number: str
    class_number: str
    author_mark: str
    year: int | None
    library_code: str

    @property
    def short_title(self) -> str:
        """Return the title proper: the title without its subtitle or statement of responsibility."""
        return short_title(self.title)

    def spine_lines(self) -> list[str]:
        """Return the call number broken over lines: class number / author mark / year or volume."""
        return spine_lines(self.call_number, self.class_number, self.author_mark, self.year)


def short_title(title: str) -> str:
    """Return the part of an ISBD-punctuated title before " : ", " / ", " = " or " ; "."""
    text = " ".join((title or "").split())
    for mark in (" / ", " : ", " = ", " ; "):
        text = text.split(mark, 1)[0]
    return text.strip(" .:/;=")


def spine_lines(
    call_number: str, class_number: str = "", author_mark: str = "", year: int | None = None
) -> list[str]:
    """Break a call number over spine lines: class number, author mark, then year or volume.

    Copies catalogued here keep the class number and the author mark apart; copies imported from
    852 $h $i or 952 $o only have the whole call number ("895.9223 HOA T.2"), split at spaces: the
    first part is the class number, the second the author mark, the rest (a volume, a year) goes on
    the third line. The record's year fills the third line when the call number has nothing more.
    """
    class_number = (class_number or "").strip()
    author_mark = (author_mark or "").strip()
    call = " ".join((call_number or "").split())
    rest = ""
    if class_number or author_mark:
        known = " ".join(p for p in (class_number, author_mark) if p)
        if call.startswith(known):
            rest = call[len(known) :].strip()
    elif call:
        parts = call.split(" ", 2)
        class_number = parts[0]
        author_mark = parts[1] if len(parts) > 1 else ""
        rest = parts[2] if len(parts) > 2 else ""
    if not (class_number or author_mark or rest):
        return []  # no call number: the caller prints the accession number instead
    third = rest or (str(year) if year else "")
    return [line for line in (class_number, author_mark, third) if line]


def normalise_accession(value: str) -> str:
    """Return an accession number as stored: NFC, no surrounding spaces or quotes, upper case."""
    return nfc(value).strip().strip("\"'").strip().upper()


def parse_accessions(text: str) -> list[str]:
    """Return the accession numbers in typed or pasted text (spaces, commas, semicolons, new lines)."""
    out = []
    for token in _SPLIT.split(text or ""):
        number = normalise_accession(token)
        if number:
            out.append(number)
    return out


def parse_accession_file(data: bytes, filename: str = "") -> list[str]:
    """Return the accession numbers of an uploaded .txt (any separators) or .csv file.

    A CSV file gives the column whose heading names the accession number ("accession…", "số đăng
    ký…", "ĐKCB"), else its first column; a first row without any digit is taken as headings.
    """
    text = data.decode("utf-8-sig", errors="replace")
    if not filename.lower().endswith(".csv"):
        return parse_accessions(text)
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        return []
    column = 0
    if not any(ch.isdigit() for ch in "".join(rows[0])):
        headings = [nfc(cell).strip().lower() for cell in rows.pop(0)]
        for n, heading in enumerate(headings):
            if "accession" in heading or "đăng ký" in heading or "đkcb" in heading or "dkcb" in heading:
                column = n
                break
    return [normalise_accession(row[column]) for row in rows if len(row) > column and row[column].strip()]


def unique_in_order(numbers: Iterable[str]) -> list[str]:
    """Return the numbers without repeats, in the order first seen."""
    return list(dict.fromkeys(numbers))


def accessions_of_records(
    session: Session, record_ids: Sequence[int], *, limit: int = MAX_ACCESSIONS
) -> list[str]:
    """Return the accession numbers of the records' copies (withdrawn ones left out), record by record."""
    order = {rid: n for n, rid in enumerate(dict.fromkeys(record_ids))}
    found: list[tuple[int, str]] = []
    ids = list(order)
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(Item.record_id, Item.accession_number).where(
                Item.record_id.in_(ids[start : start + CHUNK]), Item.status != ItemStatus.WITHDRAWN.value
            )
        )
        found.extend((record_id, number) for record_id, number in rows)
    found.sort(key=lambda row: (order[row[0]], row[1]))
    return [number for _record_id, number in found[:limit]]


def _copy_rows(session: Session, numbers: Sequence[str]) -> dict[str, CopyInfo]:
    """Return the copies of some accession numbers (one query; at most CHUNK numbers) by number."""
    rows = session.execute(
        select(
            Item.accession_number,
            Record.title,
            Item.call_number,
            Item.class_number,
            Item.author_mark,
            Record.year,
            Site.code,
        )
        .join(Record, Record.id == Item.record_id)
        .join(Site, Site.id == Item.library_id)
        .where(Item.accession_number.in_(numbers))
    )
    return {
        number: CopyInfo(number, title or "", call or "", class_number or "", mark or "", year, library_code)
        for number, title, call, class_number, mark, year, library_code in rows
    }


def load_copies(session: Session, accessions: Sequence[str]) -> tuple[list[CopyInfo], list[str]]:
    """Return (copies in the order asked, accession numbers not in the catalogue), reading in chunks."""
    wanted = unique_in_order(normalise_accession(a) for a in accessions if a and a.strip())
    found: dict[str, CopyInfo] = {}
    for start in range(0, len(wanted), CHUNK):
        found.update(_copy_rows(session, wanted[start : start + CHUNK]))
    copies = [found[n] for n in wanted if n in found]
    unknown = [n for n in wanted if n not in found]
    return copies, unknown


def known_accessions(session: Session, accessions: Sequence[str]) -> tuple[list[str], list[str]]:
    """Return (the numbers in the catalogue, the others), normalised, without repeats, in the order asked."""
    wanted = unique_in_order(normalise_accession(a) for a in accessions if a and a.strip())
    known: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        known.update(session.scalars(select(Item.accession_number).where(Item.accession_number.in_(chunk))))
    return [n for n in wanted if n in known], [n for n in wanted if n not in known]


class LazyLabels(Sequence):
    """The labels of known copies, read from the database CHUNK copies at a time while they are drawn.

    Only the accession numbers are held, so a job of 10,000 labels does not keep 10,000 copies' texts in
    memory. Supports len(), iteration and slicing (a preview draws the first sheet only); the session
    must stay open until the labels are drawn.
    """

    def __init__(self, session: Session, numbers: Sequence[str], make: Callable[[CopyInfo], Label]) -> None:
        self._session = session
        self._numbers = list(numbers)
        self._make = make

    def __len__(self) -> int:
        return len(self._numbers)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return LazyLabels(self._session, self._numbers[index], self._make)
        number = self._numbers[index]
        return self._make(_copy_rows(self._session, [number])[number])

    def __iter__(self):
        for start in range(0, len(self._numbers), CHUNK):
            chunk = self._numbers[start : start + CHUNK]
            found = _copy_rows(self._session, chunk)
            for number in chunk:
                if number in found:  # deleted meanwhile: left out
                    yield self._make(found.pop(number))


def copy_address(base_url: str, accession_number: str) -> str:
    """Return the short stable address a copy's QR code holds: BASE_URL/c/<accession number>."""
    from urllib.parse import quote

    return f"{base_url.rstrip('/')}/c/{quote(accession_number, safe='.-_')}"


def unknown_text(unknown: Sequence[str]) -> str:
    """Return the unknown numbers for a message: the first ones, then "…" when there are more."""
    shown = ", ".join(unknown[:SHOWN_UNKNOWN])
    return shown + (", …" if len(unknown) > SHOWN_UNKNOWN else "")


def copy_labels(
    session: Session,
    accessions: Sequence[str],
    *,
    base_url: str,
    kind: str = "copy",
    code: str = "qr",
    on_unknown: str = "skip",
    with_library: bool = True,
    gettext: Gettext = english,
) -> tuple[LazyLabels, list[str]]:
    """Return (one label per known copy, the unknown accession numbers) for a print job.

    The labels are a LazyLabels sequence: the copies are read in chunks while the labels are drawn.

    kind "copy": a QR code (BASE_URL/c/<number>) or a Code 128 barcode (the number itself), the
    accession number in large type, the short title and the call number. kind "spine": the call
    number over lines, with the library's code under it when `with_library`. on_unknown "skip"
    prints the known copies and returns the others; "refuse" raises UnknownAccessions instead.
    Raises ValidationError for an empty selection or when no number is known.
    """
    if kind not in KINDS:
        raise ValidationError(
            N_("Unknown label kind %(kind)s: choose copy or spine."), field="kind", kind=kind
        )
    if code not in CODES:
        raise ValidationError(N_("Unknown code %(code)s: choose qr or code128."), field="code", code=code)
    if on_unknown not in ON_UNKNOWN:
        raise ValidationError(N_("Choose skip or refuse for unknown numbers."), field="on_unknown")
    if not any(a and a.strip() for a in accessions):
        raise ValidationError(N_("No accession number given: nothing to print."), field="accessions")
    if len(accessions) > MAX_ACCESSIONS:
        raise ValidationError(
            N_("At most %(max)d accession numbers at a time."), field="accessions", max=MAX_ACCESSIONS
        )
    known, unknown = known_accessions(session, accessions)
    if unknown and (on_unknown == "refuse" or not known):
        message = (
            N_("Accession numbers not in the catalogue: %(numbers)s. Nothing was printed.")
            if known
            else N_("None of the accession numbers is in the catalogue: %(numbers)s.")
        )
        raise UnknownAccessions(message, unknown, numbers=unknown_text(unknown))
    if kind == "spine":
        return LazyLabels(session, known, lambda c: spine_label(c, with_library=with_library)), unknown
    return LazyLabels(
        session, known, lambda c: copy_label(c, base_url=base_url, code=code, gettext=gettext)
    ), unknown


# --- drawing ------------------------------------------------------------------------------------
# Sizes are in millimetres (label-local, origin top-left), font sizes in points.


def copy_label(info: CopyInfo, *, base_url: str, code: str = "qr", gettext: Gettext = english) -> Label:
    """Return the drawing function of one copy label."""
    address = copy_address(base_url, info.accession_number)
    title = info.short_title or gettext("(no title)")
    call = info.call_number

    def draw_qr(c: LabelCanvas) -> None:
        p = c.padding
        inner_w, inner_h = c.width - 2 * p, c.height - 2 * p
        size = min(inner_h, inner_w * 0.45)
        c.qr(address, p, p + (inner_h - size) / 2, size)
        x = p + size + 1.0
        w = c.width - p - x
        big = min(16.0, max(7.0, inner_h * 0.9))
        top = p
        line_h = inner_h / 4
        c.text(info.accession_number, x, top, w, line_h * 1.3, size=big, min_size=5, bold=True, max_lines=1)
        c.text(title, x, top + line_h * 1.3, w, line_h * 1.8, size=9, min_size=4.5, max_lines=3)
        if call:
            c.text(call, x, top + line_h * 3.1, w, line_h * 0.9, size=8, min_size=4.5, bold=True, max_lines=1)

    def draw_barcode(c: LabelCanvas) -> None:
        p = c.padding
        inner_w, inner_h = c.width - 2 * p, c.height - 2 * p
        bar_h = inner_h * 0.42
        c.code128(info.accession_number, p, p, inner_w, bar_h)
        y = p + bar_h + 0.5
        rest = c.height - p - y
        c.text(
            info.accession_number,
            p,
            y,
            inner_w,
            rest * 0.38,
            size=14,
            min_size=5,
            bold=True,
            align="center",
            max_lines=1,
        )
        y += rest * 0.38
        if call:
            title_w = inner_w * 0.62
            c.text(title, p, y, title_w - 0.5, rest * 0.62, size=7, min_size=4.5, max_lines=2)
            c.text(
                call,
                p + title_w,
                y,
                inner_w - title_w,
                rest * 0.62,
                size=8,
                min_size=4.5,
                bold=True,
                align="right",
                max_lines=2,
            )
        else:
            c.text(title, p, y, inner_w, rest * 0.62, size=7, min_size=4.5, max_lines=2)

    return draw_barcode if code == "code128" else draw_qr


def spine_label(info: CopyInfo, *, with_library: bool = True) -> Label:
    """Return the drawing function of one spine label: the call number over lines, centred."""
    lines = info.spine_lines() or [info.accession_number]
    footer = info.library_code if with_library else ""

    def draw(c: LabelCanvas) -> None:
        p = c.padding
        inner_w, inner_h = c.width - 2 * p, c.height - 2 * p
        foot_h = inner_h * 0.18 if footer else 0.0
        line_h = (inner_h - foot_h) / max(len(lines), 1)
        size = min(14.0, line_h / 0.3528 * 0.8)
        for n, line in enumerate(lines):
            c.text(
                line,
                p,
                p + n * line_h,
                inner_w,
                line_h,
                size=size,
                min_size=4.5,
                bold=n == 0,
                align="center",
                max_lines=1,
            )
        if footer:
            c.text(
                footer,
                p,
                c.height - p - foot_h,
                inner_w,
                foot_h,
                size=min(7.0, foot_h / 0.3528 * 0.8),
                min_size=4,
                align="center",
                max_lines=1,
            )

    return draw
