"""The label engine's layout rules: start position, calibration offset, text fitting and bad input."""

from __future__ import annotations

import io

import pytest

from app.labels.engine import LabelError, Template, custom_template, render_pdf
from app.labels.presets import PRESETS, get_template
from tests.labels.test_engine_readback import PX, TOLERANCE, dark, dark_bbox_mm, to_images


def qr_label(data: str):
    def draw(canvas):
        canvas.qr(data, 2, 2, 20)

    return draw


def render(template: Template, labels, **options):
    out = io.BytesIO()
    report = render_pdf(template, labels, out, **options)
    return report, out.getvalue()


def test_start_position_skips_used_slots():
    template = PRESETS["a4-3x8"]
    report, pdf = render(template, [qr_label(f"S{i}") for i in range(5)], start_position=23)
    assert [(p.page, p.slot) for p in report.placements] == [(0, 22), (0, 23), (1, 0), (1, 1), (1, 2)]
    assert report.pages == 2
    # slot 22 is row 7, column 1: x = 70, y = 0.5 + 7 × 37 = 259.5
    first = report.placements[0]
    assert (first.x, first.y) == pytest.approx((70.0, 259.5), abs=1e-9)
    page1, page2 = to_images(pdf)
    # on the first sheet, nothing above row 7 and nothing in column 0 of row 7
    assert dark(page1.crop((0, 0, page1.width, round(259.5 * PX) - 1))).getbbox() is None
    assert dark(page1.crop((0, round(259.5 * PX), round(70 * PX) - 1, page1.height))).getbbox() is None
    box = dark_bbox_mm(page1, (70, 259.5, 70, 37))
    # a version 1 QR: 21 modules + 2 × 4 quiet modules in 20 mm, drawn at (2 mm, 2 mm) in the label
    quiet = 4 * 20 / 29
    assert box is not None
    assert abs(box[0] - (70 + 2 + quiet)) <= TOLERANCE and abs(box[1] - (259.5 + 2 + quiet)) <= TOLERANCE
    assert dark_bbox_mm(page2, (0, 0.5, 70, 37)) is not None


def test_calibration_offset_moves_every_label_by_the_offset():
    template = PRESETS["a4-4x10"]
    labels = [qr_label("OFFSET-TEST")]
    plain, plain_pdf = render(template, labels)
    moved, moved_pdf = render(template, labels, offset=(1.5, -2.0))
    assert moved.placements[0].x - plain.placements[0].x == pytest.approx(1.5)
    assert moved.placements[0].y - plain.placements[0].y == pytest.approx(-2.0)
    (a,) = to_images(plain_pdf)
    (b,) = to_images(moved_pdf)
    box_a = dark_bbox_mm(a, (0, 0, 100, 60))
    box_b = dark_bbox_mm(b, (0, 0, 100, 60))
    assert abs((box_b[0] - box_a[0]) - 1.5) <= TOLERANCE
    assert abs((box_b[1] - box_a[1]) - (-2.0)) <= TOLERANCE
    # the expected position from the template: margin + 2 mm into the label + 4 quiet modules (version 1 QR)
    quiet = 4 * 20 / 29
    assert (
        abs(box_a[0] - (8.0 + 2.0 + quiet)) <= TOLERANCE and abs(box_a[1] - (21.5 + 2.0 + quiet)) <= TOLERANCE
    )
    code_x = moved.placements[0].codes[0][2][0]
    assert code_x == pytest.approx(8.0 + 1.5 + 2.0)


def test_text_shrinks_then_wraps_then_shortens():
    template = custom_template(label_width=60, label_height=20, roll=True)
    fits = []

    def label(text, **kw):
        def draw(canvas):
            fits.append(canvas.text(text, 2, 2, 56, 16, **kw))

        return draw

    render(
        template,
        [
            label("Ngắn", size=10),
            label("Truyện Kiều – Nguyễn Du, bản in lần thứ hai có chú giải", size=12, max_lines=1),
            label("Truyện Kiều – Nguyễn Du " * 40, size=10, min_size=6),
            label("", size=10),
        ],
    )
    short, one_line, long_text, empty = fits
    assert short.text_drawn == ["Ngắn"] and short.size == 10 and not short.shortened
    assert len(one_line.text_drawn) == 1 and one_line.size < 12 and not one_line.shortened
    assert long_text.size == 6 and long_text.shortened and long_text.text_drawn[-1].endswith("…")
    assert 1 < len(long_text.text_drawn) <= 16 / (6 * 25.4 / 72)
    assert empty.text_drawn == [] and not empty.shortened
    for fit in (short, one_line, long_text):
        x, y, w, h = fit.box
        assert x >= 2 and x + w <= 58 + 1e-9 and y >= 2 and y + h <= 18 + 1e-9


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        (
            {"label_width": 71, "columns": 3, "rows": 8, "label_height": 37},
            "label_width",
            ["3 mm too wide", "213"],
        ),
        (
            {"label_width": 70, "columns": 3, "rows": 8, "label_height": 38},
            "label_height",
            ["7 mm too high", "304"],
        ),
        (
            {"label_width": 50, "columns": 4, "rows": 1, "label_height": 20, "margin_left": 15},
            "label_width",
            ["5 mm too wide", "215 mm > 210 mm"],
        ),
        ({"label_width": 0, "label_height": 20}, "label_width", ["label width", "0 mm"]),
        ({"label_width": 20, "label_height": 20, "gap_y": -1, "rows": 2}, "gap_y", ["gap between rows"]),
        ({"label_width": 20, "label_height": 20, "columns": 0}, "columns", ["at least one column"]),
    ],
)
def test_template_that_does_not_fit_names_the_dimension(kwargs, field, words):
    with pytest.raises(LabelError) as caught:
        custom_template(**kwargs)
    assert caught.value.field == field
    for word in words:
        assert word in str(caught.value)


def test_start_position_past_the_end_of_the_sheet():
    with pytest.raises(LabelError) as caught:
        render(PRESETS["a4-3x8"], [qr_label("X")], start_position=25)
    assert caught.value.field == "start_position"
    assert "25" in str(caught.value) and "24 labels per sheet" in str(caught.value)
    with pytest.raises(LabelError):
        render(PRESETS["a4-3x8"], [qr_label("X")], start_position=0)
    with pytest.raises(LabelError) as caught:
        render(PRESETS["roll-50x30"], [qr_label("X")], start_position=2)
    assert "1 labels per sheet" in str(caught.value)


def test_empty_selection_prints_nothing():
    with pytest.raises(LabelError) as caught:
        render(PRESETS["a4-2x7"], iter(()))
    assert caught.value.field == "labels" and "nothing to print" in str(caught.value)


def test_unknown_template_lists_the_known_ones():
    with pytest.raises(LabelError) as caught:
        get_template("a4-9x99")
    message = str(caught.value)
    assert "a4-9x99" in message and "a4-3x8" in message and "roll-100x50" in message
    assert caught.value.field == "template"


def test_offset_that_is_a_typo_is_refused():
    with pytest.raises(LabelError) as caught:
        render(PRESETS["a4-3x8"], [qr_label("X")], offset=(25, 0))
    assert caught.value.field == "offset" and "25 mm" in str(caught.value)


def test_labels_are_consumed_lazily_page_by_page():
    """The engine pulls labels one at a time: a generator is never read ahead of the page being drawn."""
    template = PRESETS["a4-5x13"]
    pulled = []
    drawn = []

    def labels():
        for i in range(3 * template.per_page):
            pulled.append(i)
            yield lambda canvas, i=i: drawn.append((i, len(pulled)))

    report, _ = render(template, labels())
    assert report.pages == 3
    assert all(count == i + 1 for i, count in drawn)


def test_every_preset_fits_its_page():
    assert {"a4-3x8", "a4-2x7", "a4-4x10", "a4-5x13", "roll-50x30", "roll-100x50"} <= set(PRESETS)
    for template in PRESETS.values():
        template.check()
        last = template.origin(template.per_page - 1)
        assert last[0] + template.label_width <= template.page_width
        assert last[1] + template.label_height <= template.page_height
    assert PRESETS["a4-3x8"].per_page == 24 and PRESETS["a4-5x13"].per_page == 65
    roll = PRESETS["roll-50x30"]
    assert (roll.page_width, roll.page_height, roll.per_page) == (50, 30, 1)


@pytest.mark.parametrize("data", ["", "VN-ạ01", "VN\t01"])
def test_code128_refuses_data_it_cannot_encode(data):
    def draw(canvas):
        canvas.code128(data, 1, 1, 40, 10)

    with pytest.raises(LabelError) as caught:
        render(PRESETS["a4-3x8"], [draw])
    assert caught.value.field == "code"


def test_report_pages_keeps_the_first_pages_placements_only_but_counts_every_label():
    template = PRESETS["a4-3x8"]
    labels = [qr_label(f"R{i}") for i in range(30)]
    full, full_pdf = render(template, labels)
    first, first_pdf = render(template, labels, report_pages=1)
    summary, summary_pdf = render(template, iter(labels), report_pages=0)
    assert (full.pages, full.count, len(full.placements)) == (2, 30, 30)
    assert (first.pages, first.count) == (2, 30)
    assert [(p.page, p.slot) for p in first.placements] == [(0, slot) for slot in range(24)]
    assert (summary.pages, summary.count, summary.placements) == (2, 30, [])
    assert len(to_images(summary_pdf)) == 2
    # the same drawing whatever is reported (the creation date aside)
    assert len(first_pdf) == len(full_pdf) == len(summary_pdf)
    with pytest.raises(LabelError, match="nothing to print"):
        render(template, [], report_pages=0)
