"""Label engine: sheet and roll templates in millimetres, vector QR codes and barcodes, fitted text, PDF.

# API READY — see /tmp/labels_api.md for the contract (Template, custom_template, LabelCanvas, render_pdf).

Pure domain code: no Flask, no database, no catalogue or rotation. All lengths are millimetres; inside
a label the origin is the label's top-left corner with y growing down. A label is a function that
draws itself on a `LabelCanvas`; `render_pdf` lays labels out on the template's sheets, consuming the
iterable lazily and finishing each page with `showPage()` as soon as it is full, so the labels never
have to be held in memory together (reportlab keeps the compressed page streams until `save()`).
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

import qrcode
import qrcode.base
import qrcode.exceptions
import qrcode.LUT
import qrcode.util
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q
from reportlab import rl_config
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas

from app.errors import N_, ValidationError

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
PT = 25.4 / 72.0  # one typographic point in millimetres

# Vertical extent of DejaVu Sans glyphs in em, measured over Vietnamese capitals with stacked marks
# (Ặ, Ợ reach 1.11 em… at the bold weight slightly more) and descenders (g, ý: 0.21 em).
_ASCENT_EM = 1.14
_DESCENT_EM = 0.25
_PITCH_EM = 1.2  # baseline to baseline
_SIZE_STEP = 0.25  # pt
_ELLIPSIS = "…"
MAX_OFFSET = 20.0  # mm: a larger calibration offset is a typo, not a printer
_EPS = 1e-6

_QR_LEVELS = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}
QR_BORDER = 4  # modules of quiet zone around a QR code
CODE128_QUIET = 10  # modules of quiet zone on each side of a Code 128 barcode


class LabelError(ValidationError):
    """A template, a start position or a selection of labels that cannot be printed."""


def fmt_mm(value: float) -> str:
    """Format a length in mm for a message: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def register_fonts() -> None:
    """Register the bundled DejaVu Sans fonts with reportlab (once; shared names with other PDFs)."""
    registered = pdfmetrics.getRegisteredFontNames()
    if FONT not in registered:
        pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    if FONT_BOLD not in registered:
        pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))


# --- templates ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A page layout: a sheet of rows × columns labels, or a roll with one label per page."""

    name: str
    title: str
    page_width: float
    page_height: float
    columns: int
    rows: int
    label_width: float
    label_height: float
    margin_left: float = 0.0
    margin_top: float = 0.0
    gap_x: float = 0.0
    gap_y: float = 0.0
    roll: bool = False
    padding: float = 1.5

    @property
    def per_page(self) -> int:
        """Labels on one sheet (1 for a roll)."""
        return self.columns * self.rows

    @property
    def used_width(self) -> float:
        """Left margin plus the width of all columns and the gaps between them."""
        return self.margin_left + self.columns * self.label_width + (self.columns - 1) * self.gap_x

    @property
    def used_height(self) -> float:
        """Top margin plus the height of all rows and the gaps between them."""
        return self.margin_top + self.rows * self.label_height + (self.rows - 1) * self.gap_y

    def check(self) -> None:
        """Raise LabelError naming the dimension when the labels do not fit the page."""
        if self.columns < 1 or self.rows < 1:
            raise LabelError(
                N_("A template needs at least one column and one row (got %(columns)s × %(rows)s)."),
                field="columns",
                columns=self.columns,
                rows=self.rows,
            )
        for fieldname, value, message in (
            (
                "label_width",
                self.label_width,
                N_("The label width must be more than 0 mm (got %(value)s mm)."),
            ),
            (
                "label_height",
                self.label_height,
                N_("The label height must be more than 0 mm (got %(value)s mm)."),
            ),
            ("page_width", self.page_width, N_("The page width must be more than 0 mm (got %(value)s mm).")),
            (
                "page_height",
                self.page_height,
                N_("The page height must be more than 0 mm (got %(value)s mm)."),
            ),
        ):
            if not value > 0:
                raise LabelError(message, field=fieldname, value=fmt_mm(value))
        for fieldname, value, message in (
            ("margin_left", self.margin_left, N_("The left margin must not be negative (got %(value)s mm).")),
            ("margin_top", self.margin_top, N_("The top margin must not be negative (got %(value)s mm).")),
            (
                "gap_x",
                self.gap_x,
                N_("The gap between columns must not be negative (got %(value)s mm)."),
            ),
            ("gap_y", self.gap_y, N_("The gap between rows must not be negative (got %(value)s mm).")),
        ):
            if value < 0:
                raise LabelError(message, field=fieldname, value=fmt_mm(value))
        if self.used_width > self.page_width + 0.005:
            raise LabelError(
                N_(
                    "The labels are %(excess)s mm too wide for the page (columns × width + gaps + left "
                    "margin = %(needed)s mm > %(page)s mm)."
                ),
                field="label_width",
                excess=fmt_mm(self.used_width - self.page_width),
                needed=fmt_mm(self.used_width),
                page=fmt_mm(self.page_width),
            )
        if self.used_height > self.page_height + 0.005:
            raise LabelError(
                N_(
                    "The labels are %(excess)s mm too high for the page (rows × height + gaps + top "
                    "margin = %(needed)s mm > %(page)s mm)."
                ),
                field="label_height",
                excess=fmt_mm(self.used_height - self.page_height),
                needed=fmt_mm(self.used_height),
                page=fmt_mm(self.page_height),
            )
        if self.roll and self.per_page != 1:
            raise LabelError(N_("A roll template holds one label per page."), field="columns")
        if self.padding < 0 or 2 * self.padding >= min(self.label_width, self.label_height):
            raise LabelError(
                N_("The inner margin of %(value)s mm leaves no room on the label."),
                field="padding",
                value=fmt_mm(self.padding),
            )

    def origin(self, slot: int) -> tuple[float, float]:
        """Top-left corner of a slot (0-based, row by row) in mm from the page's top-left corner."""
        if not 0 <= slot < self.per_page:
            raise IndexError(slot)
        row, column = divmod(slot, self.columns)
        return (
            self.margin_left + column * (self.label_width + self.gap_x),
            self.margin_top + row * (self.label_height + self.gap_y),
        )


def custom_template(
    *,
    label_width: float,
    label_height: float,
    columns: int = 1,
    rows: int = 1,
    page_width: float = 210.0,
    page_height: float = 297.0,
    margin_left: float | None = None,
    margin_top: float | None = None,
    gap_x: float = 0.0,
    gap_y: float = 0.0,
    roll: bool = False,
    name: str = "custom",
    padding: float | None = None,
) -> Template:
    """Build and check a template of any size; margins left as None centre the labels on the page."""
    if roll:
        page_width, page_height, columns, rows = label_width, label_height, 1, 1
    if margin_left is None:
        margin_left = max(0.0, (page_width - columns * label_width - (columns - 1) * gap_x) / 2)
    if margin_top is None:
        margin_top = max(0.0, (page_height - rows * label_height - (rows - 1) * gap_y) / 2)
    if padding is None:
        padding = 1.5 if min(label_width, label_height) >= 20 else 1.0
    template = Template(
        name=name,
        title=N_("Custom size"),
        page_width=float(page_width),
        page_height=float(page_height),
        columns=int(columns),
        rows=int(rows),
        label_width=float(label_width),
        label_height=float(label_height),
        margin_left=float(margin_left),
        margin_top=float(margin_top),
        gap_x=float(gap_x),
        gap_y=float(gap_y),
        roll=roll,
        padding=float(padding),
    )
    template.check()
    return template


# --- drawing ----------------------------------------------------------------------------------------


@dataclass
class TextFit:
    """How a text was fitted: the lines drawn, the font size, whether it was shortened, the box used.

    `box` is (x, y, width, height) of the area the drawn lines occupy (glyph ascent to descent), in mm
    from the page's top-left corner, like the boxes of codes in a `Placement`.
    """

    text_drawn: list[str]
    size: float
    shortened: bool
    box: tuple[float, float, float, float]


@dataclass
class Placement:
    """Where one label went: page (0-based), slot and absolute box in mm, and what was drawn on it."""

    page: int
    slot: int
    x: float
    y: float
    width: float
    height: float
    texts: list[TextFit] = field(default_factory=list)
    codes: list[tuple[str, str, tuple[float, float, float, float]]] = field(default_factory=list)


@dataclass
class RenderReport:
    """The result of `render_pdf`: pages, the placements (all, or the first pages'), the label count."""

    pages: int
    placements: list[Placement]
    count: int = -1

    def __post_init__(self) -> None:
        if self.count < 0:
            self.count = len(self.placements)


# --- QR codes -----------------------------------------------------------------------------------------
# Speed (issue 5: 1,000 labels in <= 3 s). qrcode's own make() is slow in pure Python in three places:
# it builds the bit stream bit by bit, computes the Reed-Solomon codewords with a polynomial class,
# and, to choose the mask, builds and scores all eight masked matrices (~5-10 ms a code). `_QRCode`
# keeps qrcode's layout code (function patterns, data placement: the matrix is qrcode's, module for
# module) but builds the bit stream in one int, computes the error correction with log/antilog tables,
# and by default uses ONE FIXED MASK (`QR_MASK`) instead of scoring eight.
#
# Why a fixed mask is fine: every one of the eight masks gives a valid QR code that any reader decodes
# (the mask number is in the format information); ISO 18004 only *recommends* the lowest-penalty mask
# to avoid finder-like patterns and large blocks. Our data are short URLs at level M, where the chosen
# mask rarely matters; tests/labels/test_engine_readback.py decodes every code of every template at
# 300 dpi with zxing-cpp. `qr_matrix(..., mask=None)` still makes qrcode's penalty-based choice (faster
# than qrcode: the mask-0 matrix is built once, the other seven derived by XOR of precomputed bit masks
# and scored with bit and string operations); tests/labels/test_qr_masks.py checks both modes against
# the qrcode library, module for module.

QR_MASK = 2  # mask pattern 2: (column % 3 == 0); see above for why one fixed mask is enough

_RUNS = re.compile(r"0{5,}|1{5,}")
_FINDER_LIKE = ("10111010000", "00001011101")


_BINARY = bytes.maketrans(b"\x00\x01", b"01")


def _bits(cells: Iterable[bool]) -> int:
    """The cells (booleans) as the bits of an int, first cell highest."""
    return int(bytes(cells).translate(_BINARY), 2)


@lru_cache(maxsize=64)
def _mask_xors(version: int) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    """For masks 0-7: (row, column) bit masks of the data modules where mask i differs from mask 0."""
    probe = qrcode.QRCode(version=version)
    n = probe.modules_count = version * 4 + 17
    probe.modules = [[None] * n for _ in range(n)]
    probe.setup_position_probe_pattern(0, 0)
    probe.setup_position_probe_pattern(n - 7, 0)
    probe.setup_position_probe_pattern(0, n - 7)
    probe.setup_position_adjust_pattern()
    probe.setup_timing_pattern()
    probe.setup_type_info(True, 0)
    if version >= 7:
        probe.setup_type_number(True)
    data = [[cell is None for cell in row] for row in probe.modules]
    mask0 = qrcode.util.mask_func(0)
    result = []
    for pattern in range(8):
        mask = qrcode.util.mask_func(pattern)
        flip = [[data[r][c] and mask(r, c) != mask0(r, c) for c in range(n)] for r in range(n)]
        result.append(
            (
                tuple(_bits(row) for row in flip),
                tuple(_bits(column) for column in zip(*flip, strict=True)),
            )
        )
    return tuple(result)


def _penalty(rows: list[int], columns: list[int], n: int) -> int:
    """ISO 18004 mask penalty, equal to qrcode.util.lost_point, on rows and columns given as bit masks."""
    # Rule 1 (runs of 5+) and rule 3 (finder-like patterns) over all lines at once; "|" keeps lines apart,
    # and neither pattern can overlap itself, so str.count is exact.
    text = "|".join(format(line, f"0{n}b") for line in (*rows, *columns))
    runs = _RUNS.findall(text)
    points = sum(map(len, runs)) - 2 * len(runs)
    points += 40 * (text.count(_FINDER_LIKE[0]) + text.count(_FINDER_LIKE[1]))
    dark = 0
    pair = (1 << (n - 1)) - 1
    for upper, lower in zip(rows, rows[1:], strict=False):
        same_vertical = ~(upper ^ lower)
        same_horizontal = ~(upper ^ (upper >> 1))
        blocks = same_vertical & (same_vertical >> 1) & same_horizontal & pair
        points += 3 * bin(blocks).count("1")
    for row in rows:
        dark += bin(row).count("1")
    percent = float(dark) / (n**2)
    points += int(abs(percent * 100 - 50) / 5) * 10
    return points


class _Bits:
    """qrcode's BitBuffer (put / put_bit / len) kept in one int: far fewer Python operations a bit."""

    __slots__ = ("length", "value")

    def __init__(self) -> None:
        self.value = 0
        self.length = 0

    def put(self, num: int, length: int) -> None:
        self.value = (self.value << length) | (num & ((1 << length) - 1))
        self.length += length

    def put_bit(self, bit: bool) -> None:
        self.put(1 if bit else 0, 1)

    def __len__(self) -> int:
        return self.length


_GF_EXP = qrcode.base.EXP_TABLE
_GF_LOG = qrcode.base.LOG_TABLE


@lru_cache(maxsize=64)
def _rs_generator_logs(ec_count: int) -> tuple[int, ...]:
    """Logs (base alpha) of the Reed-Solomon generator's coefficients after the leading 1."""
    if ec_count in qrcode.LUT.rsPoly_LUT:
        coefficients = list(qrcode.LUT.rsPoly_LUT[ec_count])
    else:
        poly = qrcode.base.Polynomial([1], 0)
        for i in range(ec_count):
            poly = poly * qrcode.base.Polynomial([1, qrcode.base.gexp(i)], 0)
        coefficients = [poly[i] for i in range(len(poly))]
    return tuple(_GF_LOG[c] for c in coefficients[1:])


def _rs_remainder(data: list[int], ec_count: int) -> list[int]:
    """The error correction codewords of a block (polynomial division with log/antilog tables)."""
    logs = _rs_generator_logs(ec_count)
    exp, log = _GF_EXP, _GF_LOG
    remainder = [0] * ec_count
    for byte in data:
        factor = byte ^ remainder[0]
        del remainder[0]
        remainder.append(0)
        if factor:
            lf = log[factor]
            remainder = [r ^ exp[(g + lf) % 255] for r, g in zip(remainder, logs, strict=True)]
    return remainder


def _create_data(version: int, error_correction: int, data_list: list) -> list[int]:
    """The final codewords, equal to qrcode.util.create_data (tested through the matrices)."""
    util = qrcode.util
    buffer = _Bits()
    for data in data_list:
        buffer.put(data.mode, 4)
        buffer.put(len(data), util.length_in_bits(data.mode, version))
        data.write(buffer)
    rs_blocks = qrcode.base.rs_blocks(version, error_correction)
    bit_limit = sum(block.data_count * 8 for block in rs_blocks)
    if len(buffer) > bit_limit:
        raise qrcode.exceptions.DataOverflowError(
            f"Code length overflow. Data size ({len(buffer)}) > size available ({bit_limit})"
        )
    buffer.put(0, min(bit_limit - len(buffer), 4))
    if len(buffer) % 8:
        buffer.put(0, 8 - len(buffer) % 8)
    codewords = list(buffer.value.to_bytes(len(buffer) // 8, "big")) if len(buffer) else []
    codewords += [util.PAD0 if i % 2 == 0 else util.PAD1 for i in range((bit_limit - len(buffer)) // 8)]
    data_blocks, ec_blocks = [], []
    offset = 0
    for block in rs_blocks:
        chunk = codewords[offset : offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ec_blocks.append(_rs_remainder(chunk, block.total_count - block.data_count))
    out: list[int] = []
    for blocks in (data_blocks, ec_blocks):
        for i in range(max(len(b) for b in blocks)):
            out.extend(b[i] for b in blocks if i < len(b))
    return out


_POSITIONS: dict[int, tuple[tuple[int, int], ...]] = {}


def _data_positions(version: int, modules: list[list[bool | None]]) -> tuple[tuple[int, int], ...]:
    """The data modules in the order qrcode.QRCode.map_data fills them (the blank ones of `modules`)."""
    positions = _POSITIONS.get(version)
    if positions is None:
        n = len(modules)
        order = []
        row, step = n - 1, -1
        for column in range(n - 1, 0, -2):
            if column <= 6:
                column -= 1
            while 0 <= row < n:
                for c in (column, column - 1):
                    if modules[row][c] is None:
                        order.append((row, c))
                row += step
            row -= step
            step = -step
        positions = _POSITIONS[version] = tuple(order)
    return positions


@lru_cache(maxsize=320)
def _mask_bits(version: int, pattern: int) -> int:
    """The mask over the data modules in fill order (after `_data_positions`), as the bits of an int."""
    mask = qrcode.util.mask_func(pattern)
    return _bits(bool(mask(row, column)) for row, column in _POSITIONS[version])


class _QRCode(qrcode.QRCode):
    """qrcode.QRCode with a faster bit stream, error correction and (optional) mask choice (see above)."""

    def best_fit(self, start: int | None = None) -> int:
        """Like qrcode's best_fit, measuring the bit length with `_Bits`."""
        start = start or 1
        qrcode.util.check_version(start)
        mode_sizes = qrcode.util.mode_sizes_for_version(start)
        buffer = _Bits()
        for data in self.data_list:
            buffer.put(data.mode, 4)
            buffer.put(len(data), mode_sizes[data.mode])
            data.write(buffer)
        self.version = bisect_left(qrcode.util.BIT_LIMIT_TABLE[self.error_correction], len(buffer), start)
        if self.version == 41:
            raise qrcode.exceptions.DataOverflowError()
        if mode_sizes is not qrcode.util.mode_sizes_for_version(self.version):
            self.best_fit(start=self.version)
        return self.version

    def makeImpl(self, test: bool, mask_pattern: int) -> None:  # noqa: N802 (qrcode's name)
        """qrcode's makeImpl with the codewords computed by `_create_data`."""
        if self.data_cache is None:
            self.data_cache = _create_data(self.version, self.error_correction, self.data_list)
        super().makeImpl(test, mask_pattern)

    def map_data(self, data: list[int], mask_pattern: int) -> None:
        """qrcode's map_data with the module order and the mask precomputed per version (same result)."""
        positions = _data_positions(self.version, self.modules)
        count = len(positions)
        bits = int.from_bytes(bytes(data), "big") << (count - 8 * len(data))
        text = format(bits ^ _mask_bits(self.version, mask_pattern), f"0{count}b")
        modules = self.modules
        for (row, column), bit in zip(positions, text, strict=True):
            modules[row][column] = bit == "1"

    def best_mask_pattern(self) -> int:
        """Build the mask-0 matrix once and score all eight masks derived from it by XOR."""
        self.makeImpl(True, 0)
        n = self.modules_count
        rows0 = [_bits(row) for row in self.modules]
        columns0 = [_bits(column) for column in zip(*self.modules, strict=True)]
        best_points, best = 0, 0
        for pattern, (row_xor, column_xor) in enumerate(_mask_xors(self.version)):
            rows = [a ^ b for a, b in zip(rows0, row_xor, strict=True)]
            columns = [a ^ b for a, b in zip(columns0, column_xor, strict=True)]
            points = _penalty(rows, columns, n)
            if pattern == 0 or points < best_points:
                best_points, best = points, pattern
        return best

    def make(self, fit: bool = True) -> None:
        """Like qrcode's make(), but the final matrix is the scored mask-0 matrix re-masked in place."""
        if fit or self.version is None:
            self.best_fit(start=self.version)
        if self.mask_pattern is not None:
            self.makeImpl(False, self.mask_pattern)
            return
        pattern = self.best_mask_pattern()  # leaves the mask-0 matrix (blank format info) in self.modules
        n = self.modules_count
        row_xor = _mask_xors(self.version)[pattern][0]
        for row, flips in zip(self.modules, row_xor, strict=True):
            if flips:
                for c in range(n):
                    if (flips >> (n - 1 - c)) & 1:
                        row[c] = not row[c]
        self.setup_type_info(False, pattern)
        if self.version >= 7:
            self.setup_type_number(False)


def qr_matrix(data: str, level: str = "M", *, mask: int | None = QR_MASK) -> list[list[bool]]:
    """The QR matrix of data with its 4-module quiet zone, as qrcode makes it for that mask.

    `mask` None chooses the mask by penalty as qrcode does by default (slower; see above).
    """
    code = _QRCode(error_correction=_QR_LEVELS[level], border=QR_BORDER, box_size=1, mask_pattern=mask)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def qr_rectangles(matrix: list[list[bool]]) -> list[tuple[int, int, int, int]]:
    """Cover the dark modules with rectangles (x, y, width, height in modules): each row's runs, and a
    run repeated at the same place in the next rows merged into one taller rectangle."""
    done: list[list[int]] = []
    open_: dict[tuple[int, int], list[int]] = {}
    for row, cells in enumerate(matrix):
        text = bytes(cells).translate(_BINARY).decode()
        current: dict[tuple[int, int], list[int]] = {}
        for match in _DARK_RUN.finditer(text):
            key = (match.start(), match.end() - match.start())
            rect = open_.pop(key, None)
            if rect is None:
                rect = [key[0], row, key[1], 0]
            rect[3] += 1
            current[key] = rect
        done.extend(open_.values())
        open_ = current
    done.extend(open_.values())
    done.sort(key=lambda r: (r[1], r[0]))
    return [(x, y, w, h) for x, y, w, h in done]


_DARK_RUN = re.compile("1+")


@lru_cache(maxsize=512)
def _qr_path(data: str, level: str) -> tuple[int, str]:
    """(size in modules with the quiet zone, the PDF path operators of the dark modules in module units)."""
    matrix = qr_matrix(data, level)
    return len(matrix), " ".join(f"{x} {y} {w} {h} re" for x, y, w, h in qr_rectangles(matrix))


@lru_cache(maxsize=512)
def _code128_bars(data: str) -> tuple[int, tuple[tuple[int, int], ...]]:
    """Code 128 bars as (total modules without quiet zones, bars (start module, width in modules))."""
    if not data or any(not 32 <= ord(char) <= 126 for char in data):
        raise LabelError(
            N_(
                "%(data)s cannot be printed as a Code 128 barcode: use letters, digits and ASCII "
                "punctuation only."
            ),
            field="code",
            data=data,
        )
    barcode = Code128(data, barWidth=1, quiet=0, humanReadable=0)
    barcode.validate()
    barcode.encode()
    barcode.decompose()
    bars = []
    position = 0
    for char in barcode.decomposed:
        if char.isupper():
            width = ord(char) - ord("A") + 1
            bars.append((position, width))
            position += width
        elif char.islower():
            position += ord(char) - ord("a") + 1
    return position, tuple(bars)


def _num(value: float) -> str:
    """A number for the PDF content stream."""
    text = f"{value:.5f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text or "").split())


class LabelCanvas:
    """The drawing surface of one label: lengths in mm from the label's top-left corner, y down."""

    def __init__(
        self,
        pdf: rl_canvas.Canvas,
        *,
        page_height: float,
        x: float,
        y: float,
        width: float,
        height: float,
        padding: float,
        placement: Placement,
    ) -> None:
        self._pdf = pdf
        self._page_height = page_height
        self._x = x
        self._y = y
        self.width = width
        self.height = height
        self.padding = padding
        self._placement = placement

    # coordinates -----------------------------------------------------------------------------------
    def _clamp(self, x: float, y: float, width: float, height: float) -> tuple[float, float, float, float]:
        """Intersect a label-local box with the label."""
        left, top = max(0.0, x), max(0.0, y)
        right, bottom = min(self.width, x + width), min(self.height, y + height)
        return left, top, max(0.0, right - left), max(0.0, bottom - top)

    def _abs(self, x: float, y: float, width: float, height: float) -> tuple[float, float, float, float]:
        return (self._x + x, self._y + y, width, height)

    def _pdf_x(self, x: float) -> float:
        return (self._x + x) * mm

    def _pdf_y(self, y: float) -> float:
        return (self._page_height - self._y - y) * mm

    # codes ------------------------------------------------------------------------------------------
    def qr(self, data: str, x: float, y: float, size: float, *, level: str = "M") -> None:
        """Draw a vector QR code; `size` (mm) includes the 4-module quiet zone on every side."""
        if level not in _QR_LEVELS:
            raise ValueError(f"unknown QR error correction level {level!r}")
        x, y, width, height = self._clamp(x, y, size, size)
        size = min(width, height)
        if size <= 0:
            return
        modules, ops = _qr_path(data, level)
        # One path in module units: a transform maps module (column, row) to the page, so the rectangles
        # are written as small integers (compact and fast; reportlab's number formatting is slow).
        module = size / modules * mm
        self._pdf.addLiteral(
            f"q {_num(module)} 0 0 {_num(-module)} {_num(self._pdf_x(x))} {_num(self._pdf_y(y))} cm {ops} f Q"
        )
        self._placement.codes.append(("qr", data, self._abs(x, y, size, size)))

    def code128(self, data: str, x: float, y: float, width: float, height: float) -> None:
        """Draw a vector Code 128 barcode filling the box, with its 10-module quiet zones inside the width."""
        x, y, width, height = self._clamp(x, y, width, height)
        if width <= 0 or height <= 0:
            return
        modules, bars = _code128_bars(data)
        module = width / (modules + 2 * CODE128_QUIET) * mm
        ops = " ".join(f"{start + CODE128_QUIET} 0 {bar} 1 re" for start, bar in bars)
        self._pdf.addLiteral(
            f"q {_num(module)} 0 0 {_num(-height * mm)} {_num(self._pdf_x(x))} {_num(self._pdf_y(y))} cm "
            f"{ops} f Q"
        )
        self._placement.codes.append(("code128", data, self._abs(x, y, width, height)))

    # text -------------------------------------------------------------------------------------------
    def text(
        self,
        text: str,
        x: float,
        y: float,
        width: float,
        height: float,
        *,
        size: float = 10,
        min_size: float = 5,
        bold: bool = False,
        align: str = "left",
        max_lines: int | None = None,
        valign: str = "top",
    ) -> TextFit:
        """Draw text inside a box: shrink (down to min_size) and wrap until it fits, else shorten with "…".

        The largest size from `size` down to `min_size` at which the wrapped text fits the box (in at most
        `max_lines` lines) wins; if none does, the text is set at `min_size` and its last line is
        shortened with "…". Glyphs (Vietnamese stacked marks included) never leave the box.
        """
        if align not in ("left", "center", "right"):
            raise ValueError(f"unknown alignment {align!r}")
        x, y, width, height = self._clamp(x, y, width, height)
        font = FONT_BOLD if bold else FONT
        text = _normalise(text)
        if not text:
            return TextFit([], size, False, self._abs(x, y, 0.0, 0.0))
        min_size = min(min_size, size)
        chosen: tuple[float, list[str], bool] | None = None
        steps = max(0, int(round((size - min_size) / _SIZE_STEP)))
        for step in range(steps + 1):
            current = size - step * _SIZE_STEP if step < steps else min_size
            allowed = _lines_allowed(height, current, max_lines)
            if allowed < 1:
                continue
            lines = _wrap(text, font, current, width, allowed + 1)
            if len(lines) <= allowed:
                chosen = (current, lines, False)
                break
        if chosen is None:
            allowed = _lines_allowed(height, min_size, max_lines)
            if allowed < 1 or not text:
                chosen = (min_size, [], bool(text))
            else:
                lines = _wrap(text, font, min_size, width, allowed + 1)
                shown = lines[:allowed]
                shown[-1] = _shorten(shown[-1], font, min_size, width)
                chosen = (min_size, shown, True)
        current, lines, shortened = chosen
        if not lines:
            return TextFit([], current, shortened, self._abs(x, y, 0.0, 0.0))
        em = current * PT
        block = (len(lines) - 1) * _PITCH_EM * em + (_ASCENT_EM + _DESCENT_EM) * em
        top = y + (height - block) / 2 if valign == "middle" else y
        self._pdf.setFont(font, current)
        widest = 0.0
        left_edge = x + width
        for index, line in enumerate(lines):
            line_width = _width(line, font, current)
            widest = max(widest, line_width)
            if align == "center":
                line_x = x + (width - line_width) / 2
            elif align == "right":
                line_x = x + width - line_width
            else:
                line_x = x
            left_edge = min(left_edge, line_x)
            baseline = top + _ASCENT_EM * em + index * _PITCH_EM * em
            self._pdf.drawString(self._pdf_x(line_x), self._pdf_y(baseline), line)
        fit = TextFit(lines, current, shortened, self._abs(left_edge, top, widest, block))
        self._placement.texts.append(fit)
        return fit

    def line(self, x1: float, y1: float, x2: float, y2: float, *, width: float = 0.2) -> None:
        """Draw a straight line (clamped to the label) of the given stroke width in mm."""
        x1, x2 = min(max(x1, 0.0), self.width), min(max(x2, 0.0), self.width)
        y1, y2 = min(max(y1, 0.0), self.height), min(max(y2, 0.0), self.height)
        self._pdf.setLineWidth(width * mm)
        self._pdf.line(self._pdf_x(x1), self._pdf_y(y1), self._pdf_x(x2), self._pdf_y(y2))


def _lines_allowed(height: float, size: float, max_lines: int | None) -> int:
    em = size * PT
    fit = int(math.floor((height / em - _ASCENT_EM - _DESCENT_EM) / _PITCH_EM + _EPS)) + 1
    if height / em < _ASCENT_EM + _DESCENT_EM - _EPS:
        fit = 0
    return max(0, min(fit, max_lines) if max_lines is not None else fit)


@lru_cache(maxsize=8192)
def _unit_width(text: str, font: str) -> float:
    """Width of the text at 1 pt in mm (reportlab applies no kerning, so widths add up)."""
    return pdfmetrics.stringWidth(text, font, 1) * PT


def _width(text: str, font: str, size: float) -> float:
    return _unit_width(text, font) * size


def _wrap(text: str, font: str, size: float, width: float, limit: int) -> list[str]:
    """Greedy word wrap (words longer than the width are broken); stops after `limit` lines."""
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    space = _width(" ", font, size)
    for word in text.split(" "):
        word_width = _width(word, font, size)
        if current and used + space + word_width <= width + _EPS:
            current.append(word)
            used += space + word_width
            continue
        if not current and word_width <= width + _EPS:
            current, used = [word], word_width
            continue
        if current:
            lines.append(" ".join(current))
            if len(lines) >= limit:
                return lines
        current, used = [], 0.0
        while _width(word, font, size) > width + _EPS:
            cut = _fitting_prefix(word, font, size, width)
            lines.append(word[:cut])
            if len(lines) >= limit:
                return lines
            word = word[cut:]
        if word:
            current, used = [word], _width(word, font, size)
    if current:
        lines.append(" ".join(current))
    return lines


def _fitting_prefix(word: str, font: str, size: float, width: float) -> int:
    """Length of the longest prefix of word that fits the width (at least one character)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if _width(word[:middle], font, size) <= width + _EPS:
            low = middle
        else:
            high = middle - 1
    return low


def _shorten(line: str, font: str, size: float, width: float) -> str:
    """The line cut so that it ends with "…" and fits the width."""
    candidate = line.rstrip()
    while candidate:
        shown = candidate.rstrip(" ,;:-–") + _ELLIPSIS
        if _width(shown, font, size) <= width + _EPS:
            return shown
        candidate = candidate[:-1]
    return _ELLIPSIS if _width(_ELLIPSIS, font, size) <= width + _EPS else ""


# --- output -----------------------------------------------------------------------------------------

Label = Callable[[LabelCanvas], None]


def _check_offset(offset: tuple[float, float]) -> tuple[float, float]:
    dx, dy = float(offset[0]), float(offset[1])
    if abs(dx) > MAX_OFFSET or abs(dy) > MAX_OFFSET:
        raise LabelError(
            N_("The calibration offset (%(dx)s mm, %(dy)s mm) is larger than %(max)s mm."),
            field="offset",
            dx=fmt_mm(dx),
            dy=fmt_mm(dy),
            max=fmt_mm(MAX_OFFSET),
        )
    return dx, dy


def _new_canvas(template: Template, out: BinaryIO, title: str, lang: str) -> rl_canvas.Canvas:
    register_fonts()
    pdf = rl_canvas.Canvas(
        out, pagesize=(template.page_width * mm, template.page_height * mm), pageCompression=1, lang=lang
    )
    pdf.setTitle(title)
    pdf.setCreator("Trạm Sách")
    pdf.setFillColorRGB(0, 0, 0)
    pdf.setStrokeColorRGB(0, 0, 0)
    return pdf


def render_pdf(
    template: Template,
    labels: Iterable[Label],
    out: BinaryIO,
    *,
    start_position: int = 1,
    offset: tuple[float, float] = (0.0, 0.0),
    title: str = "",
    lang: str = "vi",
    outlines: bool = False,
    report_pages: int | None = None,
) -> RenderReport:
    """Draw the labels on the template's pages into `out` as PDF, page by page, and report the placements.

    `start_position` is the 1-based first slot on the first sheet (a partly used sheet); `offset` is the
    printer calibration in mm (+x right, +y down); `outlines` draws thin label edges (sample sheets).
    `report_pages` keeps the placements of the first that many pages only (0: none; a preview needs 1):
    for large jobs, so memory does not grow with every label's texts. `RenderReport.count` always counts
    every label.
    """
    template.check()
    if not 1 <= start_position <= template.per_page:
        raise LabelError(
            N_("The start position %(start)s is past the end of the sheet (%(per_page)s labels per sheet)."),
            field="start_position",
            start=start_position,
            per_page=template.per_page,
        )
    dx, dy = _check_offset(offset)
    pdf = _new_canvas(template, out, title, lang)
    placements: list[Placement] = []
    page, slot, count = 0, start_position - 1, 0
    drawn_on_page = False
    # Page streams are written zlib-compressed and binary: reportlab's default also wraps them in
    # ASCII85, which it encodes in pure Python here (no _rl_accel), ~10 % of the time of a big job.
    # rl_config is global; another PDF made meanwhile in another thread is valid either way.
    a85 = rl_config.useA85
    rl_config.useA85 = 0
    try:
        for label in labels:
            if slot >= template.per_page:
                pdf.showPage()
                _compress_finished_page(pdf)
                page, slot, drawn_on_page = page + 1, 0, False
            ox, oy = template.origin(slot)
            placement = Placement(
                page, slot, ox + dx, oy + dy, template.label_width, template.label_height, [], []
            )
            if outlines:
                _outline(pdf, template, ox + dx, oy + dy)
            pdf.saveState()
            label(
                LabelCanvas(
                    pdf,
                    page_height=template.page_height,
                    x=ox + dx,
                    y=oy + dy,
                    width=template.label_width,
                    height=template.label_height,
                    padding=template.padding,
                    placement=placement,
                )
            )
            pdf.restoreState()
            if report_pages is None or page < report_pages:
                placements.append(placement)
            count += 1
            drawn_on_page = True
            slot += 1
        if not count:
            raise LabelError(N_("There is nothing to print: the selection is empty."), field="labels")
        if drawn_on_page:
            pdf.showPage()
            _compress_finished_page(pdf)
        pdf.save()
    finally:
        rl_config.useA85 = a85
    return RenderReport(pages=page + 1, placements=placements, count=count)


def _compress_finished_page(pdf: rl_canvas.Canvas) -> None:
    """Compress the page just finished now, not at save(), so memory stays flat however many pages.

    reportlab keeps every page's content stream as uncompressed text until `save()` (~60 KiB a sheet of
    QR labels, 25 MiB for 10,000 labels); this sets the page's Contents to the same stream already
    Flate-compressed (what save() would write), ~6× smaller. It relies on reportlab's PDFPage keeping
    the text in `.stream` and using a ready `.Contents` as is; if that ever changes it does nothing.
    """
    pages = getattr(getattr(getattr(pdf, "_doc", None), "Pages", None), "pages", None)
    if not pages:
        return
    page = pages[-1]
    stream = getattr(page, "stream", None)
    if not isinstance(stream, str) or getattr(page, "Contents", None) is not None:
        return
    flate = pdfdoc.PDFDictionary({"Filter": pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])})
    page.Contents = pdfdoc.PDFStream(flate, zlib.compress(stream.encode("utf8")))
    page.stream = None


def _outline(pdf: rl_canvas.Canvas, template: Template, x: float, y: float) -> None:
    pdf.saveState()
    pdf.setStrokeColorRGB(0.7, 0.7, 0.7)
    pdf.setLineWidth(0.1 * mm)
    pdf.setDash(1 * mm, 1 * mm)
    pdf.rect(
        x * mm,
        (template.page_height - y - template.label_height) * mm,
        template.label_width * mm,
        template.label_height * mm,
        stroke=1,
        fill=0,
    )
    pdf.restoreState()


CALIBRATION_MARKS = ((20.0, 20.0), (100.0, 20.0), (20.0, 100.0))


def render_calibration_pdf(
    template: Template,
    out: BinaryIO,
    *,
    offset: tuple[float, float] = (0.0, 0.0),
    caption: str = "",
    lang: str = "vi",
) -> list[tuple[float, float]]:
    """Draw a calibration page: mm rulers along the top and left edges, crosshairs and label outlines.

    Crosshairs sit at `CALIBRATION_MARKS` (mm from the page's top-left, those that fit the page) plus the
    first label's top-left corner, all shifted by `offset`; staff measure where they landed on paper.
    Returns the crosshair positions as drawn (without the offset), so the page can explain them.
    """
    template.check()
    dx, dy = _check_offset(offset)
    pdf = _new_canvas(template, out, caption, lang)
    page_w, page_h = template.page_width, template.page_height

    def px(x: float) -> float:
        return (x + dx) * mm

    def py(y: float) -> float:
        return (page_h - y - dy) * mm

    pdf.setLineWidth(0.15 * mm)
    small = min(page_w, page_h) < 80
    step = 10 if not small else 5
    # rulers: a tick every mm, longer every 5 and 10 mm, numbers every `step` mm
    pdf.setFont(FONT, 5 if small else 6)
    for x in range(0, int(page_w) + 1):
        length = 4 if x % 10 == 0 else 2.5 if x % 5 == 0 else 1.5
        pdf.line(px(x), py(0), px(x), py(length))
        if x % step == 0 and 0 < x < page_w - 3:
            pdf.drawCentredString(px(x), py(length + 2.5), str(x))
    for y in range(0, int(page_h) + 1):
        length = 4 if y % 10 == 0 else 2.5 if y % 5 == 0 else 1.5
        pdf.line(px(0), py(y), px(length), py(y))
        if y % step == 0 and 0 < y < page_h - 3:
            pdf.drawString(px(length + 1), py(y) - 1 * mm, str(y))
    marks = [(x, y) for x, y in CALIBRATION_MARKS if x + 10 < page_w and y + 10 < page_h]
    if not marks:  # a small roll label: two marks 10 mm in from opposite corners
        marks = [(10.0, 10.0), (float(math.floor(page_w - 10)), float(math.floor(page_h - 10)))]
    first = template.origin(0)
    if first not in marks and first[0] >= 5 and first[1] >= 5:
        marks.append(first)
    for x, y in marks:
        pdf.line(px(x - 6), py(y), px(x + 6), py(y))
        pdf.line(px(x), py(y - 6), px(x), py(y + 6))
        pdf.circle(px(x), py(y), 2 * mm, stroke=1, fill=0)
        pdf.drawString(px(x + 2), py(y + 4), f"({fmt_mm(x)}, {fmt_mm(y)})")
    for slot in range(template.per_page):
        ox, oy = template.origin(slot)
        _outline(pdf, template, ox + dx, oy + dy)
    if caption and not small:  # a roll label has no room: the web page explains the procedure
        pdf.setFont(FONT, 8)
        text = pdf.beginText(px(page_w * 0.3), py(page_h * 0.4))
        for line in caption.splitlines():
            text.textLine(line)
        pdf.drawText(text)
    pdf.showPage()
    pdf.save()
    return marks
