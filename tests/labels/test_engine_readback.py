"""Read the label engine's PDFs back: render at 300 dpi, decode every code, measure positions and text."""

from __future__ import annotations

import io
import unicodedata
from functools import cache

import pypdfium2 as pdfium
import pytest
import qrcode
import zxingcpp
from PIL import Image, ImageDraw
from qrcode.constants import ERROR_CORRECT_M

from app.labels.engine import LabelCanvas, RenderReport, Template, custom_template, render_pdf
from app.labels.presets import PRESETS

DPI = 300
PX = DPI / 25.4  # pixels per mm
TOLERANCE = 0.2  # mm
CODES = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.Code128)
BASE_URL = "https://thuvien.sonla.gov.vn/tramsach"
VIETNAMESE = "Truyện Kiều – Nguyễn Du"
LONG_TITLE = ("Lịch sử Đảng bộ tỉnh Sơn La và phong trào đọc sách ở các bản vùng cao " * 8)[:500]
TITLES = (VIETNAMESE, LONG_TITLE, "Đất rừng phương Nam")

CUSTOM = custom_template(label_width=60, label_height=32, columns=3, rows=8, gap_x=4, gap_y=2, name="custom")
TEMPLATES = {**PRESETS, "custom": CUSTOM}


def qr_data(index: int) -> str:
    return f"{BASE_URL}/b/LC-2026-{index:03d}"


def accession(index: int) -> str:
    return f"VN.{123 + index:06d}"


def sample_label(index: int):
    """Even labels: a QR code and a title beside it; odd labels: a Code 128 barcode over the title."""

    def draw(canvas: LabelCanvas) -> None:
        p = canvas.padding
        inner_w, inner_h = canvas.width - 2 * p, canvas.height - 2 * p
        title = TITLES[index % len(TITLES)]
        if index % 2 == 0:
            size = min(inner_h, inner_w * 0.5)
            canvas.qr(qr_data(index), p, p, size)
            canvas.text(title, p + size + 1, p, inner_w - size - 1, inner_h, size=9, min_size=4)
        else:
            bar_h = inner_h * 0.5
            canvas.code128(accession(index), p, p, inner_w, bar_h)
            canvas.text(title, p, p + bar_h + 0.5, inner_w, inner_h - bar_h - 0.5, size=8, min_size=4)

    return draw


def expected_origin(template: Template, slot: int) -> tuple[float, float]:
    """The slot's top-left corner from the template's numbers (computed here, not by the engine)."""
    row, column = slot // template.columns, slot % template.columns
    return (
        template.margin_left + column * (template.label_width + template.gap_x),
        template.margin_top + row * (template.label_height + template.gap_y),
    )


def to_images(pdf: bytes, pages: int | None = None) -> list[Image.Image]:
    document = pdfium.PdfDocument(pdf)
    count = len(document) if pages is None else min(pages, len(document))
    images = [document[i].render(scale=DPI / 72, grayscale=True).to_pil().convert("L") for i in range(count)]
    document.close()
    return images


def page_texts(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    texts = []
    for page in document:
        textpage = page.get_textpage()
        texts.append(unicodedata.normalize("NFC", textpage.get_text_range()))
        textpage.close()
    document.close()
    return texts


def dark(image: Image.Image) -> Image.Image:
    """White where the page is dark (for getbbox)."""
    return image.point(lambda value: 255 if value < 128 else 0)


def px_box(x: float, y: float, w: float, h: float) -> tuple[int, int, int, int]:
    return (round(x * PX), round(y * PX), round((x + w) * PX), round((y + h) * PX))


def dark_bbox_mm(image: Image.Image, box: tuple[float, float, float, float], grow: float = 0.0):
    """Bounding box (left, top, right, bottom) in mm of the dark pixels inside box (mm, grown by `grow`)."""
    x, y, w, h = box
    left, top, right, bottom = px_box(x - grow, y - grow, w + 2 * grow, h + 2 * grow)
    found = dark(image.crop((left, top, right, bottom))).getbbox()
    if found is None:
        return None
    return tuple(v / PX for v in (found[0] + left, found[1] + top, found[2] + left, found[3] + top))


@cache
def rendered(name: str) -> tuple[Template, RenderReport, bytes]:
    """One full first sheet (two pages of a roll) of sample labels, rendered once per test session."""
    template = TEMPLATES[name]
    count = 2 if template.roll else template.per_page
    out = io.BytesIO()
    report = render_pdf(template, (sample_label(i) for i in range(count)), out, title="test")
    return template, report, out.getvalue()


@cache
def images(name: str) -> tuple[Image.Image, ...]:
    return tuple(to_images(rendered(name)[2]))


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_code_decodes_to_its_data(name):
    template, report, _ = rendered(name)
    pages = images(name)
    assert len(report.placements) == (2 if template.roll else template.per_page)
    for index, placement in enumerate(report.placements):
        image = pages[placement.page]
        crop = image.crop(px_box(placement.x, placement.y, placement.width, placement.height))
        results = zxingcpp.read_barcodes(crop, formats=CODES)
        decoded = [(r.format.name if hasattr(r.format, "name") else str(r.format), r.text) for r in results]
        want = qr_data(index) if index % 2 == 0 else accession(index)
        assert [text for _, text in decoded] == [want], (name, index, decoded)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_labels_sit_where_the_template_says(name):
    template, report, _ = rendered(name)
    for index, placement in enumerate(report.placements):
        slot = 0 if template.roll else index
        x, y = expected_origin(template, slot)
        assert placement.page == (index if template.roll else 0)
        assert abs(placement.x - x) <= TOLERANCE and abs(placement.y - y) <= TOLERANCE
        assert (placement.width, placement.height) == (template.label_width, template.label_height)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_drawn_codes_match_their_boxes_in_the_image(name):
    """The QR's dark square (finder pattern corners) and the bars sit where the layout put them."""
    template, report, _ = rendered(name)
    pages = images(name)
    for index, placement in enumerate(report.placements):
        image = pages[placement.page]
        x, y = expected_origin(template, 0 if template.roll else index)
        p = template.padding
        inner_w, inner_h = template.label_width - 2 * p, template.label_height - 2 * p
        (kind, data, box) = placement.codes[0]
        if index % 2 == 0:
            size = min(inner_h, inner_w * 0.5)
            assert kind == "qr" and data == qr_data(index)
            matrix = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
            matrix.add_data(data)
            matrix.make(fit=True)
            symbol = len(matrix.get_matrix())
            module = size / (symbol + 8)
            want = (
                x + p + 4 * module,
                y + p + 4 * module,
                x + p + size - 4 * module,
                y + p + size - 4 * module,
            )
            got = dark_bbox_mm(image, (x + p, y + p, size, size), grow=0.3)
            assert got is not None
            assert all(abs(a - b) <= TOLERANCE for a, b in zip(got, want, strict=False)), (
                name,
                index,
                got,
                want,
            )
            # the decoder's corner points agree with the expected symbol box too
            crop_left, crop_top = px_box(placement.x, placement.y, 0, 0)[:2]
            crop = image.crop(px_box(placement.x, placement.y, placement.width, placement.height))
            result = zxingcpp.read_barcodes(crop, formats=(zxingcpp.BarcodeFormat.QRCode,))[0]
            pos = result.position
            xs = [pt.x for pt in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)]
            ys = [pt.y for pt in (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)]
            decoded_box = ((min(xs) + crop_left) / PX, (min(ys) + crop_top) / PX)
            assert abs(decoded_box[0] - want[0]) <= 2 * module and abs(decoded_box[1] - want[1]) <= 2 * module
        else:
            bar_h = inner_h * 0.5
            assert kind == "code128" and data == accession(index)
            got = dark_bbox_mm(image, (x + p, y + p, inner_w, bar_h), grow=0.3)
            assert got is not None
            assert abs(got[1] - (y + p)) <= TOLERANCE and abs(got[3] - (y + p + bar_h)) <= TOLERANCE
            # quiet zones: at least 10 narrow bars (≥ 10 × width / 200) of white on each side
            assert got[0] - (x + p) >= 10 * inner_w / 200 and (x + p + inner_w) - got[2] >= 10 * inner_w / 200


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_nothing_leaves_its_label(name):
    template, report, _ = rendered(name)
    pages = images(name)
    for placement in report.placements:
        left, top = placement.x, placement.y
        right, bottom = left + placement.width, top + placement.height
        for fit in placement.texts:
            bx, by, bw, bh = fit.box
            assert left <= bx and bx + bw <= right and top <= by and by + bh <= bottom, (fit, placement)
        for _, _, (bx, by, bw, bh) in placement.codes:
            assert left <= bx and bx + bw <= right and top <= by and by + bh <= bottom
    for number, image in enumerate(pages):
        masked = image.copy()
        painter = ImageDraw.Draw(masked)
        for slot in range(template.per_page):
            x, y = expected_origin(template, slot)
            painter.rectangle(px_box(x, y, template.label_width, template.label_height), fill=255)
        assert dark(masked).getbbox() is None, f"{name} page {number}: ink outside the labels"
        # and inside each label, the ink keeps the padding
        for placement in (pl for pl in report.placements if pl.page == number):
            inner = dark_bbox_mm(image, (placement.x, placement.y, placement.width, placement.height))
            assert inner is not None
            pad = template.padding - TOLERANCE
            assert inner[0] >= placement.x + pad and inner[1] >= placement.y + pad
            assert inner[2] <= placement.x + placement.width - pad
            assert inner[3] <= placement.y + placement.height - pad


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_text_is_shortened_not_cut_and_vietnamese_is_in_the_text_layer(name):
    template, report, pdf = rendered(name)
    texts = page_texts(pdf)
    for index, placement in enumerate(report.placements):
        (fit,) = placement.texts
        title = TITLES[index % len(TITLES)]
        assert fit.text_drawn, (name, index)
        assert fit.size >= 4
        if fit.shortened:
            assert fit.text_drawn[-1].endswith("…")
            assert title.startswith(" ".join(fit.text_drawn)[:-1].rstrip())
        elif title == LONG_TITLE and name in SMALL:
            pytest.fail(f"{name}: 500 characters cannot fit label {index} unshortened")
        else:
            assert " ".join(fit.text_drawn) == title
        layer = " ".join(texts[placement.page].split())
        for line in fit.text_drawn:
            assert unicodedata.normalize("NFC", line) in layer, (name, index, line)


SMALL = ("a4-4x10", "a4-5x13", "roll-50x30")


def test_vietnamese_title_whole_in_text_layer():
    _, report, pdf = rendered("roll-100x50")
    assert report.placements[0].texts[0].text_drawn  # label 0 holds VIETNAMESE
    layer = " ".join(page_texts(pdf)[0].split())
    assert VIETNAMESE in layer
    assert "Nguyễn" in layer and "Truyện" in layer
