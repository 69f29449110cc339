"""The accession registers of a library for a period, as PDF (A4 landscape) or XLSX.

- The general register ("sổ đăng ký tổng quát"): Part I the received intakes (one line each, by
  running number), Part II the withdrawals (one line per set of minutes), Part III the closed stock
  checks.
- The individual register ("sổ đăng ký cá biệt"): one line per copy entered in the period, in
  accession-number order, with the intake's running number and the withdrawal when it left.

A register is a list of sections whose rows are read from the database only when written, in chunks
(`yield_per`), and drawn page by page on a reportlab canvas with fixed-height rows: the page count is
known from a COUNT beforehand ("Trang N/M"), memory stays flat and 20,000 copies take a few seconds.
Every page shows the total brought forward ("Mang sang"), the page total ("Cộng trang") and the running
total ("Cộng dồn"). The wording is fixed Vietnamese: these are state forms printed on paper.
No Flask here: callers pass a Session and plain values.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfgen import canvas
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import N_, NotFound, ValidationError
from app.network.models import LIBRARY_KINDS, Site
from app.timeutil import LOCAL_TZ, to_local
from catalog.acquisitions.models import (
    Intake,
    IntakeItem,
    IntakeLine,
    IntakeStatus,
    Supplier,
    Withdrawal,
    WithdrawalLine,
)
from catalog.acquisitions.stockcheck_models import StockCheck, StockCheckStatus
from catalog.models import Item, Record

KINDS = ("general", "individual")
FORMATS = ("pdf", "xlsx")
CHUNK = 1000  # rows read from the database at a time

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"

SOURCE_LABELS = {
    "purchase": "Mua",
    "donation": "Biếu tặng",
    "legal_deposit": "Lưu chiểu",
    "exchange": "Trao đổi",
    "programme": "Kinh phí chương trình",
}
REASON_LABELS = {
    "lost": "Mất",
    "damaged": "Hư hỏng",
    "outdated": "Lạc hậu nội dung",
    "lost_in_rotation": "Mất khi luân chuyển",
    "other": "Khác",
}
# Languages of Vietnam's ethnic minorities (MARC codes and ISO 639-2/3 codes seen in records).
MINORITY_LANGUAGES = frozenset({"tai", "tdd", "blt", "tmp", "hmn", "mww", "hnj", "tyz", "nut", "kjm", "cmo"})

# --- the data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column of a register: heading (may hold "\\n"), width on paper, kind of value, summed or not."""

    header: str
    width_mm: float
    kind: str = "text"  # text, int (as is: numbers, years), count and money (dots between thousands), date
    total: bool = False
    unique: bool = False  # a different value on every line (not worth remembering how it was drawn)


@dataclass
class Section:
    """A table of a register: its columns, how many rows it has and how to read them (once)."""

    title: str
    columns: list[Column]
    row_count: int
    rows: Callable[[], Iterable[Sequence[Any]]]
    count_unit: str = ""  # when set, the totals rows also say how many lines ("45 bản")
    sheet_name: str = "Sheet"


@dataclass
class Register:
    """A register ready to be written: who, which, when, and its sections."""

    library_name: str
    title: str
    start: date
    end: date
    sections: list[Section] = field(default_factory=list)
    landscape: bool = True

    @property
    def period(self) -> str:
        """The period as printed: "Từ ngày 01/01/2026 đến ngày 31/12/2026"."""
        return f"Từ ngày {fmt_date(self.start)} đến ngày {fmt_date(self.end)}"


def fmt_date(day: date | None) -> str:
    """Return a date as dd/mm/yyyy (empty for None)."""
    return day.strftime("%d/%m/%Y") if day else ""


def fmt_number(value: int | None) -> str:
    """Return a whole number with dots between thousands, the Vietnamese way ("1.250.000")."""
    return "" if value is None else f"{value:,}".replace(",", ".")


def _library(session: Session, library_id: int) -> Site:
    site = session.get(Site, library_id)
    if site is None or site.kind not in LIBRARY_KINDS:
        raise NotFound(N_("No such library."))
    return site


def find_library(session: Session, code: str) -> Site:
    """Return the library with this code (any case), or raise NotFound."""
    site = session.scalar(select(Site).where(func.upper(Site.code) == code.strip().upper()))
    if site is None or site.kind not in LIBRARY_KINDS:
        raise NotFound(N_("No library with the code %(code)s."), code=code)
    return site


def check_period(start: date, end: date) -> None:
    """Raise ValidationError when the period is upside down or absurdly long."""
    if start > end:
        raise ValidationError(N_("The start of the period is after its end."), field="start")
    if (end - start).days > 366 * 100:
        raise ValidationError(N_("The period is too long."), field="end")


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Return the instants where the local days `start` … `end` (inclusive) begin and end."""
    return (
        datetime.combine(start, time(), LOCAL_TZ),
        datetime.combine(end + timedelta(days=1), time(), LOCAL_TZ),
    )


def _local_day(value: datetime | None) -> date | None:
    local = to_local(value)
    return local.date() if local else None


# --- the individual register --------------------------------------------------------------------

INDIVIDUAL_COLUMNS = [
    Column("Ngày vào sổ", 20, "date"),
    Column("Số ĐKCB", 24, unique=True),
    Column("Tác giả và tên sách", 78),
    Column("Nơi xuất bản,\nnhà xuất bản", 44),
    Column("Năm\nXB", 11, "int"),
    Column("Giá tiền (đ)", 22, "money", total=True),
    Column("Số vào sổ\ntổng quát", 17, "int"),
    Column("Ký hiệu\nxếp giá", 25),
    Column("Số, ngày biên bản\nxuất", 36),
]


def _individual_query(library_id: int, start: date, end: date):
    low, high = _utc_bounds(start, end)
    return (
        select(
            Item.created_at,
            Item.accession_number,
            Record.main_author,
            Record.title,
            Record.place,
            Record.publisher,
            Record.year,
            Item.price_vnd,
            Intake.register_number,
            Item.call_number,
            Withdrawal.minutes_number,
            Withdrawal.withdrawal_date,
        )
        .join(Record, Record.id == Item.record_id)
        .outerjoin(IntakeItem, IntakeItem.item_id == Item.id)
        .outerjoin(IntakeLine, IntakeLine.id == IntakeItem.intake_line_id)
        .outerjoin(Intake, Intake.id == IntakeLine.intake_id)
        .outerjoin(WithdrawalLine, WithdrawalLine.item_id == Item.id)
        .outerjoin(Withdrawal, Withdrawal.id == WithdrawalLine.withdrawal_id)
        .where(Item.library_id == library_id, Item.created_at >= low, Item.created_at < high)
    )


def author_title(author: str | None, title: str | None) -> str:
    """Return "Author. Title" (or the title alone) as the register prints it."""
    author = (author or "").strip().rstrip(".,")
    title = (title or "").strip()
    return f"{author}. {title}" if author else title


def place_publisher(place: str | None, publisher: str | None) -> str:
    """Return "Place: Publisher" (either part may be missing)."""
    place = (place or "").strip().rstrip(" :")
    publisher = (publisher or "").strip()
    return f"{place}: {publisher}" if place and publisher else (place or publisher)


def individual_rows(session: Session, library_id: int, start: date, end: date) -> Iterator[list[Any]]:
    """Yield the individual register's lines (one per copy, accession order), read in chunks."""
    stmt = _individual_query(library_id, start, end).order_by(Item.accession_number)
    result = session.execute(stmt.execution_options(yield_per=CHUNK))
    for row in result:
        withdrawn = ""
        if row.minutes_number is not None:
            withdrawn = f"{row.minutes_number}, {fmt_date(row.withdrawal_date)}".strip(", ")
        yield [
            _local_day(row.created_at),
            row.accession_number,
            author_title(row.main_author, row.title),
            place_publisher(row.place, row.publisher),
            row.year,
            row.price_vnd,
            row.register_number,
            row.call_number,
            withdrawn,
        ]


def individual_register(session: Session, library_id: int, start: date, end: date) -> Register:
    """Return the individual register of a library: the copies entered from `start` to `end`."""
    check_period(start, end)
    library = _library(session, library_id)
    count = session.scalar(
        select(func.count()).select_from(_individual_query(library_id, start, end).subquery())
    )
    section = Section(
        title="",
        columns=INDIVIDUAL_COLUMNS,
        row_count=count or 0,
        rows=lambda: individual_rows(session, library_id, start, end),
        count_unit="bản",
        sheet_name="Sổ cá biệt",
    )
    return Register(library.name, "SỔ ĐĂNG KÝ CÁ BIỆT", start, end, [section])


# --- the general register -----------------------------------------------------------------------

PART1_COLUMNS = [
    Column("Số TT\nvào sổ", 15, "int"),
    Column("Ngày vào sổ", 19, "date"),
    Column("Số chứng từ", 30),
    Column("Nguồn cung cấp", 58),
    Column("Tổng số\nbản", 17, "count", total=True),
    Column("Số tên\nsách", 16, "count", total=True),
    Column("Tiếng\nViệt", 16, "count", total=True),
    Column("Tiếng\ndân tộc", 16, "count", total=True),
    Column("Ngoại\nvăn", 16, "count", total=True),
    Column("Giá tiền (đ)", 28, "money", total=True),
    Column("Ghi chú", 47),
]
PART2_COLUMNS = [
    Column("STT", 12, "int"),
    Column("Ngày xuất", 21, "date"),
    Column("Số biên bản", 35),
    Column("Lý do xuất", 42),
    Column("Số bản", 18, "count", total=True),
    Column("Giá tiền (đ)", 28, "money", total=True),
    Column("Số ĐKCB", 84),
    Column("Ghi chú", 37),
]
PART3_COLUMNS = [
    Column("STT", 12, "int"),
    Column("Ngày kiểm kê", 24, "date"),
    Column("Kho, vị trí", 62),
    Column("Số bản\ntheo sổ", 26, "count"),
    Column("Số bản\ncó", 26, "count"),
    Column("Số bản\nthiếu", 26, "count"),
    Column("Đang\nluân chuyển", 26, "count"),
    Column("Ghi chú", 75),
]


def language_group(code: str | None) -> str:
    """Return "vie", "minority" or "foreign" for a record's language (no language: Vietnamese)."""
    code = (code or "").strip().lower()
    if not code or code == "vie":
        return "vie"
    return "minority" if code in MINORITY_LANGUAGES else "foreign"


def intake_rows(session: Session, library_id: int, start: date, end: date) -> list[list[Any]]:
    """Return Part I: one line per intake received in the period, by running number."""
    low, high = _utc_bounds(start, end)
    intakes = session.execute(
        select(Intake, Supplier.name)
        .outerjoin(Supplier, Supplier.id == Intake.supplier_id)
        .where(
            Intake.library_id == library_id,
            Intake.status == IntakeStatus.RECEIVED.value,
            Intake.received_at >= low,
            Intake.received_at < high,
        )
        .order_by(Intake.register_number)
    ).all()
    ids = [intake.id for intake, _ in intakes]
    lines: dict[int, list[tuple[int, int | None, int, str | None]]] = {i: [] for i in ids}
    for start_at in range(0, len(ids), 900):
        for intake_id, copies, price, record_id, language in session.execute(
            select(
                IntakeLine.intake_id,
                IntakeLine.copies,
                IntakeLine.unit_price_vnd,
                IntakeLine.record_id,
                Record.language,
            )
            .join(Record, Record.id == IntakeLine.record_id)
            .where(IntakeLine.intake_id.in_(ids[start_at : start_at + 900]))
        ):
            lines[intake_id].append((copies, price, record_id, language))
    rows = []
    for intake, supplier_name in intakes:
        by_language = {"vie": 0, "minority": 0, "foreign": 0}
        for copies, _price, _record, language in lines[intake.id]:
            by_language[language_group(language)] += copies
        doc = intake.document_number
        if intake.intake_date:
            doc = f"{doc}, {fmt_date(intake.intake_date)}" if doc else fmt_date(intake.intake_date)
        source = SOURCE_LABELS.get(intake.source, intake.source)
        notes = "; ".join(p for p in (intake.fund, intake.notes.replace("\n", " ")) if p)
        rows.append(
            [
                intake.register_number,
                _local_day(intake.received_at),
                doc,
                f"{source}: {supplier_name}" if supplier_name else source,
                sum(c for c, *_ in lines[intake.id]),
                len({r for _, _, r, _ in lines[intake.id]}),
                by_language["vie"],
                by_language["minority"],
                by_language["foreign"],
                sum(c * (p or 0) for c, p, *_ in lines[intake.id]),
                notes,
            ]
        )
    return rows


def _number_list(numbers: list[str], limit: int = 6) -> str:
    numbers = sorted(numbers)
    if len(numbers) <= limit:
        return ", ".join(numbers)
    return ", ".join(numbers[:limit]) + f", … ({len(numbers)})"


def withdrawal_rows(session: Session, library_id: int, start: date, end: date) -> list[list[Any]]:
    """Return Part II: one line per set of withdrawal minutes dated in the period."""
    withdrawals = session.scalars(
        select(Withdrawal)
        .where(
            Withdrawal.library_id == library_id,
            Withdrawal.withdrawal_date >= start,
            Withdrawal.withdrawal_date <= end,
        )
        .order_by(Withdrawal.withdrawal_date, Withdrawal.id)
    ).all()
    rows = []
    for n, w in enumerate(withdrawals, 1):
        numbers = [line.accession_number for line in w.lines]
        rows.append(
            [
                n,
                w.withdrawal_date,
                w.minutes_number,
                REASON_LABELS.get(w.reason, w.reason),
                len(numbers),
                sum(line.price_vnd or 0 for line in w.lines),
                _number_list(numbers),
                w.notes.replace("\n", " "),
            ]
        )
    return rows


def stock_check_rows(session: Session, library_id: int, start: date, end: date) -> list[list[Any]]:
    """Return Part III: one line per stock check closed in the period."""
    low, high = _utc_bounds(start, end)
    checks = session.scalars(
        select(StockCheck)
        .where(
            StockCheck.library_id == library_id,
            StockCheck.status == StockCheckStatus.CLOSED.value,
            StockCheck.closed_at >= low,
            StockCheck.closed_at < high,
        )
        .order_by(StockCheck.closed_at, StockCheck.id)
    ).all()
    return [
        [
            n,
            _local_day(c.closed_at),
            c.location or "Toàn thư viện",
            c.expected_count,
            c.found_count,
            c.missing_count,
            c.away_count,
            c.notes.replace("\n", " "),
        ]
        for n, c in enumerate(checks, 1)
    ]


def general_register(session: Session, library_id: int, start: date, end: date) -> Register:
    """Return the general register of a library for a period: intakes, withdrawals, stock checks."""
    check_period(start, end)
    library = _library(session, library_id)
    parts = [
        ("PHẦN I. VÀO SỔ TÀI LIỆU (CÁC ĐỢT BỔ SUNG)", PART1_COLUMNS, intake_rows, "Phần I - Vào sổ"),
        ("PHẦN II. XUẤT TÀI LIỆU (THANH LÝ)", PART2_COLUMNS, withdrawal_rows, "Phần II - Xuất"),
        ("PHẦN III. KIỂM KÊ KHO", PART3_COLUMNS, stock_check_rows, "Phần III - Kiểm kê"),
    ]
    sections = []
    for title, columns, read, sheet in parts:
        rows = read(session, library_id, start, end)
        sections.append(Section(title, columns, len(rows), lambda rows=rows: rows, sheet_name=sheet))
    return Register(library.name, "SỔ ĐĂNG KÝ TỔNG QUÁT", start, end, sections)


def build_register(session: Session, library_id: int, kind: str, start: date, end: date) -> Register:
    """Return the register of this kind ("general" or "individual")."""
    if kind == "general":
        return general_register(session, library_id, start, end)
    if kind == "individual":
        return individual_register(session, library_id, start, end)
    raise ValidationError(N_("Unknown register."), field="kind")


def write_register(register: Register, fmt: str, out: BinaryIO) -> None:
    """Write a register as "pdf" or "xlsx" to a binary file."""
    if fmt == "pdf":
        write_pdf(register, out)
    elif fmt == "xlsx":
        write_xlsx(register, out)
    else:
        raise ValidationError(N_("Unknown format."), field="format")


def file_name(register_kind: str, library_code: str, start: date, end: date, fmt: str) -> str:
    """Return a download name such as so-ca-biet_TVT_2026-01-01_2026-12-31.pdf."""
    stem = "so-tong-quat" if register_kind == "general" else "so-ca-biet"
    return f"{stem}_{library_code}_{start.isoformat()}_{end.isoformat()}.{fmt}"


# --- PDF ----------------------------------------------------------------------------------------

FONT_SIZE = 7.5
HEAD_SIZE = 7.5
ROW_H = 11.0  # points per line of the table
MARGIN = 10 * mm


class _Widths:
    """String widths from a per-character cache (reportlab's own stringWidth is slow per call)."""

    def __init__(self, font: str) -> None:
        self.font = font
        self.cache: dict[str, float] = {}

    def width(self, text: str, size: float) -> float:
        cache = self.cache
        total = 0.0
        for ch in text:
            w = cache.get(ch)
            if w is None:
                w = cache[ch] = pdfmetrics.stringWidth(ch, self.font, 1000)
            total += w
        return total * size / 1000

    def fit(self, text: str, width: float, size: float) -> str:
        """Return the text cut (with "…") so that it fits the width."""
        if self.width(text, size) <= width:  # the usual case
            return text
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.width(text[:mid] + "…", size) <= width:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo].rstrip() + "…"


def _ensure_fonts() -> None:
    """Register the DejaVu Sans fonts shipped in app/fonts with reportlab (once)."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    from pathlib import Path

    from reportlab.pdfbase.ttfonts import TTFont

    font_dir = Path(__file__).resolve().parents[2] / "app" / "fonts"
    pdfmetrics.registerFont(TTFont(FONT, str(font_dir / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(font_dir / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def _cell_text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "date":
        return fmt_date(value)
    if kind in ("money", "count"):
        return fmt_number(value)
    if kind == "int":
        return str(value)
    return str(value).replace("\n", " ")


def _section_pages(section: Section, rows_per_page: int) -> int:
    return max(1, math.ceil(section.row_count / rows_per_page))


def _layout(page_size: tuple[float, float]) -> tuple[float, float, float]:
    """Return (table top y, header height, rows per page) for a page size."""
    _, height = page_size
    top = height - MARGIN - 34  # three heading lines
    head_h = 2 * 9.0 + 4
    bottom = MARGIN + 14  # the page number line
    # Brought forward on top, page total and running total at the bottom: three extra lines.
    rows = int((top - head_h - bottom) // ROW_H) - 3
    return top, head_h, rows


class _Cache:
    """What one document has measured and encoded already: the same strings recur on every page."""

    LIMIT = 20_000

    def __init__(self) -> None:
        self.widths = {False: _Widths(FONT), True: _Widths(FONT_BOLD)}
        self.fitted: dict[tuple[bool, float, str], tuple[str, float]] = {}
        self.encoded: dict[tuple[bool, str], str] = {}

    def trim(self) -> None:
        """Forget everything once the caches are large (memory stays flat on long registers)."""
        if len(self.fitted) > self.LIMIT:
            self.fitted.clear()
        if len(self.encoded) > self.LIMIT:
            self.encoded.clear()


class _Page:
    """The text of one page of a section, written as PDF text operators in two text objects."""

    def __init__(self, c: canvas.Canvas, section: Section, xs: list[float], cache: _Cache) -> None:
        self.c = c
        self.section = section
        self.cols = section.columns
        self.xs = xs
        self.cache = cache
        self.texts = {False: c.beginText(), True: c.beginText()}
        self.texts[False].setFont(FONT, FONT_SIZE)
        self.texts[True].setFont(FONT_BOLD, FONT_SIZE)
        self.total_idx = [i for i, col in enumerate(self.cols) if col.total]
        self.label_idx = next(
            (i for i, col in enumerate(self.cols) if not col.total and col.width_mm >= 30), 0
        )

    def put(self, i: int, value: str, row_y: float, bold: bool = False) -> None:
        """Write a value in column i of the line whose baseline is row_y (cut to fit)."""
        col, xs, cache = self.cols[i], self.xs, self.cache
        room = xs[i + 1] - xs[i] - 4
        key = (bold, room, value)
        hit = None if col.unique else cache.fitted.get(key)
        if hit is None:
            measure = cache.widths[bold]
            fitted = measure.fit(value, room, FONT_SIZE)
            hit = (fitted, measure.width(fitted, FONT_SIZE))
            if not col.unique:
                cache.fitted[key] = hit
        fitted, width = hit
        if col.kind in ("int", "count", "money"):
            x = xs[i + 1] - 2 - width
        elif col.kind == "date":
            x = xs[i] + (xs[i + 1] - xs[i] - width) / 2
        else:
            x = xs[i] + 2
        text = self.texts[bold]
        encoded = None if col.unique else cache.encoded.get((bold, fitted))
        if encoded is None:
            # reportlab's own encoding of the string (TrueType subsets, escapes); starting from "no
            # subset selected" makes it select its subset itself, so the result can be reused anywhere.
            text._curSubset = None
            encoded = text._formatText(fitted)
            if not col.unique:
                cache.encoded[(bold, fitted)] = encoded
        # textOut would also measure the string to move the cursor; every cell sets its own origin.
        text._code.append(f"1 0 0 1 {x:.2f} {row_y:.2f} Tm {encoded}")
        text._curSubset = None

    def totals(self, label: str, values: list[int], count: int, row_y: float) -> None:
        """Write a totals line: its label (with the number of lines when counted) and the sums."""
        unit = self.section.count_unit
        self.put(self.label_idx, f"{label}: {count} {unit}" if unit else label, row_y, True)
        for i in self.total_idx:
            self.put(i, fmt_number(values[i]), row_y, True)

    def finish(self) -> None:
        """Send the page's text to the canvas."""
        self.c.drawText(self.texts[False])
        self.c.drawText(self.texts[True])


def _compress_last_page(c: canvas.Canvas) -> None:
    """Compress the page just finished now rather than when the document is saved.

    reportlab keeps every page's content as text until `save()`; a 500-page register would hold
    tens of MB. Compressed at once, a page costs a few KB, so memory stays flat with the page count.
    """
    try:
        page = c._doc.Pages.pages[-1]
    except (AttributeError, IndexError):
        return
    stream = getattr(page, "stream", None)
    if not stream or getattr(page, "Contents", None):
        return
    dictionary = pdfdoc.PDFDictionary()
    dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])
    data = stream.encode("utf-8") if isinstance(stream, str) else stream
    page.Contents = pdfdoc.PDFStream(dictionary, zlib.compress(data), filters=[])
    page.stream = None


def _heading(
    c: canvas.Canvas, register: Register, section: Section, page_size, page_no: int, total: int
) -> None:
    page_w, page_h = page_size
    c.setFont(FONT_BOLD, 9)
    c.drawString(MARGIN, page_h - MARGIN - 8, register.library_name.upper())
    c.setFont(FONT, 8)
    c.drawRightString(page_w - MARGIN, page_h - MARGIN - 8, f"Trang {page_no}/{total}")
    c.setFont(FONT_BOLD, 12)
    c.drawCentredString(page_w / 2, page_h - MARGIN - 10, register.title)
    c.setFont(FONT, 8.5)
    c.drawCentredString(page_w / 2, page_h - MARGIN - 21, register.period)
    if section.title:
        c.setFont(FONT_BOLD, 8.5)
        c.drawString(MARGIN, page_h - MARGIN - 31, section.title)


def _table_header(c: canvas.Canvas, section: Section, xs: list[float], top: float, head_h: float) -> None:
    c.setFillGray(0.9)
    c.rect(xs[0], top - head_h, xs[-1] - xs[0], head_h, stroke=0, fill=1)
    c.setFillGray(0)
    c.setFont(FONT_BOLD, HEAD_SIZE)
    for i, col in enumerate(section.columns):
        lines = col.header.split("\n")
        cx = (xs[i] + xs[i + 1]) / 2
        first_y = top - head_h / 2 + (len(lines) - 1) * 4.5 - 2.5
        for k, line in enumerate(lines):
            c.drawCentredString(cx, first_y - k * 9, line)


def write_pdf(register: Register, out: BinaryIO) -> None:
    """Draw a register on A4 pages: heading, repeated table header, totals brought and carried forward."""
    _ensure_fonts()
    page_size = landscape(A4) if register.landscape else A4
    page_w = page_size[0]
    top, head_h, per_page = _layout(page_size)
    total_pages = sum(_section_pages(s, per_page) for s in register.sections)
    c = canvas.Canvas(out, pagesize=page_size, pageCompression=1, invariant=1)
    c.setTitle(f"{register.title.capitalize()} – {register.library_name}")
    c.setAuthor("Trạm Sách")
    cache = _Cache()
    page_no = 0
    for section in register.sections:
        cols = section.columns
        xs = [MARGIN]
        for col in cols:
            xs.append(xs[-1] + col.width_mm * mm)
        has_totals = any(col.total for col in cols) or bool(section.count_unit)
        carried = [0] * len(cols)
        carried_count = 0
        rows_iter = iter(section.rows())
        pages = _section_pages(section, per_page)
        for page_in_section in range(pages):
            page_no += 1
            _heading(c, register, section, page_size, page_no, total_pages)
            _table_header(c, section, xs, top, head_h)
            page = _Page(c, section, xs, cache)
            y = top - head_h
            lines_y = [top, y]
            if has_totals:
                y -= ROW_H
                page.totals("Mang sang", carried, carried_count, y + 3)
                lines_y.append(y)
            page_sum = [0] * len(cols)
            page_count = 0
            for row in itertools.islice(rows_iter, per_page):
                y -= ROW_H
                page_count += 1
                for i, col in enumerate(cols):
                    value = row[i]
                    if value is None or value == "":
                        continue
                    if col.total:
                        page_sum[i] += value
                    page.put(i, _cell_text(value, col.kind), y + 3)
                lines_y.append(y)
            if section.row_count == 0:
                y -= ROW_H
                page.put(page.label_idx, "(Không có)", y + 3)
                lines_y.append(y)
            if has_totals:
                carried = [a + b for a, b in zip(carried, page_sum, strict=True)]
                carried_count += page_count
                y -= ROW_H
                page.totals("Cộng trang", page_sum, page_count, y + 3)
                lines_y.append(y)
                y -= ROW_H
                last = page_in_section == pages - 1
                page.totals("Tổng cộng" if last else "Cộng dồn", carried, carried_count, y + 3)
                lines_y.append(y)
            page.finish()
            c.setLineWidth(0.4)
            c.lines([(xs[0], ly, xs[-1], ly) for ly in lines_y])
            c.lines([(x, top, x, y) for x in xs])
            c.setFont(FONT, 7)
            c.drawString(MARGIN, MARGIN, f"{register.title.capitalize()} – {register.library_name}")
            c.drawRightString(page_w - MARGIN, MARGIN, f"Trang {page_no}/{total_pages}")
            c.showPage()
            _compress_last_page(c)
            cache.trim()
    c.save()


# --- XLSX ---------------------------------------------------------------------------------------


def _styled(ws: Any, value: Any, font: Font | None = None, align: Alignment | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    if font is not None:
        cell.font = font
    if align is not None:
        cell.alignment = align
    return cell


def write_xlsx(register: Register, out: BinaryIO) -> None:
    """Write a register as a workbook (one sheet per section), streamed row by row."""
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for section in register.sections:
        ws = wb.create_sheet(section.sheet_name[:31])
        for i, col in enumerate(section.columns):
            letter = chr(ord("A") + i)
            ws.column_dimensions[letter].width = max(8, col.width_mm * 0.55)
        ws.freeze_panes = "A6"

        ws.append([_styled(ws, register.library_name.upper(), bold)])
        ws.append([_styled(ws, register.title, bold)])
        ws.append([register.period])
        ws.append([_styled(ws, section.title, bold)] if section.title else [])
        ws.append([_styled(ws, col.header.replace("\n", " "), bold, wrap) for col in section.columns])
        totals = [0] * len(section.columns)
        count = 0
        for row in section.rows():
            count += 1
            values = []
            for i, col in enumerate(section.columns):
                value = row[i]
                if col.total and value:
                    totals[i] += value
                if col.kind == "date" and value is not None:
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = "DD/MM/YYYY"
                    values.append(cell)
                else:
                    values.append(value)
            ws.append(values)
        if any(col.total for col in section.columns) or section.count_unit:
            line: list[Any] = [None] * len(section.columns)
            line[0] = _styled(
                ws,
                f"Tổng cộng: {count} {section.count_unit}".strip() if section.count_unit else "Tổng cộng",
                bold,
            )
            for i, col in enumerate(section.columns):
                if col.total:
                    line[i] = _styled(ws, totals[i], bold)
            ws.append(line)
    wb.save(out)
