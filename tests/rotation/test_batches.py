"""Batches: stock rules, scanning, pasted lists, ready/reopen, split and merge, close, pages, CLI."""

from __future__ import annotations

import io
import itertools
import json
import re

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.errors import Conflict, ValidationError
from app.network.models import SiteKind
from catalog import marc
from catalog.models import Item, ItemStatus
from catalog.services import add_items, create_record
from rotation import queries
from rotation.errors import CopyRefused
from rotation.models import Batch, BatchItem, BatchStatus, Shipment, ShipmentKind
from rotation.rules import StockRules, is_thin_title, refusals
from rotation.services import batches as svc
from tests.conftest import post_form

_numbers = itertools.count(1)


# --- factories ----------------------------------------------------------------------------------


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


@pytest.fixture
def district(make_site):
    return make_site(code="TVMC", name="Thư viện huyện Mộc Châu", kind=SiteKind.DISTRICT_LIBRARY)


def make_copies(session, library, n: int = 3, *, title: str | None = None, **values) -> list[Item]:
    """Add `n` copies of a new title at `library` (available unless told), committed."""
    record = create_record(
        session, marc.build_record(title or f"Sách luân chuyển {next(_numbers)}"), actor_id=None
    )
    numbers = [f"VN.{next(_numbers) + 10000:05d}" for _ in range(n)]
    items = add_items(
        session,
        record,
        accession_numbers=numbers,
        values={"library_id": library.id, "status": values.pop("status", "available"), **values},
        actor_id=None,
    )
    session.commit()
    return items


def new_batch(session, library, **kwargs) -> Batch:
    batch = svc.create_batch(session, home_library_id=library.id, actor_id=None, **kwargs)
    session.commit()
    return batch


def open_rows(session, item_id: int) -> list[BatchItem]:
    session.expire_all()
    return list(session.scalars(select(BatchItem).where(BatchItem.item_id == item_id, BatchItem.is_open)))


# --- the stock rules (pure) ---------------------------------------------------------------------


def _refusals(**kw):
    values = {
        "number": "VN.1",
        "status": "available",
        "is_rare": False,
        "is_local_studies": False,
        "library_id": 1,
        "library_name": "A",
        "home_library_id": 1,
        "home_library_name": "A",
    }
    values.update(kw)
    return [msg for msg, _params in refusals(**values)]


def test_rules_accept_an_available_common_copy_of_the_home_library():
    assert _refusals() == []


def test_rules_refuse_each_reason_and_all_together():
    assert _refusals(status="in_processing") == [
        "Copy %(number)s is not available (its status is: %(status_label)s)."
    ]
    assert _refusals(is_rare=True) == ["Copy %(number)s is rare or precious and may not rotate."]
    assert len(_refusals(library_id=2)) == 1 and "not by the batch's library" in _refusals(library_id=2)[0]
    assert _refusals(is_local_studies=True) == [
        "Copy %(number)s is local-studies material and may not rotate."
    ]
    assert len(_refusals(status="lost", is_rare=True, library_id=2)) == 3
    assert len(_refusals(status="lost", is_rare=True, is_local_studies=True, library_id=2)) == 4


def test_local_studies_refusal_names_the_copy():
    values = {
        "number": "VV.00042",
        "status": "available",
        "is_rare": False,
        "is_local_studies": True,
        "library_id": 1,
        "library_name": "A",
        "home_library_id": 1,
        "home_library_name": "A",
    }
    assert refusals(**values) == [
        ("Copy %(number)s is local-studies material and may not rotate.", {"number": "VV.00042"})
    ]


def test_rules_are_configurable():
    relaxed = StockRules(require_home_library=False, allow_rare=True)
    assert _refusals(is_rare=True, library_id=2, rules=relaxed) == []
    # Relaxing one rule leaves the others in force.
    assert _refusals(is_local_studies=True, rules=relaxed) == [
        "Copy %(number)s is local-studies material and may not rotate."
    ]
    assert _refusals(is_local_studies=True, rules=StockRules(allow_local_studies=True)) == []
    assert _refusals(is_rare=True, rules=StockRules(allow_local_studies=True)) == [
        "Copy %(number)s is rare or precious and may not rotate."
    ]
    assert is_thin_title(2) and not is_thin_title(3)
    assert not is_thin_title(2, StockRules(min_copies_per_title=2))


# --- create -------------------------------------------------------------------------------------


def test_codes_run_per_year(session, library):
    from datetime import UTC, datetime

    a = new_batch(session, library, now=datetime(2026, 3, 1, tzinfo=UTC))
    b = new_batch(session, library, now=datetime(2026, 5, 1, tzinfo=UTC))
    # 31 December 20:00 UTC is already 1 January in Vietnam.
    c = new_batch(session, library, now=datetime(2026, 12, 31, 20, 0, tzinfo=UTC))
    assert (a.code, b.code, c.code) == ("LC-2026-0001", "LC-2026-0002", "LC-2027-0001")
    assert a.holder_site_id == library.id and a.status == BatchStatus.ASSEMBLING
    assert session.scalar(select(func.count()).where(AuditEvent.action == "batch.create")) == 3


def test_a_batch_needs_a_library(session, make_site):
    point = make_site()
    with pytest.raises(ValidationError):
        svc.create_batch(session, home_library_id=point.id, actor_id=None)


# --- adding copies ------------------------------------------------------------------------------


def test_scan_adds_a_copy_by_accession_number_or_barcode(session, library):
    items = make_copies(session, library, 2)
    items[1].barcode = "8930000000017"
    session.commit()
    batch = new_batch(session, library)
    svc.add_copy(session, batch, items[0].accession_number.lower(), None)
    svc.add_copy(session, batch, " 8930000000017 ", None)
    session.commit()
    session.expire_all()
    assert {i.status for i in items} == {ItemStatus.IN_ROTATION.value}
    assert [c.accession_number for c in queries.batch_copies(session, batch.id)] == sorted(
        i.accession_number for i in items
    )
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type.in_(["batch", "item"])))
    assert sorted(actions).count("batch.add_copy") == 2


def test_scan_unknown_code(session, library):
    batch = new_batch(session, library)
    with pytest.raises(CopyRefused) as err:
        svc.add_copy(session, batch, "VN.99999", None)
    assert str(err.value) == "No copy has the number VN.99999."


def test_scan_twice(session, library):
    item = make_copies(session, library, 1)[0]
    batch = new_batch(session, library)
    svc.add_copy(session, batch, item.accession_number, None)
    session.commit()
    with pytest.raises(CopyRefused, match="already in this batch"):
        svc.add_copy(session, batch, item.accession_number, None)


def test_copy_in_another_open_batch_is_refused_naming_it(session, library):
    item = make_copies(session, library, 1)[0]
    first, second = new_batch(session, library), new_batch(session, library)
    svc.add_copy(session, first, item.accession_number, None)
    session.commit()
    with pytest.raises(CopyRefused) as err:
        svc.add_copy(session, second, item.accession_number, None)
    assert str(err.value) == f"Copy {item.accession_number} is already in batch {first.code}."
    assert len(open_rows(session, item.id)) == 1


def test_stock_rules_refuse_with_reasons(session, library, district):
    unavailable = make_copies(session, library, 1, status="in_processing")[0]
    rare = make_copies(session, library, 1, is_rare=True)[0]
    local = make_copies(session, library, 1, is_local_studies=True)[0]
    elsewhere = make_copies(session, district, 1)[0]
    batch = new_batch(session, library)
    refusals_seen = (
        (unavailable, "not available"),
        (rare, "rare"),
        (local, "local-studies"),
        (elsewhere, "Mộc Châu"),
    )
    for item, words in refusals_seen:
        with pytest.raises(CopyRefused, match=words):
            svc.add_copy(session, batch, item.accession_number, None)
    session.rollback()
    assert session.get(Item, local.id).status == "available" and open_rows(session, local.id) == []
    # Configurable: a library that lets its local-studies copies rotate.
    svc.add_copy(session, batch, local.accession_number, None, rules=StockRules(allow_local_studies=True))
    session.commit()
    assert [c.item_id for c in queries.batch_copies(session, batch.id)] == [local.id]
    assert queries.batch_copies(session, batch.id)[0].is_local_studies is True
    # Configurable: a library that lets copies of other libraries rotate.
    svc.add_copy(
        session, batch, elsewhere.accession_number, None, rules=StockRules(require_home_library=False)
    )
    session.commit()
    assert [c.item_id for c in queries.batch_copies(session, batch.id)] == [local.id, elsewhere.id]


def test_a_database_refusal_becomes_the_same_clear_error(session, library, monkeypatch):
    """If the check misses a concurrent insert, the partial unique index still refuses the copy."""
    item = make_copies(session, library, 1)[0]
    first, second = new_batch(session, library), new_batch(session, library)
    svc.add_copy(session, first, item.accession_number, None)
    session.commit()
    # Pretend the copy still looks free, as it would to a transaction that read before the other one wrote.
    session.execute(select(Item).where(Item.id == item.id)).scalar_one().status = "available"
    session.commit()
    real = svc.open_membership
    calls = []

    def blind(s, item_id):
        calls.append(item_id)
        return None if len(calls) == 1 else real(s, item_id)

    monkeypatch.setattr(svc, "open_membership", blind)
    with pytest.raises(CopyRefused, match=f"already in batch {first.code}"):
        svc.add_copy(session, second, item.accession_number, None)
    session.commit()  # the savepoint was rolled back; the transaction itself is still usable
    assert len(open_rows(session, item.id)) == 1


def test_paste_list_report(session, library):
    good = make_copies(session, library, 3)
    rare = make_copies(session, library, 1, is_rare=True)[0]
    batch = new_batch(session, library)
    text = f"{good[0].accession_number}\n{good[1].accession_number}, NOPE.1 ; {rare.accession_number}\n\n"
    text += f"{good[0].accession_number} {good[2].accession_number}"
    report = svc.add_copies(session, batch, svc.parse_codes(text), None)
    session.commit()
    assert [i.accession_number for i in report.added] == [g.accession_number for g in good]
    refused = {code: [msg for msg, _p in reasons] for code, reasons in report.refused}
    assert set(refused) == {"NOPE.1", rare.accession_number, good[0].accession_number}
    assert "scanned twice" in refused[good[0].accession_number][0]
    assert len(queries.batch_copies(session, batch.id)) == 3


def test_thin_titles_get_a_warning_not_a_refusal(session, library):
    thin = make_copies(session, library, 2, title="Truyện Kiều")
    full = make_copies(session, library, 3, title="Tắt đèn")
    batch = new_batch(session, library)
    svc.add_copies(session, batch, [i.accession_number for i in thin + full], None)
    session.commit()
    page = queries.batch_page(session, batch)
    assert len(page.copies) == 5
    assert [(t.title, t.copies_in_stock) for t in page.thin_titles] == [("Truyện Kiều", 2)]


def test_remove_copy_puts_it_back(session, library):
    item = make_copies(session, library, 1)[0]
    batch = new_batch(session, library)
    svc.add_copy(session, batch, item.accession_number, None)
    svc.remove_copy(session, batch, item.id, None)
    session.commit()
    session.expire_all()
    assert item.status == "available" and queries.batch_copies(session, batch.id) == []


# --- status ---------------------------------------------------------------------------------------


def test_mark_ready_needs_copies_and_a_seal(session, library):
    batch = new_batch(session, library)
    with pytest.raises(Conflict, match="has no copies"):
        svc.mark_ready(session, batch, seal_number="S-1", box_count=2, actor_id=None)
    item = make_copies(session, library, 1)[0]
    svc.add_copy(session, batch, item.accession_number, None)
    with pytest.raises(ValidationError):
        svc.mark_ready(session, batch, seal_number=" ", box_count=2, actor_id=None)
    svc.mark_ready(session, batch, seal_number="S-1", box_count=2, actor_id=None)
    session.commit()
    assert (batch.status, batch.seal_number, batch.box_count) == ("ready", "S-1", 2)
    # A ready batch takes no more copies until it is reopened.
    other = make_copies(session, library, 1)[0]
    with pytest.raises(Conflict, match="reopen it"):
        svc.add_copy(session, batch, other.accession_number, None)
    svc.reopen(session, batch, actor_id=None)
    svc.add_copy(session, batch, other.accession_number, None)
    session.commit()
    assert batch.status == "assembling"


def test_close_releases_the_copies(session, library):
    items = make_copies(session, library, 2)
    batch = new_batch(session, library)
    svc.add_copies(session, batch, [i.accession_number for i in items], None)
    session.commit()
    items[1].status = "lost"  # as a return count would leave it
    session.commit()
    svc.close(session, batch, actor_id=None)
    session.commit()
    session.expire_all()
    assert [i.status for i in items] == ["available", "lost"]
    assert open_rows(session, items[0].id) == []
    # History stays: the closed batch still lists its copies, and they may join a new batch.
    assert len(queries.batch_copies(session, batch.id)) == 2
    again = new_batch(session, library)
    svc.add_copy(session, again, items[0].accession_number, None)
    session.commit()


# --- split and merge ------------------------------------------------------------------------------


def test_split_keeps_history(session, library):
    items = make_copies(session, library, 4)
    batch = new_batch(session, library)
    svc.add_copies(session, batch, [i.accession_number for i in items], None)
    svc.mark_ready(session, batch, seal_number="S-9", box_count=1, actor_id=None)
    session.commit()
    new = svc.split(session, batch, [items[0].id, items[1].id], actor_id=None)
    session.commit()
    assert new.parent_batch_id == batch.id and new.status == "assembling"
    assert batch.status == "assembling" and batch.seal_number == ""  # to be sealed again
    assert {c.item_id for c in queries.batch_copies(session, new.id)} == {items[0].id, items[1].id}
    assert len(queries.batch_copies(session, batch.id)) == 2
    page = queries.batch_page(session, batch)
    assert page.children_codes == [new.code]
    assert queries.batch_page(session, new).parent_code == batch.code
    assert {e.action for e in page.history} >= {"batch.split", "batch.create"}
    with pytest.raises(ValidationError):
        svc.split(session, batch, [items[2].id, items[3].id], actor_id=None)  # would empty it
    with pytest.raises(ValidationError):
        svc.split(session, batch, [items[0].id], actor_id=None)  # not in this batch any more


def test_merge_moves_copies_and_closes_the_other(session, library, district):
    items = make_copies(session, library, 3)
    a, b = new_batch(session, library), new_batch(session, library)
    svc.add_copy(session, a, items[0].accession_number, None)
    svc.add_copies(session, b, [items[1].accession_number, items[2].accession_number], None)
    session.commit()
    svc.merge(session, a, b, actor_id=None)
    session.commit()
    assert len(queries.batch_copies(session, a.id)) == 3 and b.status == "closed"
    assert all(len(open_rows(session, i.id)) == 1 for i in items)
    merged = session.scalars(select(AuditEvent).where(AuditEvent.action == "batch.merge")).all()
    assert {e.object_label for e in merged} == {a.code, b.code}
    elsewhere = new_batch(session, district)
    with pytest.raises(Conflict, match="different libraries"):
        svc.merge(session, a, elsewhere, actor_id=None)
    with pytest.raises(Conflict):
        svc.merge(session, a, b, actor_id=None)  # b is closed


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_batches_json_shape(runner, session, library):
    items = make_copies(session, library, 2)
    batch = new_batch(session, library)
    svc.add_copies(session, batch, [i.accession_number for i in items], None)
    new_batch(session, library)
    session.commit()
    result = runner.invoke(args=["rotation", "batches", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == [
        {"code": batch.code, "status": "assembling", "holder": "TVT", "copies": 2, "home_library": "TVT"},
        {
            "code": data[1]["code"],
            "status": "assembling",
            "holder": "TVT",
            "copies": 0,
            "home_library": "TVT",
        },
    ]
    text = runner.invoke(args=["rotation", "batches"])
    assert text.exit_code == 0 and batch.code in text.output


# --- pages ----------------------------------------------------------------------------------------


def test_viewer_can_view_but_not_change(client, logged_in, session, library):
    batch = new_batch(session, library)
    logged_in(Role.VIEWER)
    assert client.get("/rotation/batches").status_code == 200
    page = client.get(f"/rotation/batches/{batch.code}")
    assert page.status_code == 200 and 'id="scan-form"' not in page.get_data(as_text=True)
    assert client.get("/rotation/batches/new").status_code == 403
    url = f"/rotation/batches/{batch.code}"
    assert post_form(client, f"{url}/scan", {"code": "x"}, page=url).status_code == 403


def test_point_operator_is_refused_on_staff_pages(client, logged_in, session, library):
    batch = new_batch(session, library)
    logged_in(Role.POINT_OPERATOR)
    for url in ("/rotation/batches", f"/rotation/batches/{batch.code}", "/rotation/batches/new"):
        assert client.get(url).status_code == 403, url


def test_create_scan_paste_and_ready_through_the_pages(client, logged_in, session, library):
    items = make_copies(session, library, 3)
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    response = post_form(
        client,
        "/rotation/batches/new",
        {
            "home_library_id": str(library.id),
            "target_size": "150",
            "box_count": "1",
            "seal_number": "",
            "notes": "",
        },
    )
    assert response.status_code == 302
    code = response.headers["Location"].rsplit("/", 1)[-1]
    assert re.fullmatch(r"LC-\d{4}-0001", code)
    url = f"/rotation/batches/{code}"
    response = post_form(client, f"{url}/scan", {"code": items[0].accession_number}, page=url)
    assert response.status_code == 302 and f"added={items[0].id}" in response.headers["Location"]
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'role="status"' in html and f"Copy {items[0].accession_number} added." in html
    assert re.search(rf'<tr id="copy-{items[0].id}" class="flash-success"', html)
    # The same copy again: an alert at the top, nothing added.
    response = post_form(client, f"{url}/scan", {"code": items[0].accession_number}, page=url)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'role="alert"' in html and "scanned twice" in html
    # A pasted list with one unknown number.
    numbers = f"{items[1].accession_number}\n{items[2].accession_number}\nVN.77777"
    response = post_form(client, f"{url}/paste", {"codes": numbers}, page=url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="paste-report"' in html and "VN.77777" in html
    assert 'data-count="3"' in html
    # Three copies of one title are enough for the rotation stock: no warning.
    assert 'id="thin-titles"' not in html
    # An uploaded file: the first column of a CSV, its header skipped; nothing new, so refused twice.
    csv = f"accession_number,title\n{items[1].accession_number},X\n{items[2].accession_number},Y\n".encode()
    response = post_form(
        client, f"{url}/paste", {"codes": "", "file": (io.BytesIO(csv), "list.csv")}, page=url
    )
    html = response.get_data(as_text=True)
    assert html.count("scanned twice") == 2 and 'data-count="3"' in html
    response = post_form(client, f"{url}/paste", {"codes": ""}, page=url)
    assert response.status_code == 422
    response = post_form(client, f"{url}/ready", {"seal_number": "NP-12", "box_count": "2"}, page=url)
    assert response.status_code == 302
    session.expire_all()
    assert session.scalar(select(Batch.status).where(Batch.code == code)) == "ready"


def test_scanning_a_local_studies_copy_is_refused_with_the_message(client, logged_in, session, library):
    local = make_copies(session, library, 1, is_local_studies=True)[0]
    batch = new_batch(session, library)
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    url = f"/rotation/batches/{batch.code}"
    response = post_form(client, f"{url}/scan", {"code": local.accession_number}, page=url)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    message = f"Copy {local.accession_number} is local-studies material and may not rotate."
    assert 'role="alert"' in html and message in html
    # The phone/scanner page asks for JSON: the same message, and a refusal status.
    response = post_form(
        client,
        f"{url}/scan",
        {"code": local.accession_number},
        page=url,
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 422 and response.get_json() == {"ok": False, "messages": [message]}
    session.expire_all()
    assert open_rows(session, local.id) == []
    assert session.get(Item, local.id).status == "available"


def test_remove_split_and_merge_through_the_pages(client, logged_in, session, library):
    items = make_copies(session, library, 3)
    a, b = new_batch(session, library), new_batch(session, library)
    svc.add_copies(session, a, [items[0].accession_number, items[1].accession_number], None)
    svc.add_copy(session, b, items[2].accession_number, None)
    session.commit()
    logged_in(Role.ROTATION)
    url = f"/rotation/batches/{a.code}"
    assert post_form(client, f"{url}/merge", {"other": b.code}, page=url).status_code == 302
    assert post_form(client, f"{url}/items/{items[0].id}/remove", {}, page=url).status_code == 302
    response = post_form(client, f"{url}/split", {"item_ids": [str(items[1].id)]}, page=url)
    assert response.status_code == 302
    new_code = response.headers["Location"].rsplit("/", 1)[-1]
    session.expire_all()
    assert [c.item_id for c in queries.batch_copies(session, a.id)] == [items[2].id]
    new = session.scalar(select(Batch).where(Batch.code == new_code))
    assert new.parent_batch_id == a.id
    assert session.get(Item, items[0].id).status == "available"


def test_batch_page_with_300_copies_takes_few_queries(client, logged_in, session, library, app):
    """No N+1: the page's query count does not grow with its copies."""
    from sqlalchemy import event

    from app.extensions import db

    items = []
    for _ in range(10):
        items += make_copies(session, library, 30)
    batch = new_batch(session, library)
    svc.add_copies(session, batch, [i.accession_number for i in items], None)
    session.commit()
    logged_in(Role.ROTATION)
    statements = []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(f"/rotation/batches/{batch.code}")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('<tr id="copy-') == 300
    assert len(statements) < 20


def test_unknown_batch_is_404(client, logged_in):
    logged_in(Role.VIEWER)
    assert client.get("/rotation/batches/LC-2000-0001").status_code == 404


# --- the short address on the box label ---------------------------------------------------------


def _dispatch(session, batch, to_site) -> Shipment:
    shipment = Shipment(
        batch_id=batch.id,
        kind=ShipmentKind.LIBRARY_TO_POINT.value,
        from_site_id=batch.home_library_id,
        to_site_id=to_site.id,
        expected_count=0,
    )
    session.add(shipment)
    session.commit()
    return shipment


def test_short_address_takes_staff_to_the_batch_page(client, logged_in, session, library):
    batch = new_batch(session, library)
    logged_in(Role.VIEWER)
    response = client.get(f"/b/{batch.code}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/rotation/batches/{batch.code}")
    assert client.get("/b/LC-1999-0001").status_code == 404


def test_short_address_takes_a_point_operator_to_the_receipt(client, logged_in, session, library, make_site):
    point, elsewhere = make_site(), make_site()
    batch = new_batch(session, library)
    operator = logged_in(Role.POINT_OPERATOR, sites=[point])
    assert client.get(f"/b/{batch.code}").status_code == 403  # nothing on its way to the point
    shipment = _dispatch(session, batch, point)
    response = client.get(f"/b/{batch.code}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/rotation/receive/{shipment.id}")
    assert operator.site_ids == {point.id}
    shipment.status = "received"
    session.commit()
    other = new_batch(session, library)
    _dispatch(session, other, elsewhere)
    assert client.get(f"/b/{other.code}").status_code == 403  # addressed to another point


def test_short_address_needs_a_login(client, session, library):
    batch = new_batch(session, library)
    response = client.get(f"/b/{batch.code}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
