"""Label options on the label pages and in the CLI: saved printers move the labels by their offset,
custom sizes, previews of long jobs, and printing the copies of an intake (`?intake=ID`)."""

# ruff: noqa: F811  (pytest fixtures imported from test_labels and used as arguments)
from __future__ import annotations

import io
import re
from datetime import date

import pytest

from app.auth.models import Role
from app.labels.services import create_printer
from catalog import marc
from catalog.acquisitions import services as acq
from catalog.services import create_record, create_sequence
from tests.catalog.test_labels import BASE, decode_pages, decoded, library, make_copy, three  # noqa: F401 (fixtures)
from tests.conftest import post_form
from tests.labels.test_engine_readback import TOLERANCE, dark_bbox_mm, to_images

PAGE = (0, 0, 210, 297)
FORM = {
    "accessions": "VN.00001\nVN.00002\nVV.00003",
    "kind": "copy",
    "code": "qr",
    "on_unknown": "skip",
    "template": "a4-3x8",
    "start_position": "1",
    "printer_id": "",
}


@pytest.fixture
def printer(session):
    row = create_printer(
        session,
        {"name": "Máy in kho", "offset_x": "1.5", "offset_y": "-2", "default_template": "a4-2x7"},
        actor_id=None,
    )
    session.commit()
    return row


def first_page_bbox(pdf: bytes) -> tuple[float, float, float, float]:
    (image,) = to_images(pdf, pages=1)
    box = dark_bbox_mm(image, PAGE)
    assert box is not None
    return box


def assert_moved(plain: bytes, moved: bytes, dx: float, dy: float) -> None:
    a, b = first_page_bbox(plain), first_page_bbox(moved)
    assert abs((b[0] - a[0]) - dx) <= TOLERANCE and abs((b[1] - a[1]) - dy) <= TOLERANCE
    assert abs((b[2] - a[2]) - dx) <= TOLERANCE and abs((b[3] - a[3]) - dy) <= TOLERANCE


# --- printers -------------------------------------------------------------------------------------


def test_the_printer_chosen_on_the_page_moves_every_label_by_its_offset(client, logged_in, three, printer):
    logged_in(Role.CATALOGUER)
    html = client.get("/catalog/labels").get_data(as_text=True)
    assert re.search(rf'<option[^>]*value="{printer.id}"[^>]*>Máy in kho</option>', html)
    plain = post_form(client, "/catalog/labels", {**FORM, "action": "pdf"})
    moved = post_form(
        client,
        "/catalog/labels",
        {**FORM, "printer_id": str(printer.id), "action": "pdf"},
        page="/catalog/labels",
    )
    assert plain.status_code == moved.status_code == 200 and moved.mimetype == "application/pdf"
    assert_moved(plain.data, moved.data, 1.5, -2.0)
    assert decoded(moved.data) == [f"{BASE}/c/VN.00001", f"{BASE}/c/VN.00002", f"{BASE}/c/VV.00003"]


def test_an_unknown_printer_id_is_refused_on_the_form(client, logged_in, three, printer):
    logged_in(Role.CATALOGUER)
    response = post_form(
        client, "/catalog/labels", {**FORM, "printer_id": str(printer.id + 99), "action": "pdf"}
    )
    assert response.status_code == 400 and response.mimetype != "application/pdf"
    assert 'id="printer_id"' in response.get_data(as_text=True)


def test_cli_printer_moves_the_labels_and_brings_its_usual_template(runner, three, printer, tmp_path):
    plain, moved, usual = tmp_path / "plain.pdf", tmp_path / "moved.pdf", tmp_path / "usual.pdf"
    args = ["labels", "copies", "-a", "VN.00001", "-a", "VN.00002"]
    result = runner.invoke(args=[*args, "--template", "a4-3x8", "-o", str(plain)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=[*args, "--template", "a4-3x8", "--printer", "Máy in kho", "-o", str(moved)])
    assert result.exit_code == 0, result.output
    assert "copy labels: 2, pages: 1" in result.output
    assert_moved(plain.read_bytes(), moved.read_bytes(), 1.5, -2.0)
    # without --template: the printer's usual template, a4-2x7 (labels 99.1 mm wide, 2 columns)
    result = runner.invoke(args=[*args, "--printer", "Máy in kho", "-o", str(usual)])
    assert result.exit_code == 0, result.output
    left, top, right, bottom = first_page_bbox(usual.read_bytes())
    assert right > 110  # the second label starts right of 99.1 mm (on a4-3x8 two labels end before 140)
    page = decode_pages(usual.read_bytes())[0]
    assert sorted(text for _fmt, text in page) == [f"{BASE}/c/VN.00001", f"{BASE}/c/VN.00002"]


def test_cli_unknown_printer_exits_1_with_one_line(runner, three, tmp_path):
    out = tmp_path / "x.pdf"
    result = runner.invoke(
        args=["labels", "copies", "-a", "VN.00001", "--printer", "Không có", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert "Không có" in result.output and "Traceback" not in result.output
    assert not out.exists()


# --- custom size and previews ---------------------------------------------------------------------


def test_custom_size_from_the_page(client, logged_in, three):
    logged_in(Role.CATALOGUER)
    custom = {
        **FORM,
        "template": "custom",
        "custom_width": "60",
        "custom_height": "30",
        "custom_columns": "2",
    }
    custom["custom_rows"] = "3"
    response = post_form(client, "/catalog/labels", {**custom, "action": "pdf"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert decoded(response.data) == [f"{BASE}/c/VN.00001", f"{BASE}/c/VN.00002", f"{BASE}/c/VV.00003"]
    # 2 columns of 60 mm centred on A4: the labels start at (210 - 120) / 2 = 45 mm
    left, _top, right, _bottom = first_page_bbox(response.data)
    assert 45 <= left < 60 and 105 < right <= 165
    client.get("/lang/en")
    wide = post_form(
        client,
        "/catalog/labels",
        {**custom, "custom_width": "150", "action": "pdf"},
        page="/catalog/labels",
    )
    assert wide.status_code == 422
    html = wide.get_data(as_text=True)
    assert re.search(
        r'id="custom_width"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="custom_width"', html
    )
    assert "too wide" in html


def test_preview_of_a_job_longer_than_a_sheet_counts_every_label(client, logged_in, three):
    logged_in(Role.CATALOGUER)
    response = post_form(client, "/catalog/labels", {**FORM, "start_position": "23", "action": "preview"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-count="3"' in html and 'data-pages="2"' in html
    assert html.count('data-used="yes"') == 2  # slots 23 and 24 of the first sheet


# --- the copies of an intake ------------------------------------------------------------------------


@pytest.fixture
def received(session, library):
    create_sequence(session, library_id=library.id, prefix="NB", width=5, actor_id=None)
    session.flush()
    record = create_record(
        session,
        marc.build_record("Nỗi buồn chiến tranh", authors=["Bảo Ninh"], year=2011, classification="895.9223"),
        actor_id=None,
    )
    intake = acq.create_intake(
        session, {"library_id": library.id, "intake_date": date(2026, 10, 1)}, actor_id=None
    )
    acq.add_line(session, intake.id, {"record_id": record.id, "copies": 3}, actor_id=None)
    session.commit()
    acq.receive_intake(session, intake.id, None)
    session.commit()
    return intake


def test_labels_of_an_intake(client, logged_in, session, received):
    numbers = acq.received_accessions(session, received.id)
    assert len(numbers) == 3
    logged_in(Role.ACQUISITIONS)
    intake_page = client.get(f"/acquisitions/intakes/{received.id}").get_data(as_text=True)
    assert f'href="/catalog/labels?intake={received.id}"' in intake_page
    html = client.get(f"/catalog/labels?intake={received.id}").get_data(as_text=True)
    assert re.search(
        r'<textarea[^>]*name="accessions"[^>]*>\s*' + re.escape("\n".join(numbers)) + "</textarea>", html
    )
    pdf = post_form(
        client,
        "/catalog/labels",
        {**FORM, "accessions": "\n".join(numbers), "action": "pdf"},
        page=f"/catalog/labels?intake={received.id}",
    )
    assert pdf.status_code == 200
    assert decoded(pdf.data) == sorted(f"{BASE}/c/{n}" for n in numbers)
    assert client.get(f"/catalog/labels?intake={received.id + 999}").status_code == 404


# --- large jobs -------------------------------------------------------------------------------------


def test_copy_labels_are_read_in_chunks_while_drawn(session, three, monkeypatch):
    from app.labels.engine import render_pdf
    from app.labels.presets import get_template
    from catalog import labels as copy_labels_domain

    monkeypatch.setattr(copy_labels_domain, "CHUNK", 2)
    labels, unknown = copy_labels_domain.copy_labels(
        session, ["vv.00003", "XX.1", "VN.00001", "VN.00002", "VN.00001"], base_url=BASE
    )
    assert unknown == ["XX.1"] and len(labels) == 3
    out = io.BytesIO()
    report = render_pdf(get_template("a4-3x8"), labels, out, report_pages=0)
    assert (report.count, report.placements) == (3, [])
    assert decoded(out.getvalue()) == [
        f"{BASE}/c/VN.00001",
        f"{BASE}/c/VN.00002",
        f"{BASE}/c/VV.00003",
    ]
    first = labels[:1]
    assert len(first) == 1
    out = io.BytesIO()
    render_pdf(get_template("a4-3x8"), first, out)
    assert decoded(out.getvalue()) == [f"{BASE}/c/VV.00003"]


def test_staff_search_results_link_to_labels_for_their_copies(client, logged_in, session):
    from catalog import marc
    from catalog.services import create_record

    record = create_record(session, marc.build_record("Truyện Kiều", authors=["Nguyễn Du"]), actor_id=None)
    session.commit()
    logged_in("cataloguer")
    page = client.get("/catalog/?q=kieu").get_data(as_text=True)
    assert f'href="/catalog/labels?records={record.id}"' in page
    # The public catalogue shares the template but never offers staff actions.
    assert 'id="print-labels"' not in client.get("/opac/?q=kieu").get_data(as_text=True)
