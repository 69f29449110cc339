"""An intake in headless Chromium: create, add a catalogued title, receive, download the general register."""

import re
import subprocess

import pytest
from playwright.sync_api import expect

from app.network.models import SiteKind
from app.timeutil import local_today
from catalog import marc
from catalog.services import create_record, create_sequence
from tests.browser.conftest import screenshot
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_intake_to_general_register_pdf(page, live_server, session, make_site, make_user, tmp_path):
    library = make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)
    create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    create_record(
        session,
        marc.build_record("Dế Mèn phiêu lưu ký", authors=["Tô Hoài"], publisher="Kim Đồng", year=2019),
        actor_id=None,
    )
    session.commit()
    user = make_user(role="acquisitions", username="bosung", full_name="Cầm Thị Hoa")

    page.goto(f"{live_server}/login")
    page.get_by_label("Tên đăng nhập").fill(user.username)
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).not_to_have_url(re.compile(r"/login"))

    # The intake's header.
    page.goto(f"{live_server}/acquisitions/intakes/new")
    page.locator("#library_id").select_option(str(library.id))
    page.locator("#intake_date").fill(local_today().isoformat())
    page.locator("#document_number").fill("HĐ 0099")
    page.locator("#save-intake").click()
    expect(page).to_have_url(re.compile(r"/acquisitions/intakes/\d+"))

    # A line: the title found in the catalogue, 5 copies at 85.000 đ.
    page.locator("#find-q").fill("De Men")
    page.locator("#find-q").press("Enter")
    row = page.locator("#hits tbody tr").first
    expect(row).to_contain_text("Dế Mèn phiêu lưu ký")
    row.locator("input[name=copies]").fill("5")
    row.locator("input[name=unit_price_vnd]").fill("85000")
    row.locator("button[type=submit]").click()
    expect(page.locator("#intake-lines")).to_contain_text("Dế Mèn phiêu lưu ký")
    expect(page.locator("#total-copies")).to_contain_text("5")

    # Receive it: five numbered copies and general-register number 1.
    page.locator("#receive").click()
    page.locator("#confirm-receive").click()
    expect(page.locator("#register-number")).to_contain_text("1")
    expect(page.locator("#ranges")).to_contain_text("VN.00001")
    screenshot(page, "acquisitions-intake-received")

    # The general register of the year, as PDF.
    page.goto(f"{live_server}/acquisitions/registers")
    page.locator("#library_id").select_option(str(library.id))
    page.locator("#kind").select_option("general")
    page.locator("#format").select_option("pdf")
    screenshot(page, "acquisitions-registers")
    with page.expect_download() as info:
        page.locator("#download-register").click()
    download = info.value
    assert download.suggested_filename.startswith("so-tong-quat_TVT_")
    path = tmp_path / "register.pdf"
    download.save_as(str(path))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout
    text = text.decode("utf-8")
    assert "SỔ ĐĂNG KÝ TỔNG QUÁT" in text and "THƯ VIỆN TỈNH SƠN LA" in text
    line = next(line for line in text.splitlines() if "HĐ 0099" in line)
    assert re.search(r"^\s*1\s+" + re.escape(local_today().strftime("%d/%m/%Y")), line)
    assert re.search(r"\b5\s+1\s+5\s+0\s+0\s+425\.000\b", line)  # copies, titles, Vietnamese, value


def test_stock_check_scanning_updates_the_counts_in_place(page, live_server, session, make_site, make_user):
    from catalog.services import add_items

    library = make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    record = create_record(session, marc.build_record("Truyện cổ Thái Sơn La"), actor_id=None)
    items = add_items(
        session,
        record,
        count=3,
        sequence_id=seq.id,
        values={"library_id": library.id, "status": "available"},
        actor_id=None,
    )
    session.commit()
    numbers = [i.accession_number for i in items]
    user = make_user(role="acquisitions", username="kiemke")

    page.goto(f"{live_server}/login")
    page.get_by_label("Tên đăng nhập").fill(user.username)
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    page.goto(f"{live_server}/acquisitions/stock-checks")
    page.locator("#library_id").select_option(str(library.id))
    page.locator("#start-check").click()
    expect(page).to_have_url(re.compile(r"/acquisitions/stock-checks/\d+$"))
    page.evaluate("window.stillTheSamePage = true")
    box = page.locator("#scan-form #code")
    expect(box).to_be_focused()
    for number, found in ((numbers[0], "1"), (numbers[0], "1"), (numbers[2], "2")):
        box.fill(number)  # a keyboard-wedge scanner: the number, then Enter
        box.press("Enter")
        expect(page.locator("#count-found")).to_have_text(found)
        expect(page.locator("#scan-message")).to_contain_text(number)
        expect(box).to_be_focused()
        expect(box).to_have_value("")
    expect(page.locator("#count-missing")).to_have_text("1")
    assert page.evaluate("window.stillTheSamePage === true")  # no reload: the script posted by fetch
    screenshot(page, "acquisitions-stock-check")
