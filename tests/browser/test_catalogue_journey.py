"""A cataloguer's journey in a real headless Chromium, on a desktop and on a phone.

This part opens a record, edits it with the simple form and sees the change and its history entry.
(The import steps before it — upload, staging report, commit, search — belong to the import page.)
"""

import re

import pytest
from playwright.sync_api import expect

from app.network.models import SiteKind
from catalog import marc
from catalog.services import add_items, create_record, create_sequence
from tests.browser.conftest import screenshot
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogued(session, make_site):
    """A record with two copies, as an import would leave it."""
    library = make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)
    row = create_record(
        session,
        marc.build_record(
            "Dế Mèn phiêu lưu ký",
            responsibility="Tô Hoài",
            authors=["Tô Hoài"],
            publisher="Kim Đồng",
            place="Hà Nội",
            year=2019,
            pages="143 tr.",
            dimensions="21 cm",
            classification="895.9223",
            subjects=["Văn học thiếu nhi -- Việt Nam"],
        ),
        actor_id=None,
        source="import",
    )
    seq = create_sequence(session, library_id=library.id, prefix="TN", width=5, actor_id=None)
    add_items(
        session,
        row,
        count=2,
        sequence_id=seq.id,
        values={
            "library_id": library.id,
            "class_number": "895.9223",
            "author_mark": "HOA",
            "price_vnd": 45000,
        },
        actor_id=None,
    )
    session.commit()
    return row


def test_open_a_record_edit_it_and_see_the_change_and_its_history(page, live_server, make_user, catalogued):
    user = make_user(role="cataloguer", full_name="Lò Văn Minh")
    page.goto(f"{live_server}/login?next=/catalog/records/{catalogued.id}")
    page.locator('input[name="username"]').fill(user.username)
    page.locator('input[name="password"]').fill(DEFAULT_PASSWORD)
    page.locator('form button[type="submit"]').click()

    # The record page: description, copies, MARC view, history.
    expect(page).to_have_url(re.compile(rf"/catalog/records/{catalogued.id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dế Mèn phiêu lưu ký")
    expect(page.locator("p.isbd")).to_contain_text("Hà Nội : Kim Đồng, 2019")
    expect(page.locator("tr.item")).to_have_count(2)
    expect(page.locator("#copies")).to_contain_text("TN.00001")
    expect(page.locator("#copies")).to_contain_text("895.9223 HOA")
    screenshot(page, "catalogue-record")

    # Edit with the simple form: a new publisher and a second subject.
    page.locator("#edit-record").click()
    expect(page.locator('input[name="title"]')).to_have_value("Dế Mèn phiêu lưu ký")
    page.locator('input[name="publisher"]').fill("Nhà xuất bản Kim Đồng")
    subjects = page.locator('textarea[name="subjects"]')
    subjects.fill(subjects.input_value() + "\nTruyện đồng thoại")
    screenshot(page, "catalogue-record-edit")
    page.locator("#save-record").click()

    # Back on the record page: the change is shown and the history has the edit, by this user.
    expect(page).to_have_url(re.compile(rf"/catalog/records/{catalogued.id}$"))
    expect(page.locator(".flash-success")).to_be_visible()
    expect(page.locator("p.isbd")).to_contain_text("Hà Nội : Nhà xuất bản Kim Đồng, 2019")
    expect(page.locator("#description")).to_contain_text("Truyện đồng thoại")
    update = page.locator('tr.event[data-action="record.update"]')
    expect(update).to_have_count(1)
    expect(update).to_contain_text("Lò Văn Minh")
    expect(update).to_contain_text("Nhà xuất bản Kim Đồng")
    expect(page.locator("pre.marc")).to_contain_text("$bNhà xuất bản Kim Đồng")
    screenshot(page, "catalogue-record-edited")

    # The full MARC editor shows the same record, one card per field (looked at on a phone too).
    page.locator("#edit-marc").click()
    expect(
        page.locator('section.marc-row[data-tag="260"] input[value="Nhà xuất bản Kim Đồng,"]')
    ).to_have_count(1)
    screenshot(page, "catalogue-marc-editor")
