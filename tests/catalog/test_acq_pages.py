"""Acquisitions pages: intakes from creation to receiving, suppliers, withdrawals, roles and CSRF."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.auth.models import Role
from app.network.models import SiteKind
from catalog import marc
from catalog.acquisitions import services as acq
from catalog.acquisitions.models import Intake, IntakeLine, Supplier, Withdrawal
from catalog.models import AccessionSequence, Item
from catalog.services import create_record, create_sequence
from tests.conftest import csrf_from, post_form


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


@pytest.fixture
def vv(session, library) -> AccessionSequence:
    seq = create_sequence(session, library_id=library.id, prefix="VV", width=5, actor_id=None)
    session.commit()
    return seq


@pytest.fixture
def record(session):
    row = create_record(
        session,
        marc.build_record("Nỗi buồn chiến tranh", authors=["Bảo Ninh"], year=2011, classification="895.9223"),
        actor_id=None,
    )
    session.commit()
    return row


@pytest.fixture
def draft(session, library, vv, record) -> Intake:
    intake = acq.create_intake(
        session, {"library_id": library.id, "intake_date": date(2026, 10, 1)}, actor_id=None
    )
    acq.add_line(
        session, intake.id, {"record_id": record.id, "copies": 3, "unit_price_vnd": 1_250_000}, actor_id=None
    )
    session.commit()
    return intake


def item_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Item))


def test_intake_from_creation_to_receiving(client, session, logged_in, library, vv, record):
    logged_in(Role.ACQUISITIONS)
    response = post_form(
        client,
        "/acquisitions/intakes/new",
        {
            "library_id": str(library.id),
            "intake_date": "2026-11-02",
            "source": "donation",
            "supplier_id": "",
            "document_number": "QĐ 15/QĐ-TV",
            "fund": "Chương trình sách xã",
            "notes": "",
        },
    )
    assert response.status_code == 302
    intake = session.scalar(select(Intake))
    assert response.headers["Location"].endswith(f"/acquisitions/intakes/{intake.id}")
    assert intake.source == "donation" and intake.document_number == "QĐ 15/QĐ-TV"
    page = client.get(f"/acquisitions/intakes/{intake.id}?q=buồn").get_data(as_text=True)
    assert f'id="hit-{record.id}"' in page
    url = f"/acquisitions/intakes/{intake.id}"
    response = post_form(
        client,
        f"{url}/lines",
        {
            "record_id": str(record.id),
            "copies": "4",
            "unit_price_vnd": "1.250.000",
            "sequence_id": str(vv.id),
        },
        page=url,
    )
    assert response.status_code == 302
    response = post_form(
        client,
        f"{url}/lines/quick",
        {
            "title": "Truyện cổ Thái Sơn La",
            "author": "Cầm Trọng",
            "year": "2015",
            "copies": "2",
            "unit_price_vnd": "60000",
            "sequence_id": str(vv.id),
            "publisher": "",
            "isbn": "",
            "classification": "398.2",
            "location": "Kho mở",
        },
        page=url,
    )
    assert response.status_code == 302
    session.expire_all()
    lines = session.scalars(select(IntakeLine).order_by(IntakeLine.position)).all()
    assert [(ln.copies, ln.unit_price_vnd) for ln in lines] == [(4, 1_250_000), (2, 60_000)]
    client.get("/lang/en")
    page = client.get(url).get_data(as_text=True)
    assert '<span class="num" id="total-value">5.120.000 ₫</span>' in page
    assert '<span class="num" id="total-copies">6</span>' in page
    assert client.get(f"{url}/receive").status_code == 200
    response = post_form(client, f"{url}/receive", {}, page=f"{url}/receive")
    assert response.status_code == 302
    assert item_count(session) == 6
    assert session.get(Intake, intake.id).register_number == 1
    page = client.get(url).get_data(as_text=True)
    assert "VV.00001 – VV.00004" in page and "VV.00005 – VV.00006" in page
    labels = re.search(r'id="print-labels" href="([^"]+)"', page).group(1)
    assert labels == f"/catalog/labels?intake={intake.id}"  # the labels page prints what it received
    # The same confirmation sent again (double click, back button) creates nothing more.
    response = client.post(f"{url}/receive", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302
    assert item_count(session) == 6
    listing = client.get("/acquisitions/?status=received&year=2026").get_data(as_text=True)
    assert f'id="intake-{intake.id}"' in listing
    assert f'id="intake-{intake.id}"' not in client.get("/acquisitions/?status=draft").get_data(as_text=True)


def test_edit_and_remove_a_line(client, session, logged_in, draft, vv):
    logged_in(Role.CATALOGUER)
    url = f"/acquisitions/intakes/{draft.id}"
    line_id = draft.lines[0].id
    response = post_form(
        client,
        f"{url}/lines/{line_id}",
        {"copies": "5", "unit_price_vnd": "90.000", "sequence_id": str(vv.id), "location": "Kho đóng"},
        page=url,
    )
    assert response.status_code == 302
    session.expire_all()
    line = session.get(IntakeLine, line_id)
    assert (line.copies, line.unit_price_vnd, line.location) == (5, 90_000, "Kho đóng")
    post_form(client, f"{url}/lines/{line_id}", {"copies": "-2", "sequence_id": str(vv.id)}, page=url)
    session.expire_all()
    assert session.get(IntakeLine, line_id).copies == 5
    post_form(client, f"{url}/lines/{line_id}", {"remove": "1", "copies": "5", "sequence_id": ""}, page=url)
    session.expire_all()
    assert session.get(IntakeLine, line_id) is None


def test_marc_upload_adds_lines(client, session, logged_in, draft, vv):
    logged_in(Role.ACQUISITIONS)
    url = f"/acquisitions/intakes/{draft.id}"
    data = marc.record_to_iso2709(
        marc.build_record("Sổ tay trồng chè Shan tuyết", authors=["Lò Văn Bun"], year=2020)
    )
    page = client.get(url).get_data(as_text=True)
    response = client.post(
        f"{url}/lines/marc",
        data={
            "csrf_token": csrf_from(page),
            "sequence_id": str(vv.id),
            "file": (io.BytesIO(data), "ncc.mrc"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    session.expire_all()
    titles = [ln.record.title for ln in session.scalars(select(IntakeLine).order_by(IntakeLine.position))]
    assert len(titles) == 2 and titles[1].startswith("Sổ tay trồng chè Shan tuyết")


def test_roles(client, session, logged_in, draft):
    url = f"/acquisitions/intakes/{draft.id}"
    logged_in(Role.VIEWER)
    assert client.get("/acquisitions/").status_code == 200
    assert client.get(url).status_code == 200
    assert client.get("/acquisitions/suppliers").status_code == 200
    assert client.get("/acquisitions/withdrawals").status_code == 200
    assert client.get("/acquisitions/intakes/new").status_code == 403
    assert client.get(f"{url}/receive").status_code == 403
    assert client.get("/acquisitions/withdrawals/new").status_code == 403
    page = client.get("/acquisitions/").get_data(as_text=True)
    assert client.post(f"{url}/receive", data={"csrf_token": csrf_from(page)}).status_code == 403
    post_form(client, "/logout", {}, page="/")  # a fresh token: each login starts a new session
    logged_in(Role.CATALOGUER)
    assert client.get(f"{url}/receive").status_code == 403  # cataloguers add lines, do not receive
    assert client.get("/acquisitions/suppliers/new").status_code == 403
    assert 'id="find-q"' in client.get(url).get_data(as_text=True)
    assert item_count(session) == 0
    post_form(client, "/logout", {}, page="/")  # a fresh token: each login starts a new session
    logged_in(Role.POINT_OPERATOR)
    assert client.get("/acquisitions/").status_code == 403


def test_csrf_is_required(client, session, logged_in, draft):
    logged_in(Role.ACQUISITIONS)
    response = client.post(f"/acquisitions/intakes/{draft.id}/receive", data={})
    assert response.status_code in (302, 400)
    assert item_count(session) == 0
    assert session.get(Intake, draft.id).status == "draft"
    client.post("/acquisitions/suppliers/new", data={"name": "Không có mã", "kind": "donor"})
    assert session.scalar(select(func.count()).select_from(Supplier)) == 0


def test_suppliers_pages(client, session, logged_in):
    logged_in(Role.ACQUISITIONS)
    data = {
        "name": "Công ty Phát hành sách Sơn La",
        "kind": "supplier",
        "phone": "0212 385 2345",
        "tax_code": "5500123456",
        "address": "Tô Hiệu, TP Sơn La",
        "notes": "",
        "is_active": "y",
    }
    assert post_form(client, "/acquisitions/suppliers/new", data).status_code == 302
    row = session.scalar(select(Supplier))
    assert row.tax_code == "5500123456"
    response = post_form(
        client, "/acquisitions/suppliers/new", {**data, "name": "cong ty phat hanh sach son la"}
    )
    assert response.status_code == 200
    assert session.scalar(select(func.count()).select_from(Supplier)) == 1
    response = post_form(client, f"/acquisitions/suppliers/{row.id}/edit", {**data, "is_active": ""})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Supplier, row.id).is_active is False
    assert f'id="supplier-{row.id}"' in client.get("/acquisitions/suppliers").get_data(as_text=True)


def test_withdrawal_pages(client, session, logged_in, library, draft):
    acq.receive_intake(session, draft.id, None)
    session.commit()
    logged_in(Role.ACQUISITIONS)
    form = {
        "library_id": str(library.id),
        "withdrawal_date": "2026-11-20",
        "reason": "damaged",
        "minutes_number": "BB 07/2026",
        "accessions": "VV.00001\nVV.00404",
        "notes": "",
    }
    response = post_form(client, "/acquisitions/withdrawals/new", form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="problems"' in page and "VV.00404" in page
    assert session.scalar(select(func.count()).select_from(Withdrawal)) == 0
    page = client.get("/acquisitions/withdrawals/new").get_data(as_text=True)
    response = client.post(
        "/acquisitions/withdrawals/new",
        data={
            **form,
            "accessions": "VV.00001",
            "csrf_token": csrf_from(page),
            "file": (io.BytesIO(b"VV.00002\r\nVV.00003\r\n"), "list.txt"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    row = session.scalar(select(Withdrawal))
    assert response.headers["Location"].endswith(f"/acquisitions/withdrawals/{row.id}")
    session.expire_all()
    assert set(session.scalars(select(Item.status))) == {"withdrawn"}
    page = client.get(f"/acquisitions/withdrawals/{row.id}").get_data(as_text=True)
    assert '<dd id="withdrawn-count">3</dd>' in page and "3.750.000 ₫" in page
    assert f'id="withdrawal-{row.id}"' in client.get("/acquisitions/withdrawals").get_data(as_text=True)


def test_withdrawal_form_can_be_prefilled_with_numbers_and_reason(client, logged_in):
    """A rotation return count hands its written-off copies over by address."""
    logged_in(Role.ACQUISITIONS)
    page = client.get("/acquisitions/withdrawals/new?accessions=VN.00001,VN.00002&reason=lost_in_rotation")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "VN.00001\nVN.00002" in html
    selected = re.findall(r"<option[^>]*\bselected\b[^>]*>", html)
    assert any('value="lost_in_rotation"' in option for option in selected), selected
    # An unknown reason is ignored rather than trusted.
    html = client.get("/acquisitions/withdrawals/new?reason=bogus").get_data(as_text=True)
    assert not any("bogus" in option for option in re.findall(r"<option[^>]*>", html))
