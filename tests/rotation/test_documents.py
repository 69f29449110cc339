"""Rotation documents: handover record, packing list and return record as Vietnamese PDFs."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest
from sqlalchemy import select

from app.auth.models import Role
from catalog.models import Item, Record
from rotation import documents as docs
from rotation import shipment_queries as q
from rotation.models import BatchItem, Resolution
from rotation.services import shipments as svc
from tests.conftest import post_form
from tests.rotation import test_shipments as base

library, point, point2, make_copies, make_batch = (
    base.library,
    base.point,
    base.point2,
    base.make_copies,
    base.make_batch,
)
send, get_in = base.send, base.get_in

PDFTOTEXT = shutil.which("pdftotext") or (
    "/usr/bin/pdftotext" if shutil.os.path.exists("/usr/bin/pdftotext") else None
)
needs_pdftotext = pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")

TITLE = "Dế Mèn phiêu lưu ký"


def pdf_pages(content: bytes, tmp_path) -> list[str]:
    """Return the text of each page of a PDF (pdftotext separates pages with form feeds)."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(content)
    text = subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], check=True, capture_output=True).stdout
    pages = text.decode("utf-8").split("\f")
    return [page for page in pages if page.strip()]


def vietnamese_batch(session, make_batch, make_copies, n: int = 3):
    """A batch whose first record is titled with diacritics and has a call number."""
    copies = make_copies(n)
    record = session.get(Record, copies[0].record_id)
    record.title = TITLE
    for copy in copies:
        copy.call_number = "895.9223 T-H"
    session.commit()
    return make_batch(items=copies), copies


# --- pure documents ---


def test_handover_pdf_from_plain_data(tmp_path):
    data = docs.HandoverData(
        number="1/BBBG-LC",
        batch_code="LC-2026-0001",
        day=date(2026, 3, 5),
        giver=docs.Party("Thư viện tỉnh Sơn La", "Nguyễn Văn An"),
        receiver=docs.Party("Điểm BĐVHX Chiềng Cơi", "Lò Thị Xuân"),
        copies=[docs.CopyRow("VN.00001", TITLE + " " + "rất dài " * 20, "895.9223")],
    )
    content = docs.handover_pdf(data)
    assert content.startswith(b"%PDF")
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = " ".join(pdf_pages(content, tmp_path))
    assert "Sơn La, ngày 05 tháng 03 năm 2026" in text and "Lò Thị Xuân" in text
    assert "(Ký, ghi rõ họ tên)" in text and "Tổng cộng: 1 bản sách" in text
    assert "Trang 1/1" in text


def test_date_line():
    assert docs.date_line("Sơn La", date(2026, 11, 7)) == "Sơn La, ngày 07 tháng 11 năm 2026"


def test_return_record_lists_differences_with_resolutions(tmp_path):
    data = docs.ReturnData(
        number="9",
        batch_code="LC-2026-0002",
        day=date(2026, 6, 1),
        giver=docs.Party("Điểm BĐVHX Chiềng Cơi"),
        receiver=docs.Party("Thư viện tỉnh Sơn La"),
        expected=3,
        rows=[
            docs.ReturnRow("VN.1", TITLE, "", "received"),
            docs.ReturnRow("VN.2", "Tắt đèn", "", "damaged", "written_off_damaged"),
            docs.ReturnRow("VN.3", "Số đỏ", "", "missing", None),
            docs.ReturnRow("VN.9", "Truyện Kiều", "", "extra", "returned_to_owner"),
        ],
    )
    assert (data.returned, data.count("missing"), data.count("extra")) == (2, 1, 1)
    if PDFTOTEXT is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = " ".join(pdf_pages(docs.return_pdf(data), tmp_path))
    assert "Xuất kho (hư hỏng)" in text and "Chưa xử lý" in text and "Trả lại đơn vị sở hữu" in text
    assert "Số đỏ" in text and "Truyện Kiều" in text and TITLE not in text  # only differences listed


# --- from the database ---


@needs_pdftotext
def test_handover_record_of_a_shipment(session, make_batch, make_copies, point, library, tmp_path):
    point.contact_person = "Lò Thị Xuân"
    session.commit()
    batch, copies = vietnamese_batch(session, make_batch, make_copies)
    shipment = send(session, batch, point)
    content = docs.handover_pdf(docs.handover_data(session, shipment))
    assert content.startswith(b"%PDF")
    text = " ".join(pdf_pages(content, tmp_path))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    assert "BIÊN BẢN BÀN GIAO TÀI LIỆU LUÂN CHUYỂN" in text
    assert TITLE in text and copies[0].accession_number in text and "895.9223 T-H" in text
    assert library.name in text and point.name in text and "Lò Thị Xuân" in text
    assert batch.code in text and "Tổng cộng: 3 bản sách" in text and "Trang 1/1" in text


@needs_pdftotext
def test_a_300_copy_handover_record_repeats_the_header_on_every_page(
    session, make_batch, make_copies, point, tmp_path
):
    batch = make_batch(300)
    shipment = send(session, batch, point)
    pages = pdf_pages(docs.handover_pdf(docs.handover_data(session, shipment)), tmp_path)
    assert len(pages) > 3
    for number, page in enumerate(pages, 1):
        assert f"Trang {number}/{len(pages)}" in page
        if number < len(pages) or "VN" in page:
            assert "Số ĐKCB" in page and "Tên sách" in page and "Ký hiệu xếp giá" in page
    text = "".join(pages)
    accessions = session.scalars(
        select(Item.accession_number)
        .join(BatchItem, BatchItem.item_id == Item.id)
        .where(BatchItem.batch_id == batch.id)
    ).all()
    assert all(acc in text for acc in accessions)
    assert "Tổng cộng: 300 bản sách" in pages[-1]


@needs_pdftotext
def test_packing_list_of_a_batch(session, make_batch, make_copies, tmp_path):
    batch, copies = vietnamese_batch(session, make_batch, make_copies)
    batch.box_count, batch.seal_number = 2, "NP-0042"
    session.commit()
    content = docs.packing_pdf(docs.packing_data(session, batch))
    text = " ".join(pdf_pages(content, tmp_path))
    assert "PHIẾU ĐÓNG GÓI LÔ SÁCH LUÂN CHUYỂN" in text and batch.code in text and "NP-0042" in text
    assert TITLE in text and copies[2].accession_number in text and "Trang 1/1" in text


@needs_pdftotext
def test_return_record_of_a_counted_return(session, make_batch, make_copies, point, library, tmp_path):
    batch, copies = vietnamese_batch(session, make_batch, make_copies)
    get_in(session, send(session, batch, point))
    back = send(session, batch, library)
    get_in(session, back)
    lines = q.lines_of(session, back.id)
    svc.scan_return(session, back, lines[0].item.accession_number, actor_id=None)
    svc.scan_return(session, back, lines[1].item.accession_number, actor_id=None, damaged=True)
    svc.finish_count(session, back, actor_id=None)
    session.commit()
    missing = next(line for line in q.lines_of(session, back.id) if line.state == "missing")
    svc.resolve(session, missing, Resolution.WRITTEN_OFF_LOST, actor_id=None)
    session.commit()
    data = docs.return_data(session, back)
    assert (data.expected, data.returned, data.count("missing"), data.count("damaged")) == (3, 2, 1, 1)
    text = " ".join(pdf_pages(docs.return_pdf(data), tmp_path))
    assert "BIÊN BẢN KIỂM ĐẾM TÀI LIỆU LUÂN CHUYỂN TRẢ VỀ" in text
    assert missing.item.accession_number in text and "Xuất kho (mất)" in text and "Trang 1/1" in text


# --- web ---


def test_routes_serve_pdf_to_staff_and_refuse_point_operators(
    client, session, logged_in, make_batch, make_copies, point, library
):
    batch, _copies = vietnamese_batch(session, make_batch, make_copies)
    out = send(session, batch, point)
    get_in(session, out)
    back = send(session, batch, library)
    urls = [
        f"/rotation/shipments/{out.id}/handover.pdf",
        f"/rotation/batches/{batch.code.lower()}/packing.pdf",
        f"/rotation/returns/{back.id}/record.pdf",
    ]
    logged_in(Role.ROTATION)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("inline;") and ".pdf" in disposition
    assert client.get(f"/rotation/returns/{out.id}/record.pdf").status_code == 404  # not a return
    assert client.get("/rotation/shipments/999999/handover.pdf").status_code == 404
    assert client.get("/rotation/batches/NOPE/packing.pdf").status_code == 404
    post_form(client, "/logout", {}, page="/")
    logged_in(Role.POINT_OPERATOR, sites=[point])
    for url in urls:
        assert client.get(url).status_code == 403, url
