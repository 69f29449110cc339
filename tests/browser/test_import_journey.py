"""A cataloguer imports a MARC file in headless Chromium: upload, staging report, commit, find, edit."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.network.models import SiteKind
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

VIETNAMESE_FILE = Path(__file__).resolve().parents[1] / "data/marc/loc/loc_vietnamese_part1.mrc"


@pytest.fixture
def inline_imports(app, tmp_path, monkeypatch):
    """Run staging and commit inside the request, with uploads in a temporary folder."""
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path / "imports"))
    monkeypatch.setitem(app.config, "IMPORT_INLINE", True)


def test_upload_review_commit_find_and_edit(page, live_server, make_user, make_site, inline_imports):
    make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)
    cataloguer = make_user(role="cataloguer", username="bienmuc")

    page.goto(f"{live_server}/login")
    page.get_by_label("Tên đăng nhập").fill(cataloguer.username)
    page.get_by_label("Mật khẩu").fill("mat-khau-thu-nghiem")
    page.get_by_role("button", name="Đăng nhập").click()

    # Upload: the file is read and checked, nothing is saved yet.
    page.goto(f"{live_server}/catalog/import")
    page.get_by_label("Tệp MARC").set_input_files(str(VIETNAMESE_FILE))
    page.get_by_role("button", name="Tải lên và kiểm tra").click()
    expect(page.locator("#import-plan")).to_contain_text("Chưa lưu gì")
    expect(page.locator('[data-count="read"]')).to_have_text("60")
    expect(page.locator('[data-count="rejected"]')).to_have_text("0")
    screenshot(page, "import-staged")

    # The staff search finds nothing before the commit.
    page.goto(f"{live_server}/catalog/?q=che+lan+vien")
    expect(page.locator("#no-results")).to_be_visible()
    page.go_back()

    page.get_by_role("button", name="Xác nhận nhập").click()
    expect(page.locator("#import-result")).to_contain_text("Đã nhập")
    screenshot(page, "import-done")

    # Found without diacritics, opened, edited with the simple form.
    page.goto(f"{live_server}/catalog/?q=che+lan+vien")
    hit = page.get_by_role("link", name=re.compile("Thơ Chế Lan Viên"))
    expect(hit).to_be_visible()
    hit.click()
    expect(page.get_by_role("heading", name=re.compile("Thơ Chế Lan Viên"))).to_be_visible()
    page.get_by_role("link", name="Sửa", exact=True).click()
    page.get_by_label("Năm xuất bản").fill("2001")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Đã lưu biểu ghi.")).to_be_visible()
    expect(page.get_by_text("2001").first).to_be_visible()
    screenshot(page, "import-record-edited")
