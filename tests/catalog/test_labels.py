"""Copy and spine labels read back: codes decoded at 300 dpi, text layer, bad input, pages and CLI."""

from __future__ import annotations

import io
import re
import unicodedata

import pypdfium2
import pytest
import zxingcpp

from app.auth.models import Role
from app.errors import ValidationError
from app.labels.engine import LabelError, render_pdf
from app.labels.presets import get_template
from app.network.models import SiteKind
from catalog import labels as copy_labels_domain
from catalog import marc
from catalog.services import add_items, create_record
from tests.conftest import csrf_from, post_form

BASE = "http://tram.test"  # BASE_URL of the test app (tests/conftest.py)
MISERABLES = "Những người khốn khổ"
PT_MM = 25.4 / 72


# --- reading a PDF back ---------------------------------------------------------------------------


def decode_pages(pdf: bytes, dpi: int = 300) -> list[list[tuple[str, str]]]:
    """Return, page by page, the (format, text) of every code a real decoder finds at `dpi`."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        pages = []
        for page in doc:
            image = page.render(scale=dpi / 72).to_pil()
            pages.append([(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)])
        return pages
    finally:
        doc.close()


def decoded(pdf: bytes) -> list[str]:
    """Return the texts of every code in the PDF, sorted."""
    return sorted(text for page in decode_pages(pdf) for _fmt, text in page)


def text_layer(pdf: bytes) -> str:
    """Return the PDF's text layer, NFC."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        return unicodedata.normalize("NFC", "\n".join(p.get_textpage().get_text_range() for p in doc))
    finally:
        doc.close()


def flat(text: str) -> str:
    """Return text with every run of white space (line breaks of wrapped text) made one space."""
    return " ".join(text.split())


def char_boxes_mm(pdf: bytes, page_no: int = 0) -> list[tuple[str, float, float, float, float]]:
    """Return (char, left, top, right, bottom) in mm from the page's top-left for each printed char."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        page = doc[page_no]
        height = page.get_height()
        textpage = page.get_textpage()
        out = []
        for i in range(textpage.count_chars()):
            char = textpage.get_text_range(i, 1)
            if not char.strip():
                continue
            left, bottom, right, top = textpage.get_charbox(i)
            out.append((char, left * PT_MM, (height - top) * PT_MM, right * PT_MM, (height - bottom) * PT_MM))
        return out
    finally:
        doc.close()


# --- data -------------------------------------------------------------------------------------------


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


@pytest.fixture
def make_copy(session, library):
    """Return a function adding one copy with a typed accession number to a new record."""

    def make(number: str, title: str = "Dế Mèn phiêu lưu ký", **values):
        record = create_record(
            session,
            marc.build_record(title, authors=["Tô Hoài"], year=2019, classification="895.9223"),
            actor_id=None,
        )
        item_values = {"library_id": library.id, "class_number": "895.9223", "author_mark": "HOA"}
        item_values.update(values)
        (item,) = add_items(session, record, accession_numbers=[number], values=item_values, actor_id=None)
        session.commit()
        return item

    return make


@pytest.fixture
def three(make_copy):
    return [
        make_copy("VN.00001", MISERABLES, class_number="843", author_mark="HUG"),
        make_copy("VN.00002"),
        make_copy("VV.00003", "Truyện Kiều", class_number="895.9221", author_mark="DU"),
    ]


def render(labels, template: str = "a4-3x8", **kwargs) -> tuple[bytes, object]:
    out = io.BytesIO()
    report = render_pdf(get_template(template), labels, out, **kwargs)
    return out.getvalue(), report


# --- domain -----------------------------------------------------------------------------------------


def test_qr_copy_labels_decode_to_the_short_address_and_vietnamese_is_in_the_text(session, three):
    labels, unknown = copy_labels_domain.copy_labels(
        session, ["VN.00001", "vn.00002", "VV.00003"], base_url=BASE
    )
    assert unknown == []
    pdf, report = render(labels)
    assert report.pages == 1
    assert decoded(pdf) == [f"{BASE}/c/VN.00001", f"{BASE}/c/VN.00002", f"{BASE}/c/VV.00003"]
    text = flat(text_layer(pdf))
    assert MISERABLES in text and "Truyện Kiều" in text
    assert "843 HUG" in text and "895.9221 DU" in text


@pytest.mark.parametrize("template", ["a4-3x8", "a4-2x7", "a4-4x10", "a4-5x13", "roll-50x30", "roll-100x50"])
def test_barcode_copy_labels_decode_to_the_accession_number_on_every_template(session, three, template):
    labels, _ = copy_labels_domain.copy_labels(
        session, ["VN.00001", "VN.00002", "VV.00003"], base_url=BASE, code="code128"
    )
    pdf, _report = render(labels, template)
    found = [code for page in decode_pages(pdf) for code in page]
    assert sorted(found) == [("Code128", "VN.00001"), ("Code128", "VN.00002"), ("Code128", "VV.00003")]


@pytest.mark.parametrize("template", ["a4-4x10", "a4-5x13", "roll-50x30"])
def test_qr_copy_labels_decode_on_small_templates(session, three, template):
    labels, _ = copy_labels_domain.copy_labels(session, ["VN.00001", "VV.00003"], base_url=BASE)
    pdf, _report = render(labels, template)
    assert decoded(pdf) == [f"{BASE}/c/VN.00001", f"{BASE}/c/VV.00003"]


def test_spine_labels_put_the_call_number_over_lines(session, three, make_copy):
    make_copy("VN.00010", "Tắt đèn", class_number="", author_mark="", call_number="895.9223 PHU T.2")
    labels, _ = copy_labels_domain.copy_labels(session, ["VN.00001", "VN.00010"], base_url=BASE, kind="spine")
    pdf, _report = render(labels, "a4-5x13")
    lines = [line.strip() for line in text_layer(pdf).splitlines() if line.strip()]
    assert lines == ["843", "HUG", "2019", "TVT", "895.9223", "PHU", "T.2", "TVT"]
    assert decoded(pdf) == []  # a spine label has no code


def test_spine_lines_of_imported_and_catalogued_call_numbers():
    assert copy_labels_domain.spine_lines("895.9223 HOA", "895.9223", "HOA", 2019) == [
        "895.9223",
        "HOA",
        "2019",
    ]
    assert copy_labels_domain.spine_lines("895.9223 HOA T.2", "", "", 2019) == ["895.9223", "HOA", "T.2"]
    assert copy_labels_domain.spine_lines("  3K5H  TR 1998 ", "", "", None) == ["3K5H", "TR", "1998"]
    assert copy_labels_domain.spine_lines("", "", "", 2019) == []


def test_a_500_character_title_stays_inside_its_label(session, make_copy):
    make_copy("VN.00500", "Truyện " + "rất dài " * 62 + "hết")
    make_copy("VN.00501")
    labels, _ = copy_labels_domain.copy_labels(session, ["VN.00500", "VN.00501"], base_url=BASE)
    template = get_template("a4-3x8")
    pdf, _report = render(labels, "a4-3x8")
    boxes = char_boxes_mm(pdf)
    assert len(boxes) > 100
    slots = [template.origin(0), template.origin(1)]
    tolerance = 0.3
    for char, left, top, right, bottom in boxes:
        assert any(
            x - tolerance <= left
            and right <= x + template.label_width + tolerance
            and y - tolerance <= top
            and bottom <= y + template.label_height + tolerance
            for x, y in slots
        ), f"{char!r} at ({left:.1f}, {top:.1f})–({right:.1f}, {bottom:.1f}) mm is outside its label"
    assert "…" in text_layer(pdf)
    assert decoded(pdf) == [f"{BASE}/c/VN.00500", f"{BASE}/c/VN.00501"]


def test_unknown_numbers_are_listed_and_the_rest_printed(session, three):
    labels, unknown = copy_labels_domain.copy_labels(
        session, ["VN.00001", "XX.99999", "VN.00002", "VN.00001", "YY.1"], base_url=BASE
    )
    assert unknown == ["XX.99999", "YY.1"]
    assert len(labels) == 2  # the repeated number is printed once
    pdf, _report = render(labels)
    assert decoded(pdf) == [f"{BASE}/c/VN.00001", f"{BASE}/c/VN.00002"]


def test_unknown_numbers_refused_on_request(session, three):
    with pytest.raises(copy_labels_domain.UnknownAccessions) as caught:
        copy_labels_domain.copy_labels(session, ["VN.00001", "XX.99999"], base_url=BASE, on_unknown="refuse")
    assert caught.value.unknown == ["XX.99999"]
    assert "XX.99999" in str(caught.value)


def test_all_unknown_and_empty_selections_are_refused(session, three):
    with pytest.raises(copy_labels_domain.UnknownAccessions, match="None of the accession numbers"):
        copy_labels_domain.copy_labels(session, ["XX.1", "XX.2"], base_url=BASE)
    with pytest.raises(ValidationError, match="nothing to print"):
        copy_labels_domain.copy_labels(session, ["", "  "], base_url=BASE)


def test_start_position_past_the_end_of_the_sheet(session, three):
    labels, _ = copy_labels_domain.copy_labels(session, ["VN.00001"], base_url=BASE)
    with pytest.raises(LabelError, match="past the end"):
        render(labels, "a4-3x8", start_position=25)
    pdf, report = render(labels, "a4-3x8", start_position=24)
    assert report.placements[0].slot == 23 and decoded(pdf) == [f"{BASE}/c/VN.00001"]


def test_parsing_typed_and_uploaded_numbers():
    assert copy_labels_domain.parse_accessions(' vn.00001, VN.00002;"VN.00003"\n\tVV.1 ') == [
        "VN.00001",
        "VN.00002",
        "VN.00003",
        "VV.1",
    ]
    csv_data = 'Tên sách,Số ĐKCB\nTruyện Kiều,VN.00001\n"Dế Mèn, phiêu lưu ký",vn.00002\n'.encode()
    assert copy_labels_domain.parse_accession_file(csv_data, "list.csv") == ["VN.00001", "VN.00002"]
    plain = "\ufeffVN.00001\r\nVN.00002\r\n".encode()
    assert copy_labels_domain.parse_accession_file(plain, "list.txt") == ["VN.00001", "VN.00002"]


# --- the page -------------------------------------------------------------------------------------


def test_page_prefilled_from_the_address(client, logged_in, three):
    logged_in(Role.CATALOGUER)
    html = client.get("/catalog/labels?accessions=VN.00001,vn.00002").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*name="accessions"[^>]*>\s*VN.00001\nVN.00002</textarea>', html)


def test_preview_then_pdf_with_an_unknown_number_listed(client, logged_in, three):
    logged_in(Role.CATALOGUER)
    form = {
        "accessions": "VN.00001\nXX.404\nVV.00003",
        "kind": "copy",
        "code": "qr",
        "on_unknown": "skip",
        "template": "a4-3x8",
        "start_position": "2",
        "printer_id": "",
    }
    response = post_form(client, "/catalog/labels", {**form, "action": "preview"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-number="XX.404"' in html and 'data-count="2"' in html
    assert html.count('data-used="yes"') == 2 and "<svg" in html
    pdf = post_form(client, "/catalog/labels", {**form, "action": "pdf"}, page="/catalog/labels")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert decoded(pdf.data) == [f"{BASE}/c/VN.00001", f"{BASE}/c/VV.00003"]


def test_uploaded_csv_and_spine_labels(client, logged_in, three):
    logged_in(Role.ACQUISITIONS)
    html = client.get("/catalog/labels").get_data(as_text=True)
    data = {
        "csrf_token": csrf_from(html),
        "accessions": "",
        "file": (io.BytesIO("Số ĐKCB\nVN.00001\nVN.00002\n".encode()), "nhan.csv"),
        "kind": "spine",
        "code": "qr",
        "on_unknown": "skip",
        "template": "a4-5x13",
        "start_position": "1",
        "printer_id": "",
        "action": "pdf",
    }
    response = client.post("/catalog/labels", data=data, content_type="multipart/form-data")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = text_layer(response.data)
    assert "843" in text and "HUG" in text and "895.9223" in text


def test_refused_unknown_numbers_and_bad_start_are_shown_on_the_form(client, logged_in, three):
    logged_in(Role.CATALOGUER)
    client.get("/lang/en")
    base = {"kind": "copy", "code": "qr", "template": "a4-3x8", "printer_id": "", "action": "pdf"}
    refused = post_form(
        client,
        "/catalog/labels",
        {**base, "accessions": "VN.00001 XX.404", "on_unknown": "refuse", "start_position": "1"},
    )
    assert refused.status_code == 422 and refused.mimetype == "text/html"
    html = refused.get_data(as_text=True)
    assert 'data-number="XX.404"' in html and "Nothing was printed" in html
    past = post_form(
        client,
        "/catalog/labels",
        {**base, "accessions": "VN.00001", "on_unknown": "skip", "start_position": "25"},
    )
    assert past.status_code == 422 and "past the end of the sheet" in past.get_data(as_text=True)
    empty = post_form(
        client, "/catalog/labels", {**base, "accessions": "", "on_unknown": "skip", "start_position": "1"}
    )
    assert empty.status_code == 422 and "nothing to print" in empty.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.POINT_OPERATOR, Role.VIEWER])
def test_point_operators_and_viewers_cannot_print_copy_labels(client, logged_in, three, role):
    logged_in(role)
    assert client.get("/catalog/labels?accessions=VN.00001").status_code == 403
    assert client.post("/catalog/labels", data={"accessions": "VN.00001", "action": "pdf"}).status_code in (
        400,
        403,
    )


def test_post_without_csrf_token_is_refused(client, logged_in, three):
    logged_in(Role.CATALOGUER)
    response = client.post(
        "/catalog/labels",
        data={
            "accessions": "VN.00001",
            "kind": "copy",
            "code": "qr",
            "on_unknown": "skip",
            "template": "a4-3x8",
            "action": "pdf",
        },
    )
    assert response.status_code == 400 and response.mimetype == "text/html"


# --- the CLI ------------------------------------------------------------------------------------------


def test_cli_copies_from_numbers_and_from_a_file(runner, three, tmp_path):
    out = tmp_path / "nhan.pdf"
    result = runner.invoke(args=["labels", "copies", "-a", "VN.00001", "-a", "XX.404", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "XX.404" in result.output
    assert decoded(out.read_bytes()) == [f"{BASE}/c/VN.00001"]
    listing = tmp_path / "so.txt"
    listing.write_text("VN.00002\nVV.00003\n", encoding="utf-8")
    spine = tmp_path / "gay.pdf"
    result = runner.invoke(
        args=[
            "labels",
            "copies",
            "--from-file",
            str(listing),
            "--kind",
            "spine",
            "--start",
            "3",
            "-o",
            str(spine),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "895.9221" in text_layer(spine.read_bytes())
    barcode = tmp_path / "ma.pdf"
    result = runner.invoke(
        args=[
            "labels",
            "copies",
            "-a",
            "VN.00002",
            "--code",
            "code128",
            "--template",
            "a4-5x13",
            "-o",
            str(barcode),
        ]
    )
    assert result.exit_code == 0, result.output
    assert decoded(barcode.read_bytes()) == ["VN.00002"]


def test_cli_bad_input_exits_1_with_one_line(runner, three, tmp_path):
    out = tmp_path / "x.pdf"
    cases = [
        (["-a", "XX.1", "-a", "XX.2"], "None of the accession numbers"),
        (["-a", "VN.00001", "-a", "XX.2", "--on-unknown", "refuse"], "XX.2"),
        (["-a", "VN.00001", "--template", "a4-9x9"], "Unknown label template"),
        (["-a", "VN.00001", "--start", "99"], "past the end"),
    ]
    for extra, message in cases:
        result = runner.invoke(args=["labels", "copies", *extra, "--output", str(out)])
        assert result.exit_code == 1, (extra, result.output)
        assert message in result.output and len(result.output.strip().splitlines()) == 1
        assert not out.exists()


def test_cli_usage_errors_exit_2(runner, three, tmp_path):
    out = str(tmp_path / "x.pdf")
    assert runner.invoke(args=["labels", "copies", "--output", out]).exit_code == 2
    both = tmp_path / "a.txt"
    both.write_text("VN.00001", encoding="utf-8")
    assert (
        runner.invoke(
            args=["labels", "copies", "-a", "VN.00001", "--from-file", str(both), "-o", out]
        ).exit_code
        == 2
    )
    assert (
        runner.invoke(args=["labels", "copies", "-a", "VN.00001", "--kind", "box", "-o", out]).exit_code == 2
    )
    assert runner.invoke(args=["labels", "copies", "-a", "VN.00001"]).exit_code == 2


def test_page_prefilled_with_the_copies_of_search_hits(client, logged_in, session, three, make_copy):
    withdrawn = make_copy("VN.00099", status="withdrawn")
    logged_in(Role.CATALOGUER)
    records = f"{three[2].record_id},{three[0].record_id},{withdrawn.record_id},x"
    html = client.get(f"/catalog/labels?records={records}&kind=spine").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*name="accessions"[^>]*>\s*VV.00003\nVN.00001</textarea>', html)
    assert re.search(r'<option selected value="a4-5x13"|<option[^>]*value="a4-5x13"[^>]*selected', html)
