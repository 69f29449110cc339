"""Script inside data does not run in a real browser: MARC fields, a site name, notes, a supplier name.

Payloads are stored through the services (as an import, a form or an old database would leave
them), then the staff and public pages that show them are opened in headless Chromium. A payload
that ran would set `window.__xss` or open a dialog; neither may happen, and the payload must be shown
as text. The Content-Security-Policy is checked too: an inline script injected into the page is blocked.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rotation.services import shipments as ship_svc
from tests.browser.conftest import screenshot
from tests.security.world import PASSWORD, build_world

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__xss='script'</script>"
IMG = "<img src=x onerror=\"window.__xss='img';alert('img')\">"
SVG = "\"><svg onload=alert('svg')>"
JS_URL = "javascript:alert('url')"

TEXTS = {
    "title": f"Tựa {SCRIPT}",
    "author": f"Tác giả {IMG}",
    "note": f"Ghi chú {SVG} {JS_URL}",
    "point": f"Điểm {IMG}",
    "supplier": f"NCC {SCRIPT}",
    "batch_note": f"Lô {SVG}",
}
RECEIVER = f"Người nhận {IMG}"


@pytest.fixture
def hostile(session):
    """The security world with hostile text everywhere, and the operator's shipment received."""
    world = build_world(session, TEXTS)
    ship_svc.receive(
        session,
        world.shipment,
        actor_id=None,
        actor_site_ids=None,
        received_count=str(world.shipment.expected_count),
        missing_item_ids=[],
        damaged_item_ids=[],
        received_by_name=RECEIVER,
    )
    session.commit()
    return world


def _watch(page) -> list[str]:
    """Record every dialog (alert/confirm/prompt) the page tries to open, and dismiss it."""
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def _login(page, live_server, username: str) -> None:
    page.goto(f"{live_server}/login")
    page.locator('input[name="username"]').fill(username)
    page.locator('input[name="password"]').fill(PASSWORD)
    page.locator('form button[type="submit"]').click()
    page.wait_for_url(lambda url: "/login" not in url)


def _assert_inert(page, dialogs: list[str], url: str, shown: list[str]) -> None:
    assert page.evaluate("() => window.__xss === undefined"), (url, page.evaluate("() => window.__xss"))
    assert dialogs == [], (url, dialogs)
    # No element from the payloads exists: the markup stayed text.
    assert page.locator("img[src='x'], svg[onload], [onerror]").count() == 0, url
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert not [h for h in hrefs if h.strip().lower().startswith("javascript:")], url
    text = page.locator("body").inner_text()
    for payload in shown:
        assert payload in text, (url, payload)


def test_hostile_data_is_shown_as_text_on_staff_and_public_pages(page, live_server, hostile):
    world = hostile
    dialogs = _watch(page)
    staff_pages = {
        f"/catalog/records/{world.record.id}": [SCRIPT, IMG],
        "/catalog/?q=Tựa": [SCRIPT],
        f"/rotation/batches/{world.batch.code}": [SVG],
        f"/rotation/shipments/{world.shipment.id}": [IMG],
        f"/rotation/points/{world.point.id}": [IMG],
        "/rotation/points": [IMG],
        f"/network/sites/{world.point.id}": [IMG],
        "/acquisitions/suppliers": [SCRIPT],
        f"/acquisitions/intakes/{world.ids['intake_id']}": [SCRIPT],
        "/rotation/usage": [],
    }
    _login(page, live_server, world.users["admin"].username)
    page.goto(f"{live_server}/lang/en")
    for path, shown in staff_pages.items():
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        _assert_inert(page, dialogs, path, shown)
    screenshot(page, "xss-staff-points")
    page.goto(f"{live_server}/catalog/records/{world.record.id}")
    screenshot(page, "xss-staff-record")

    # The public catalogue, signed out.
    page.context.clear_cookies()
    for path, shown in {
        "/opac/?q=Tựa": [SCRIPT],
        f"/opac/records/{world.record.id}": [SCRIPT, IMG],
    }.items():
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        _assert_inert(page, dialogs, path, shown)
    screenshot(page, "xss-opac-record")


def test_the_operator_pages_show_hostile_names_as_text(page, live_server, hostile):
    world = hostile
    dialogs = _watch(page)
    _login(page, live_server, world.users["point_operator"].username)
    for path, shown in {
        "/": [],
        "/rotation/receive": [],
        f"/rotation/receive/{world.shipment.id}": [RECEIVER],
        f"/rotation/points/{world.point.id}": [IMG],
        f"/rotation/batches/{world.batch.code}/labels": [],
    }.items():
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        _assert_inert(page, dialogs, path, shown)


def test_csp_blocks_an_injected_inline_script(page, live_server, hostile):
    violations: list[str] = []
    page.on(
        "console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None
    )
    page.goto(f"{live_server}/opac/records/{hostile.record.id}")
    page.evaluate(
        """() => {
            window.__csp_events = 0;
            document.addEventListener('securitypolicyviolation', () => { window.__csp_events += 1; });
            const s = document.createElement('script');
            s.textContent = 'window.__csp_ran = 1';
            document.body.appendChild(s);
            const d = document.createElement('div');
            d.innerHTML = '<img src="x" onerror="window.__csp_ran = 2">';
            document.body.appendChild(d);
        }"""
    )
    page.wait_for_function("() => window.__csp_events >= 1")
    assert page.evaluate("() => window.__csp_ran === undefined")
    expect(page.locator("h1")).to_contain_text("<script>")
    assert violations, "Chromium reported no CSP violation"
