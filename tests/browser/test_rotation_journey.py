"""A batch's whole rotation in headless Chromium: assemble, plan, dispatch, phone receipt, return, close."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.network.models import SiteKind
from catalog import marc
from catalog.models import Item, ItemStatus
from catalog.services import add_items, create_record, create_sequence
from rotation.models import Batch, BatchStatus, Shipment, ShipmentKind
from tests.browser.conftest import VIEWPORTS, screenshot
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def _copies(session, library, n: int) -> list[Item]:
    """Add `n` available copies of one new record, held by `library`."""
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    record = create_record(session, marc.build_record("Truyện cổ Thái Sơn La"), actor_id=None)
    items = add_items(
        session,
        record,
        count=n,
        sequence_id=seq.id,
        values={"library_id": library.id, "status": ItemStatus.AVAILABLE.value},
        actor_id=None,
    )
    session.commit()
    return items


def _log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def _dispatch(page, live_server, code: str, to_site_id: int) -> int:
    """Send the batch from its dispatch page; return the new shipment's id."""
    page.goto(f"{live_server}/rotation/batches/{code}/dispatch")
    page.locator("#to_site_id").select_option(str(to_site_id))
    page.locator("#dispatch-form").get_by_role("button", name="Gửi đi").click()
    expect(page).to_have_url(re.compile(r"/rotation/shipments/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_assemble_plan_dispatch_receive_by_phone_return_and_close(
    page, browser, live_server, session, make_site, make_user
):
    library = make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)
    point = make_site(code="BDVH1", name="Điểm BĐVHX Chiềng Cơi", kind=SiteKind.POST_CULTURE_POINT)
    copies = _copies(session, library, 4)
    numbers = [c.accession_number for c in copies]
    staff = make_user(role="rotation", username="luanchuyen", full_name="Lò Văn Khánh")
    operator = make_user(role="point_operator", username="diemchiengcoi", sites=[point])

    # --- Staff: assemble a batch by scanning its copies, then seal it. ---
    _log_in(page, live_server, staff.username)
    page.goto(f"{live_server}/rotation/batches/new")
    page.locator("#home_library_id").select_option(str(library.id))
    page.get_by_role("button", name="Tạo lô sách").click()
    expect(page).to_have_url(re.compile(r"/rotation/batches/LC-"))
    code = page.locator("#batch-code").inner_text().strip()
    for number in numbers:
        page.locator("#scan-form #code").fill(number)
        page.locator("#scan-form #code").press("Enter")
        expect(page.locator("#copies")).to_contain_text(number)
    expect(page.locator("#copy-count")).to_have_attribute("data-count", str(len(numbers)))
    page.locator("#ready-form #seal_number").fill("NP-0042")
    page.get_by_role("button", name="Đánh dấu sẵn sàng gửi đi").click()
    expect(page.locator("#batch-status")).to_have_attribute("data-status", BatchStatus.READY.value)
    screenshot(page, "rotation-batch-ready")

    # --- Staff: a plan for next year shows the point in its grid. ---
    page.goto(f"{live_server}/rotation/plans")
    page.locator("#plan-form").get_by_role("button", name="Lập kế hoạch").click()
    expect(page).to_have_url(re.compile(r"/rotation/plans/\d+"))
    expect(page.locator("#plan-grid")).to_contain_text(point.code)
    screenshot(page, "rotation-plan")

    # --- Staff: dispatch the batch to the point. ---
    outbound_id = _dispatch(page, live_server, code, point.id)
    screenshot(page, "rotation-dispatched")

    # --- The point operator, on a phone, opens the QR label's address and confirms receipt. ---
    phone = browser.new_context(locale="vi-VN", **VIEWPORTS["phone"])
    phone.set_default_timeout(15_000)
    try:
        op = phone.new_page()
        op.viewport_name = "operator-phone"
        op_errors: list[str] = []
        op.on("pageerror", lambda exc: op_errors.append(str(exc)))
        _log_in(op, live_server, operator.username)
        op.goto(f"{live_server}/b/{code}")
        expect(op).to_have_url(re.compile(rf"/rotation/receive/{outbound_id}$"))
        expect(op.locator("#expected-count")).to_contain_text(str(len(numbers)))
        op.locator("#copies summary").click()
        missing = copies[-1]
        op.locator(f'input[name="missing"][value="{missing.id}"]').check()
        op.locator("#received_count").fill(str(len(numbers) - 1))
        op.locator("#received_by_name").fill("Quàng Thị Mai")
        screenshot(op, "rotation-receive")
        op.get_by_role("button", name="Xác nhận đã nhận").click()
        expect(op.locator("#received")).to_be_visible()
        expect(op.locator("body")).to_contain_text("Quàng Thị Mai")
        screenshot(op, "rotation-received")
        assert op_errors == [], f"JavaScript errors: {op_errors}"
    finally:
        phone.close()

    # --- Staff: the batch comes back; count it at the library, settle the missing copy, close. ---
    return_id = _dispatch(page, live_server, code, library.id)
    page.goto(f"{live_server}/rotation/returns/{return_id}")
    page.get_by_role("button", name="Các thùng sách đã về").click()
    expect(page.locator("#count-expected")).to_have_text(str(len(numbers)))
    for number in numbers[:-1]:
        page.locator("#scan-form #code").fill(number)
        page.locator("#scan-form #code").press("Enter")
        expect(page.locator("#scan-result")).to_contain_text(number)
    expect(page.locator("#count-returned")).to_have_text(str(len(numbers) - 1))
    page.get_by_role("button", name="Kết thúc kiểm đếm").click()
    expect(page.locator("#count-missing")).to_have_text("1")
    row = page.locator("#differences tbody tr", has_text=missing.accession_number)
    expect(row).to_have_count(1)
    row.locator('select[name="resolution"]').select_option("written_off_lost")
    row.get_by_role("button", name="Xử lý").click()
    expect(page.locator("#differences")).to_contain_text("Xuất kho do mất")
    screenshot(page, "rotation-return-settled")
    page.get_by_role("button", name="Đóng lô sách").click()
    expect(page.locator("#batch-closed")).to_be_visible()
    screenshot(page, "rotation-closed")

    # --- The database agrees. ---
    session.expire_all()
    batch = session.scalar(select(Batch).where(Batch.code == code))
    assert batch.status == BatchStatus.CLOSED.value
    assert session.get(Shipment, outbound_id).kind == ShipmentKind.LIBRARY_TO_POINT.value
    assert session.get(Shipment, return_id).kind == ShipmentKind.POINT_TO_LIBRARY.value
    statuses = {i.accession_number: i.status for i in session.scalars(select(Item))}
    assert statuses[missing.accession_number] == ItemStatus.LOST.value
    for number in numbers[:-1]:
        assert statuses[number] == ItemStatus.AVAILABLE.value
