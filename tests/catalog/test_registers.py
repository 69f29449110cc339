"""Registers: the PDF and XLSX read back against the database (page totals, carried forward), and the CLI."""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.network.models import SiteKind
from app.timeutil import local_today
from catalog import marc
from catalog.acquisitions import registers
from catalog.acquisitions import services as acq
from catalog.acquisitions import stockcheck as sc
from catalog.models import Item
from catalog.services import create_record, create_sequence

TODAY = local_today()
START, END = date(TODAY.year, 1, 1), date(TODAY.year, 12, 31)
# (title, author, language, copies, unit price) of each intake line.
LINES_1 = [
    ("Dế Mèn phiêu lưu ký", "Tô Hoài", "vie", 50, 85_000),
    ("Số đỏ", "Vũ Trọng Phụng", "vie", 40, 120_500),
]
LINES_2 = [("Vietnam: a history", "Karnow, Stanley", "eng", 30, 99_000)]


@pytest.fixture
def data(session, make_site):
    """A library with two received intakes (120 copies), three copies withdrawn and a closed stock check."""
    library = make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)
    make_site(code="TVMC", name="Thư viện huyện Mộc Châu", kind=SiteKind.DISTRICT_LIBRARY)
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    supplier = acq.create_supplier(session, {"name": "Công ty Sách Đông Á"}, actor_id=None)
    session.commit()
    numbers = []
    for document, source, lines in (("HĐ 0012", "purchase", LINES_1), ("QĐ 45/QĐ-SVH", "donation", LINES_2)):
        intake = acq.create_intake(
            session,
            {
                "library_id": library.id,
                "intake_date": TODAY,
                "source": source,
                "document_number": document,
                "supplier_id": supplier.id if source == "purchase" else None,
            },
            actor_id=None,
        )
        for title, author, language, copies, price in lines:
            record = create_record(
                session,
                marc.build_record(
                    title,
                    authors=[author],
                    language=language,
                    publisher="Kim Đồng",
                    place="Hà Nội",
                    year=2019,
                ),
                actor_id=None,
            )
            acq.add_line(
                session,
                intake.id,
                {"record_id": record.id, "copies": copies, "unit_price_vnd": price, "sequence_id": seq.id},
                actor_id=None,
            )
        session.commit()
        numbers += acq.receive_intake(session, intake.id, None).accession_numbers
        session.commit()
    acq.withdraw(session, library.id, numbers[:3], "damaged", "BB 05/2026", None)
    check = sc.start_check(session, library.id, actor_id=None)
    session.commit()
    for number in numbers[3:100]:
        sc.record_find(session, check.id, number, actor_id=None)
    sc.close_check(session, check.id, actor_id=None)
    session.commit()
    return library


def pdf_pages(content: bytes, tmp_path) -> list[str]:
    path = tmp_path / "register.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout
    return text.decode("utf-8").split("\f")[:-1]


def render(session, library, kind: str, fmt: str) -> bytes:
    out = io.BytesIO()
    registers.write_register(registers.build_register(session, library.id, kind, START, END), fmt, out)
    return out.getvalue()


def dots(text: str) -> int:
    return int(text.replace(".", ""))


def test_individual_register_pdf_pages_and_totals_match_the_database(session, data, tmp_path):
    copies = session.execute(
        select(Item.accession_number, Item.price_vnd)
        .where(Item.library_id == data.id)
        .order_by(Item.accession_number)
    ).all()
    price = dict(copies)
    pages = pdf_pages(render(session, data, "individual", "pdf"), tmp_path)
    assert len(pages) > 1
    seen: list[str] = []
    carried_count = carried_value = 0
    for n, page in enumerate(pages, 1):
        assert "SỔ ĐĂNG KÝ CÁ BIỆT" in page and "THƯ VIỆN TỈNH SƠN LA" in page
        assert f"Từ ngày 01/01/{TODAY.year} đến ngày 31/12/{TODAY.year}" in page
        assert f"Trang {n}/{len(pages)}" in page
        assert "Tác giả và tên sách" in page  # the table header on every page
        on_page = re.findall(r"\bVN\.?\d{5}\b", page)
        seen += on_page
        brought = re.search(r"Mang sang: (\d+) bản\s+([\d.]+)", page)
        assert (int(brought[1]), dots(brought[2])) == (carried_count, carried_value)
        page_total = re.search(r"Cộng trang: (\d+) bản\s+([\d.]+)", page)
        expected_value = sum(price[a] for a in on_page)
        assert (int(page_total[1]), dots(page_total[2])) == (len(on_page), expected_value)
        carried_count += len(on_page)
        carried_value += expected_value
        label = "Tổng cộng" if n == len(pages) else "Cộng dồn"
        running = re.search(label + r": (\d+) bản\s+([\d.]+)", page)
        assert (int(running[1]), dots(running[2])) == (carried_count, carried_value)
    assert seen == [a for a, _ in copies]  # every copy once, in accession order
    assert carried_value == 50 * 85_000 + 40 * 120_500 + 30 * 99_000
    text = "\n".join(pages)
    assert "Tô Hoài. Dế Mèn phiêu lưu ký" in text
    assert "Hà Nội: Kim Đồng" in text
    assert "BB 05/2026, " + TODAY.strftime("%d/%m/%Y") in text  # the withdrawn copies say when they left
    assert text.count("BB 05/2026") == 3


def test_individual_register_xlsx_has_one_row_per_copy(session, data):
    copies = session.execute(
        select(Item.accession_number, Item.price_vnd)
        .where(Item.library_id == data.id)
        .order_by(Item.accession_number)
    ).all()
    book = load_workbook(io.BytesIO(render(session, data, "individual", "xlsx")), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "THƯ VIỆN TỈNH SƠN LA" and rows[1][0] == "SỔ ĐĂNG KÝ CÁ BIỆT"
    assert rows[4][1] == "Số ĐKCB"
    body = rows[5:-1]
    assert [(r[1], r[5]) for r in body] == [tuple(c) for c in copies]
    assert body[0][2] == "Tô Hoài. Dế Mèn phiêu lưu ký"
    assert body[0][0].date() == TODAY and body[0][6] == 1  # date entered, general-register number
    assert rows[-1][0] == f"Tổng cộng: {len(copies)} bản" and rows[-1][5] == sum(p for _, p in copies)


def test_general_register_has_the_three_parts(session, data, tmp_path):
    pages = pdf_pages(render(session, data, "general", "pdf"), tmp_path)
    text = "\n".join(pages)
    assert "SỔ ĐĂNG KÝ TỔNG QUÁT" in text
    part1, part2, part3 = (
        next(p for p in pages if title in p) for title in ("PHẦN I", "PHẦN II", "PHẦN III")
    )
    first = next(line for line in part1.splitlines() if "HĐ 0012" in line)
    assert "Mua: Công ty Sách Đông Á" in first
    assert re.search(r"\b90\s+2\s+90\s+0\s+0\s+9\.070\.000\b", first)  # 50×85.000 + 40×120.500
    second = next(line for line in part1.splitlines() if "QĐ 45/QĐ-SVH" in line)
    assert "Biếu tặng" in second and re.search(r"\b30\s+1\s+0\s+0\s+30\s+2\.970\.000\b", second)
    assert re.search(r"Tổng cộng\s+120\s+3\s+90\s+0\s+30\s+12\.040\.000", part1)
    withdrawal = next(line for line in part2.splitlines() if "BB 05/2026" in line)
    assert "Hư hỏng" in withdrawal and re.search(r"\b3\s+255\.000\b", withdrawal)
    check = next(line for line in part3.splitlines() if "Toàn thư viện" in line)
    # 117 copies on the shelves, 97 of them scanned.
    assert re.search(r"\b117\s+97\s+20\s+0\b", check)


def test_general_register_xlsx_sheets(session, data):
    book = load_workbook(io.BytesIO(render(session, data, "general", "xlsx")), read_only=True)
    assert [ws.title for ws in book.worksheets] == ["Phần I - Vào sổ", "Phần II - Xuất", "Phần III - Kiểm kê"]
    part1 = list(book.worksheets[0].iter_rows(values_only=True))
    assert [r[0] for r in part1[5:-1]] == [1, 2]
    assert [r[4] for r in part1[5:-1]] == [90, 30] and part1[-1][9] == 12_040_000
    part3 = list(book.worksheets[2].iter_rows(values_only=True))
    assert part3[5][3:7] == (117, 97, 20, 0)


def test_a_register_of_an_empty_period_is_one_page(session, data, tmp_path):
    register = registers.individual_register(session, data.id, date(2001, 1, 1), date(2001, 12, 31))
    out = io.BytesIO()
    registers.write_pdf(register, out)
    (page,) = pdf_pages(out.getvalue(), tmp_path)
    assert "(Không có)" in page and "Trang 1/1" in page


def test_cli_register(runner, data, tmp_path):
    target = tmp_path / "so.pdf"
    argv = ["acquisitions", "register", "--library", "tvt", "--kind", "individual"]
    period = ["--from", START.isoformat(), "--to", END.isoformat()]
    result = runner.invoke(args=[*argv, *period, "--format", "pdf", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF") and "120 lines" in result.output

    xlsx = tmp_path / "so.xlsx"
    result = runner.invoke(args=[*argv[:-1], "general", *period, "--format", "xlsx", "--output", str(xlsx)])
    assert result.exit_code == 0, result.output
    assert load_workbook(xlsx, read_only=True).sheetnames[0] == "Phần I - Vào sổ"

    unknown = runner.invoke(args=[*argv[:3], "NOPE", *argv[4:], *period, "--output", str(tmp_path / "x.pdf")])
    assert (
        unknown.exit_code == 1 and len(unknown.output.strip().splitlines()) == 1 and "NOPE" in unknown.output
    )
    upside_down = runner.invoke(
        args=[*argv, "--from", "2026-12-31", "--to", "2026-01-01", "--output", "x.pdf"]
    )
    assert upside_down.exit_code == 1 and len(upside_down.output.strip().splitlines()) == 1
    not_a_date = runner.invoke(
        args=[*argv, "--from", "2026-13-01", "--to", "2026-12-31", "--output", "x.pdf"]
    )
    assert not_a_date.exit_code == 1 and "--from" in not_a_date.output
    assert not (tmp_path / "x.pdf").exists()

    bad_kind = runner.invoke(args=[*argv[:-1], "weekly", *period, "--output", "x.pdf"])
    assert bad_kind.exit_code == 2
    bad_format = runner.invoke(args=[*argv, *period, "--format", "docx", "--output", "x.pdf"])
    assert bad_format.exit_code == 2
    no_output = runner.invoke(args=[*argv, *period])
    assert no_output.exit_code == 2
