"""A librarian's first minutes, in a real headless Chromium, on a desktop and on a phone."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def _open_menu_if_folded(page):
    toggle = page.locator("label.nav-toggle-label")
    if toggle.is_visible():
        toggle.click()


def test_login_switch_language_create_site_and_find_it(page, live_server, make_user, make_site):
    admin = make_user(role="admin", full_name="Cầm Thị Thư")
    make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind="provincial_library")

    page.goto(f"{live_server}/")
    expect(page).to_have_url(re.compile(r"/login"))
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    screenshot(page, "login")

    page.get_by_label("Tên đăng nhập").fill(admin.username)
    page.get_by_label("Mật khẩu").fill("sai-mat-khau")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("alert")).to_contain_text("Sai tên đăng nhập hoặc mật khẩu")

    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name=re.compile("Cầm Thị Thư"))).to_be_visible()
    screenshot(page, "home-vi")

    # Switch to English and back.
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name=re.compile("Welcome"))).to_be_visible()
    page.get_by_role("link", name="Tiếng Việt").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")

    # Create a rotation point through the form.
    _open_menu_if_folded(page)
    page.get_by_role("link", name="Mạng lưới").click()
    page.get_by_role("link", name="Thêm thư viện/điểm").click()
    page.get_by_label("Mã", exact=True).fill("BDVH-PL")
    page.get_by_label("Tên", exact=True).fill("Điểm Bưu điện – Văn hóa xã Phổng Lái")
    page.get_by_label("Loại", exact=True).select_option("post_culture_point")
    page.get_by_label("Sức chứa (cuốn)").fill("300")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("heading", name=re.compile("Phổng Lái"))).to_be_visible()
    screenshot(page, "site-created")

    # Find it in the list by typing without diacritics.
    _open_menu_if_folded(page)
    page.get_by_role("link", name="Mạng lưới").click()
    page.get_by_role("searchbox").fill("phong lai")
    page.get_by_role("button", name="Lọc").click()
    expect(page.get_by_role("link", name=re.compile("Phổng Lái"))).to_be_visible()
    expect(page.get_by_text("Thư viện tỉnh Sơn La")).to_have_count(0)
    screenshot(page, "sites-search")
