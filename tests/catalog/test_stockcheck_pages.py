"""Stock check and register pages: start, scan (plain post and JSON), close, withdraw, download."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.auth.models import Role
from app.network.models import SiteKind
from app.timeutil import local_today
from catalog import marc
from catalog.acquisitions import services as acq
from catalog.acquisitions.models import Withdrawal
from catalog.acquisitions.stockcheck_models import StockCheck, StockCheckFind
from catalog.models import Item
from catalog.services import create_record, create_sequence
from tests.conftest import csrf_from, post_form


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


@pytest.fixture
def numbers(session, library) -> list[str]:
    seq = create_sequence(session, library_id=library.id, prefix="VV", width=5, actor_id=None)
    record = create_record(
        session, marc.build_record("Nỗi buồn chiến tranh", authors=["Bảo Ninh"]), actor_id=None
    )
    intake = acq.create_intake(
        session, {"library_id": library.id, "intake_date": local_today()}, actor_id=None
    )
    acq.add_line(
        session,
        intake.id,
        {"record_id": record.id, "copies": 3, "unit_price_vnd": 95_000, "sequence_id": seq.id},
        actor_id=None,
    )
    session.commit()
    result = acq.receive_intake(session, intake.id, None)
    session.commit()
    return result.accession_numbers


def finds(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(StockCheckFind))


def test_stock_check_through_the_pages(client, session, logged_in, library, numbers):
    logged_in(Role.ACQUISITIONS)
    client.get("/lang/en")
    response = post_form(
        client,
        "/acquisitions/stock-checks/new",
        {"library_id": str(library.id)},
        page="/acquisitions/stock-checks",
    )
    assert response.status_code == 302
    check = session.scalar(select(StockCheck))
    page_url = f"/acquisitions/stock-checks/{check.id}"
    assert response.headers["Location"].endswith(page_url)
    html = client.get(page_url).get_data(as_text=True)
    assert 'id="scan-form"' in html and "autofocus" in html and "/acquisitions/stock-checks/scan.js" in html
    assert "<script>" not in html  # no inline script (CSP)

    # Without JavaScript: post, redirect, the message on the page.
    scan_url = f"{page_url}/scan"
    response = post_form(client, scan_url, {"code": numbers[0]}, page=page_url)
    assert response.status_code == 302 and response.headers["Location"].endswith(page_url)
    assert f"Found: {numbers[0]}" in client.get(page_url).get_data(as_text=True)
    # With JavaScript: the same post asking for JSON; the second scan of a copy says so.
    token = csrf_from(client.get(page_url).get_data(as_text=True))
    answer = client.post(
        scan_url, data={"csrf_token": token, "code": numbers[0]}, headers={"Accept": "application/json"}
    ).get_json()
    assert answer["outcome"] == "already" and answer["counts"] == {
        "expected": 3,
        "found": 1,
        "missing": 2,
        "away": 0,
    }
    answer = client.post(
        scan_url, data={"csrf_token": token, "code": "NOT-A-COPY"}, headers={"Accept": "application/json"}
    ).get_json()
    assert answer["outcome"] == "unknown" and "NOT-A-COPY" in answer["message"]
    assert finds(session) == 1
    # No CSRF token: refused, nothing recorded.
    refused = client.post(scan_url, data={"code": numbers[1]}, headers={"Accept": "application/json"})
    assert refused.status_code == 400 and finds(session) == 1

    missing = client.get(f"{page_url}/missing").get_data(as_text=True)
    assert numbers[1] in missing and numbers[2] in missing and numbers[0] not in missing

    assert post_form(client, f"{page_url}/close", {}, page=page_url).status_code == 302
    session.expire_all()
    assert session.get(StockCheck, check.id).missing_count == 2
    again = post_form(client, f"{page_url}/close", {}, page=page_url)  # a second click
    assert again.status_code == 302
    assert "already been closed" in client.get(page_url).get_data(as_text=True)

    response = post_form(
        client,
        f"{page_url}/withdraw",
        {"minutes_number": "BB 09/2026", "reason": "lost", "withdrawal_date": local_today().isoformat()},
        page=page_url,
    )
    assert response.status_code == 302 and "/acquisitions/withdrawals/" in response.headers["Location"]
    withdrawal = session.scalar(select(Withdrawal))
    assert sorted(line.accession_number for line in withdrawal.lines) == numbers[1:]
    assert client.get("/acquisitions/stock-checks").status_code == 200
    with client.get("/acquisitions/stock-checks/scan.js") as script:
        assert script.status_code == 200 and script.mimetype == "text/javascript"
        assert b"scan-form" in script.get_data()


def test_viewers_see_but_cannot_scan_or_start(client, session, logged_in, library, numbers):
    logged_in(Role.VIEWER)
    assert client.get("/acquisitions/stock-checks").status_code == 200
    refused = post_form(
        client,
        "/acquisitions/stock-checks/new",
        {"library_id": str(library.id)},
        page="/acquisitions/stock-checks",
    )
    assert refused.status_code == 403
    assert session.scalar(select(func.count()).select_from(StockCheck)) == 0


def test_register_download(client, session, logged_in, library, numbers):
    logged_in(Role.VIEWER)
    client.get("/lang/en")
    assert client.get("/acquisitions/registers").status_code == 200
    year = local_today().year
    query = {"library_id": str(library.id), "start": f"{year}-01-01", "end": f"{year}-12-31"}
    with client.get(
        "/acquisitions/registers", query_string={**query, "kind": "individual", "format": "pdf"}
    ) as pdf:
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
        assert f"so-ca-biet_TVT_{year}-01-01_{year}-12-31.pdf" in pdf.headers["Content-Disposition"]
    with client.get(
        "/acquisitions/registers", query_string={**query, "kind": "general", "format": "xlsx"}
    ) as xlsx:
        assert xlsx.status_code == 200
        data = xlsx.data
    sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[5][0] == 1 and rows[5][4] == 3 and rows[5][9] == 285_000
    upside_down = client.get(
        "/acquisitions/registers",
        query_string={**query, "start": f"{year}-12-31", "end": f"{year}-01-01", "kind": "general"},
    )
    assert upside_down.status_code == 400 and "after its end" in upside_down.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Item)) == 3
    assert date(year, 1, 1) <= local_today()
