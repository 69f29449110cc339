"""Copies: many in one action, typed numbers, uniqueness, status transitions, series admin, access."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.network.models import SiteKind
from catalog import marc
from catalog.models import ITEM_TRANSITIONS, AccessionSequence, Item, ItemStatus, Record
from catalog.services import add_items, allocate_accession_numbers, create_record, create_sequence
from tests.conftest import csrf_from, post_form


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


@pytest.fixture
def record(session) -> Record:
    row = create_record(
        session,
        marc.build_record("Dế Mèn phiêu lưu ký", authors=["Tô Hoài"], year=2019, classification="895.9223"),
        actor_id=None,
    )
    session.commit()
    return row


@pytest.fixture
def vn(session, library) -> AccessionSequence:
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    session.commit()
    return seq


def items_of(session, record_id: int) -> list[Item]:
    session.expire_all()
    return list(session.scalars(select(Item).where(Item.record_id == record_id).order_by(Item.id)))


def copies_form(library, **values) -> dict[str, str]:
    data = {
        "library_id": str(library.id),
        "count": "1",
        "sequence_id": "",
        "accession_numbers": "",
        "class_number": "895.9223",
        "author_mark": "HOA",
        "call_number": "",
        "location": "Kho mở",
        "price_vnd": "45.000",
        "source": "purchase",
        "status": "in_processing",
        "notes": "",
    }
    data.update(values)
    return data


def test_add_copies_page_suggests_class_number_and_author_mark(client, logged_in, record, vn):
    logged_in(Role.CATALOGUER)
    html = client.get(f"/catalog/records/{record.id}/items/new").get_data(as_text=True)
    assert re.search(r'name="class_number"[^>]*value="895.9223"', html)
    # "Tô Hoài" is a Vietnamese name in direct order: the mark comes from the given name.
    assert re.search(r'name="author_mark"[^>]*value="HOA"', html)
    assert "VN.00001" in html  # the series shows its next number


def test_five_copies_in_one_action_get_consecutive_numbers(client, logged_in, session, record, library, vn):
    user = logged_in(Role.CATALOGUER)
    url = f"/catalog/records/{record.id}/items/new"
    response = post_form(client, url, copies_form(library, count="5", sequence_id=str(vn.id)))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    items = items_of(session, record.id)
    assert [i.accession_number for i in items] == [f"VN.{n:05d}" for n in range(1, 6)]
    assert {i.call_number for i in items} == {"895.9223 HOA"}
    assert {i.price_vnd for i in items} == {45000}
    assert {i.status for i in items} == {ItemStatus.IN_PROCESSING.value}
    assert {i.source for i in items} == {"purchase"}
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "item.create")).all()
    assert len(events) == 5 and {e.actor_id for e in events} == {user.id}
    # The next action continues the series.
    post_form(client, url, copies_form(library, count="2", sequence_id=str(vn.id)))
    assert [i.accession_number for i in items_of(session, record.id)][-2:] == ["VN.00006", "VN.00007"]


def test_the_same_copies_form_sent_twice_adds_the_copies_once(
    client, logged_in, session, record, library, vn
):
    logged_in(Role.CATALOGUER)
    url = f"/catalog/records/{record.id}/items/new"

    def opened_form(count: str) -> dict[str, str]:
        html = client.get(url).get_data(as_text=True)
        before = re.search(r'name="copies_before"[^>]*value="(\d+)"', html).group(1)
        return {
            "csrf_token": csrf_from(html),
            "copies_before": before,
            **copies_form(library, count=count, sequence_id=str(vn.id)),
        }

    data = opened_form("3")
    assert data["copies_before"] == "0"
    assert client.post(url, data=data).status_code == 302
    assert client.post(url, data=data).status_code == 302
    assert [i.accession_number for i in items_of(session, record.id)] == ["VN.00001", "VN.00002", "VN.00003"]
    # A form opened afterwards adds more, as asked.
    data = opened_form("1")
    assert data["copies_before"] == "3"
    assert client.post(url, data=data).status_code == 302
    assert [i.accession_number for i in items_of(session, record.id)][-1] == "VN.00004"


def test_typed_accession_numbers(client, logged_in, session, record, library):
    logged_in(Role.CATALOGUER)
    url = f"/catalog/records/{record.id}/items/new"
    response = post_form(client, url, copies_form(library, accession_numbers="vv.00120\r\nVV.00121\r\n"))
    assert response.status_code == 302
    assert [i.accession_number for i in items_of(session, record.id)] == ["VV.00120", "VV.00121"]


def test_typed_accession_number_already_used_is_refused_and_nothing_is_saved(
    client, logged_in, session, record, library
):
    logged_in(Role.CATALOGUER)
    url = f"/catalog/records/{record.id}/items/new"
    post_form(client, url, copies_form(library, accession_numbers="VV.00120"))
    client.get("/lang/en")
    response = post_form(client, url, copies_form(library, accession_numbers="VV.00119\nVV.00120"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Accession number VV.00120 is already used." in html
    assert re.search(r'has-error">\s*<label for="accession_numbers"', html)
    assert [i.accession_number for i in items_of(session, record.id)] == ["VV.00120"]
    # The same number typed twice is refused as well.
    response = post_form(client, url, copies_form(library, accession_numbers="VV.00200\nvv.00200"))
    assert "The same accession number is typed twice." in response.get_data(as_text=True)
    assert len(items_of(session, record.id)) == 1


def test_barcode_is_unique(client, logged_in, session, record, library, vn):
    logged_in(Role.CATALOGUER)
    url = f"/catalog/records/{record.id}/items/new"
    form = copies_form(library, sequence_id=str(vn.id), barcode="8935000000011")
    assert post_form(client, url, form).status_code == 302
    client.get("/lang/en")
    response = post_form(client, url, form)
    assert response.status_code == 200
    assert "Barcode 8935000000011 is already used." in response.get_data(as_text=True)
    assert len(items_of(session, record.id)) == 1
    # A barcode belongs to one copy: not allowed when adding several.
    response = post_form(client, url, {**form, "barcode": "8935000000028", "count": "2"})
    assert response.status_code == 200
    assert len(items_of(session, record.id)) == 1


def test_series_of_another_library_or_no_numbering_is_refused(
    client, logged_in, session, record, make_site, vn
):
    logged_in(Role.CATALOGUER)
    district = make_site(code="TVH-ML", name="Thư viện huyện Mường La", kind=SiteKind.DISTRICT_LIBRARY)
    url = f"/catalog/records/{record.id}/items/new"
    response = post_form(client, url, copies_form(district, sequence_id=str(vn.id)))
    assert response.status_code == 200
    response = post_form(client, url, copies_form(district))
    assert response.status_code == 200
    assert items_of(session, record.id) == []
    session.expire_all()
    assert session.get(AccessionSequence, vn.id).next_number == 1


def make_item(session, record, library, status=ItemStatus.IN_PROCESSING) -> Item:
    item = add_items(
        session,
        record,
        accession_numbers=["VN.09999"],
        values={"library_id": library.id, "status": status.value},
        actor_id=None,
    )[0]
    session.commit()
    return item


def status_options(html: str) -> list[str]:
    select_html = re.search(r'<select[^>]*name="status"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'value="([^"]+)"', select_html)


def item_form(client, item_id: int) -> dict[str, str]:
    html = client.get(f"/catalog/items/{item_id}/edit").get_data(as_text=True)
    values = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', body)
        values[name] = chosen.group(1) if chosen else ""
    values.pop("is_rare", None)  # checkboxes: sent only when ticked
    values.pop("is_local_studies", None)
    return values


@pytest.mark.parametrize("status", [ItemStatus.IN_PROCESSING, ItemStatus.AT_POINT, ItemStatus.WITHDRAWN])
def test_item_page_offers_only_the_allowed_statuses(client, logged_in, session, record, library, status):
    logged_in(Role.CATALOGUER)
    item = make_item(session, record, library, status)
    html = client.get(f"/catalog/items/{item.id}/edit").get_data(as_text=True)
    assert set(status_options(html)) == {status.value} | {s.value for s in ITEM_TRANSITIONS[status]}


def test_status_change_follows_the_transitions(client, logged_in, session, record, library):
    user = logged_in(Role.CATALOGUER)
    item = make_item(session, record, library)
    url = f"/catalog/items/{item.id}/edit"
    # In processing -> at a rotation point is not allowed (the copy must be available and sent first).
    response = client.post(url, data={**item_form(client, item.id), "status": ItemStatus.AT_POINT.value})
    assert response.status_code == 200
    assert items_of(session, record.id)[0].status == ItemStatus.IN_PROCESSING.value
    # In processing -> available is allowed, and audited.
    response = client.post(url, data={**item_form(client, item.id), "status": ItemStatus.AVAILABLE.value})
    assert response.status_code == 302
    assert items_of(session, record.id)[0].status == ItemStatus.AVAILABLE.value
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "item.update")).one()
    assert event.changes["status"] == ["in_processing", "available"] and event.actor_id == user.id


def test_copies_are_added_as_local_studies_material(client, logged_in, session, record, library, vn):
    logged_in(Role.CATALOGUER)
    client.get("/lang/en")
    url = f"/catalog/records/{record.id}/items/new"
    assert 'name="is_local_studies"' in client.get(url).get_data(as_text=True)
    form = copies_form(library, count="2", sequence_id=str(vn.id), is_local_studies="y")
    assert post_form(client, url, form).status_code == 302
    post_form(client, url, copies_form(library, count="1", sequence_id=str(vn.id)))
    assert [i.is_local_studies for i in items_of(session, record.id)] == [True, True, False]
    html = client.get(f"/catalog/records/{record.id}").get_data(as_text=True)
    assert html.count('<span class="tag">local studies</span>') == 2


def test_item_form_saves_the_local_studies_flag(client, logged_in, session, record, library):
    logged_in(Role.CATALOGUER)
    client.get("/lang/en")
    item = make_item(session, record, library)
    assert item.is_local_studies is False
    url = f"/catalog/items/{item.id}/edit"
    assert not re.search(
        r'<input[^>]*checked[^>]*name="is_local_studies"', client.get(url).get_data(as_text=True)
    )
    response = client.post(url, data={**item_form(client, item.id), "is_local_studies": "y"})
    assert response.status_code == 302
    assert items_of(session, record.id)[0].is_local_studies is True
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "item.update")).one()
    assert event.changes == {"is_local_studies": [False, True]}
    html = client.get(url).get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*name="is_local_studies"', html)
    record_html = client.get(f"/catalog/records/{record.id}").get_data(as_text=True)
    assert "<dt>Local-studies material</dt>" in record_html
    # Unticked: the flag is cleared again.
    assert client.post(url, data=item_form(client, item.id)).status_code == 302
    assert items_of(session, record.id)[0].is_local_studies is False


def test_item_edit_refuses_a_used_accession_number_and_a_stale_form(
    client, logged_in, session, record, library
):
    logged_in(Role.CATALOGUER)
    item = make_item(session, record, library)
    other = add_items(
        session, record, accession_numbers=["VN.00001"], values={"library_id": library.id}, actor_id=None
    )[0]
    session.commit()
    url = f"/catalog/items/{item.id}/edit"
    response = client.post(
        url, data={**item_form(client, item.id), "accession_number": other.accession_number}
    )
    assert response.status_code == 200
    assert items_of(session, record.id)[0].accession_number == "VN.09999"
    stale = item_form(client, item.id)
    assert client.post(url, data={**item_form(client, item.id), "location": "Kho A"}).status_code == 302
    response = client.post(url, data={**stale, "location": "Kho B"})
    assert response.status_code == 200 and "flash-error" in response.get_data(as_text=True)
    assert items_of(session, record.id)[0].location == "Kho A"


def test_sequences_page_creates_a_series_and_refuses_a_used_prefix(client, logged_in, session, library):
    logged_in(Role.CATALOGUER)
    data = {
        "library_id": str(library.id),
        "prefix": "tn",
        "width": "6",
        "next_number": "120",
        "description": "Thiếu nhi",
    }
    response = post_form(client, "/catalog/sequences", data)
    assert response.status_code == 302
    seq = session.scalars(select(AccessionSequence)).one()
    assert (seq.prefix, seq.width, seq.next_number, seq.library_id) == ("TN", 6, 120, library.id)
    html = client.get("/catalog/sequences").get_data(as_text=True)
    assert "TN.000120" in html
    response = post_form(client, "/catalog/sequences", {**data, "prefix": "TN"})
    assert response.status_code == 200
    assert session.scalar(select(func.count()).select_from(AccessionSequence)) == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.POINT_OPERATOR, Role.ROTATION])
def test_only_cataloguers_manage_copies_and_series(client, logged_in, session, record, library, role):
    logged_in(role)
    item = make_item(session, record, library)
    for url in (
        f"/catalog/records/{record.id}/items/new",
        f"/catalog/items/{item.id}/edit",
        "/catalog/sequences",
    ):
        assert client.get(url).status_code == 403, url


def test_concurrent_allocation_never_repeats_a_number(engine, session, library, vn):
    """Two connections each take 50 numbers, in small blocks, at the same time: no overlap, no gap."""
    seq_id = vn.id  # read here: the test's own session must not be used from the threads
    barrier = threading.Barrier(2)
    taken: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def allocate(n: int) -> None:
        try:
            with Session(engine) as own:
                barrier.wait()
                for block in (1, 2, 3, 4, 5, 10, 25):
                    taken[n].extend(allocate_accession_numbers(own, seq_id, block))
                    own.commit()
        except BaseException as exc:  # reported below, with the thread's traceback lost otherwise
            errors.append(exc)

    threads = [threading.Thread(target=allocate, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(taken[0]) == len(taken[1]) == 50
    assert set(taken[0]).isdisjoint(taken[1])
    assert sorted(taken[0] + taken[1]) == [f"VN.{n:05d}" for n in range(1, 101)]
    session.expire_all()
    assert session.get(AccessionSequence, seq_id).next_number == 101
