"""Rotation points: the list (filters, diacritics-insensitive search, operators' own points) and a
point's history (batches received, by whom, what left and its differences, usage, titles had)."""

from __future__ import annotations

from datetime import date

import pytest

from app.auth.models import Role
from app.network.models import SiteKind, UnitLevel
from app.network.services import create_unit
from catalog import marc
from catalog.models import Item, ItemStatus
from catalog.services import add_items, create_record, create_sequence
from rotation import shipment_queries as q
from rotation import usage
from rotation.models import Batch, BatchItem, BatchStatus, LineState
from rotation.services import shipments as svc

_codes = iter(range(1, 10_000))


@pytest.fixture
def network(session, make_site):
    """A library and three points: two in Mường La (one a school), one in Mai Sơn."""
    d1 = create_unit(
        session, code="D1", name="Mường La", level=UnitLevel.DISTRICT, valid_from=date(2000, 1, 1)
    )
    d2 = create_unit(
        session, code="D2", name="Mai Sơn", level=UnitLevel.DISTRICT, valid_from=date(2000, 1, 1)
    )
    session.commit()
    library = make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)
    a = make_site(
        code="PA",
        name="Điểm Bưu điện văn hóa xã Chiềng Lao",
        admin_unit_id=d1.id,
        capacity=250,
        contact_person="Lò Thị Đào",
    )
    b = make_site(
        code="PB", name="Trường tiểu học Mường Bú", admin_unit_id=d1.id, kind=SiteKind.SCHOOL_LIBRARY
    )
    c = make_site(code="PC", name="Điểm Hát Lót", admin_unit_id=d2.id, capacity=150)
    return library, a, b, c


@pytest.fixture
def make_batch(session, network):
    """Return a function making a ready batch of new copies, one per title (a title seen before is reused)."""
    library = network[0]
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    session.commit()
    records = {}

    def make(titles: list[str]) -> tuple[Batch, list[Item]]:
        items = []
        for title in titles:
            if title not in records:
                records[title] = create_record(session, marc.build_record(title), actor_id=None)
            record = records[title]
            items += add_items(
                session,
                record,
                count=1,
                sequence_id=seq.id,
                values={"library_id": library.id, "status": ItemStatus.IN_ROTATION.value},
                actor_id=None,
            )
        batch = Batch(
            code=f"LC-2026-{next(_codes):04d}",
            home_library_id=library.id,
            holder_site_id=library.id,
            status=BatchStatus.READY.value,
        )
        session.add(batch)
        session.flush()
        for item in items:
            session.add(BatchItem(batch_id=batch.id, item_id=item.id))
        session.commit()
        return batch, items

    return make


def send(session, batch, site):
    shipment = svc.dispatch(session, batch, to_site_id=site.id, actor_id=None)
    session.commit()
    return shipment


def get_in(session, shipment, name="Lò Thị Đào", missing=()):
    svc.receive(
        session,
        shipment,
        actor_id=None,
        actor_site_ids=None,
        received_count=shipment.expected_count - len(missing),
        missing_item_ids=[i.id for i in missing],
        received_by_name=name,
    )
    session.commit()
    return shipment


@pytest.fixture
def journeys(session, network, make_batch):
    """Four batches through the network.

    1: library → A (one copy missing) → B. 2: library → A → library, counted with one copy missing.
    3: library → A again (with a title A has had), still there. 4: on its way to C.
    """
    library, a, b, c = network
    b1, items1 = make_batch(["Truyện cổ tích Thái", "Ca dao tục ngữ", "Lịch sử Sơn La"])
    get_in(session, send(session, b1, a), missing=[items1[0]])
    get_in(session, send(session, b1, b), name="Cầm Văn Sơn")
    b2, items2 = make_batch(["Kỹ thuật trồng lúa", "Âm nhạc dân gian"])
    get_in(session, send(session, b2, a))
    back = get_in(session, send(session, b2, library), name="Thủ thư")
    svc.scan_return(session, back, items2[0].accession_number, actor_id=None)
    svc.finish_count(session, back, actor_id=None)
    session.commit()
    b3, items3 = make_batch(["Ca dao tục ngữ", "Đường lên Tây Bắc"])
    get_in(session, send(session, b3, a), name="Lò Thị Đào")
    b4, _ = make_batch(["Sức khỏe gia đình"])
    send(session, b4, c)
    return {"b1": b1, "b2": b2, "b3": b3, "b4": b4, "items1": items1, "items2": items2}


# --- queries ---


def test_list_points_district_kind_holder_and_last_receipt(session, network, journeys):
    library, a, b, c = network
    rows = q.list_points(session)
    assert [r.site.code for r in rows] == ["PC", "PA", "PB"]  # Mai Sơn before Mường La, then by name
    by_code = {r.site.code: r for r in rows}
    assert by_code["PA"].district == "Mường La" and by_code["PC"].district == "Mai Sơn"
    assert [code for _, code in by_code["PA"].held] == [journeys["b3"].code]
    assert [code for _, code in by_code["PB"].held] == [journeys["b1"].code]
    assert by_code["PC"].held == () and [code for _, code in by_code["PC"].incoming] == [journeys["b4"].code]
    assert by_code["PC"].last_received_at is None and by_code["PA"].last_received_at is not None
    assert library.id not in {r.site.id for r in rows}


def test_list_points_filters_and_folded_search(session, network, journeys):
    _, a, b, c = network
    assert [r.site.code for r in q.list_points(session, district="Mường La")] == ["PA", "PB"]
    assert [r.site.code for r in q.list_points(session, kind=SiteKind.SCHOOL_LIBRARY.value)] == ["PB"]
    assert [r.site.code for r in q.list_points(session, q="chieng lao")] == ["PA"]
    assert [r.site.code for r in q.list_points(session, q="dao")] == ["PA"]  # Lò Thị Đào, in charge
    assert [r.site.code for r in q.list_points(session, q="MAI SON")] == ["PC"]  # by district
    assert q.list_points(session, q="xyz") == []
    assert [r.site.code for r in q.list_points(session, site_ids={b.id, c.id})] == ["PC", "PB"]
    assert q.point_districts(session) == ["Mai Sơn", "Mường La"]


def test_point_visits_pair_each_arrival_with_its_departure(session, network, journeys):
    library, a, b, _ = network
    visits = q.point_visits(session, a.id)
    assert [v.arrival.batch.code for v in visits] == [
        journeys["b3"].code,
        journeys["b2"].code,
        journeys["b1"].code,
    ]
    v3, v2, v1 = visits
    assert v3.departure is None and v3.received_by == "Lò Thị Đào"
    assert v1.missing_on_arrival == 1 and v1.departure.to_site_id == b.id
    assert v1.departure.expected_count == 3 and v1.differences == ()
    assert v2.missing_on_arrival == 0 and v2.departure.to_site_id == library.id
    missing = journeys["items2"][1]
    assert [(d.item_id, d.state) for d in v2.differences] == [(missing.id, LineState.MISSING.value)]
    (at_b,) = q.point_visits(session, b.id)
    assert at_b.received_by == "Cầm Văn Sơn" and at_b.departure is None


def test_point_titles_count_repeats_and_leave_out_missing_copies(session, network, journeys):
    _, a, _, _ = network
    titles = {t.title: t.times for t in q.point_titles(session, a.id)}
    # "Truyện cổ tích Thái" was missing on arrival: never at the point.
    assert titles == {
        "Ca dao tục ngữ": 2,
        "Lịch sử Sơn La": 1,
        "Kỹ thuật trồng lúa": 1,
        "Âm nhạc dân gian": 1,
        "Đường lên Tây Bắc": 1,
    }
    order = [t.title for t in q.point_titles(session, a.id)]
    assert order == [
        "Âm nhạc dân gian",
        "Ca dao tục ngữ",
        "Đường lên Tây Bắc",
        "Kỹ thuật trồng lúa",
        "Lịch sử Sơn La",
    ]


# --- pages ---


def test_staff_list_page_filters(client, session, network, journeys, logged_in):
    _, a, b, c = network
    logged_in(Role.VIEWER)
    html = client.get("/rotation/points").get_data(as_text=True)
    for site in (a, b, c):
        assert f'data-site="{site.id}"' in html
    assert f'href="/rotation/batches/{journeys["b3"].code}"' in html
    on_its_way = q.open_shipment_of(session, journeys["b4"].id)
    assert f'href="/rotation/receive/{on_its_way.id}"' in html  # C's operator confirms it from here
    html = client.get("/rotation/points", query_string={"district": "Mai Sơn"}).get_data(as_text=True)
    assert f'data-site="{c.id}"' in html and f'data-site="{a.id}"' not in html
    html = client.get("/rotation/points", query_string={"q": "muong bu"}).get_data(as_text=True)
    assert f'data-site="{b.id}"' in html and f'data-site="{a.id}"' not in html
    html = client.get("/rotation/points", query_string={"kind": "post_culture_point"}).get_data(as_text=True)
    assert f'data-site="{a.id}"' in html and f'data-site="{b.id}"' not in html


def test_point_page_shows_history_usage_and_titles(client, session, network, journeys, logged_in):
    _, a, _, _ = network
    usage.record_usage(session, a.id, date(2025, 3, 1), 40, 120, 5, actor_id=None)
    usage.record_usage(session, a.id, date(2025, 4, 1), 10, 20, 1, actor_id=None)
    session.commit()
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    response = client.get(f"/rotation/points/{a.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('data-shipment="') == 3
    for key in ("b1", "b2", "b3"):
        assert f'data-batch="{journeys[key].code}"' in html
    assert f'data-item="{journeys["items2"][1].id}"' in html
    assert "1 missing on arrival" in html and "Lò Thị Đào" in html and "250 copies" in html
    assert 'data-month="2025-04-01"' in html and 'data-month="2025-03-01"' in html
    assert "<td>50</td><td>140</td><td>6</td>" in html
    assert 'data-times="2"' in html and html.count('data-record="') == 5


def test_operator_sees_only_own_points(client, session, network, journeys, logged_in):
    library, a, b, c = network
    logged_in(Role.POINT_OPERATOR, sites=[a])
    html = client.get("/rotation/points").get_data(as_text=True)
    assert f'data-site="{a.id}"' in html
    assert f'data-site="{b.id}"' not in html and f'data-site="{c.id}"' not in html
    assert "/rotation/batches/" not in html  # no links to staff pages
    assert client.get(f"/rotation/points/{a.id}").status_code == 200
    assert client.get(f"/rotation/points/{b.id}").status_code == 403
    assert client.get(f"/rotation/points/{library.id}").status_code == 404


def test_point_pages_404_and_login(client, network, logged_in):
    library, a, _, _ = network
    assert client.get("/rotation/points").status_code == 302
    assert client.get(f"/rotation/points/{a.id}").status_code == 302
    logged_in(Role.ROTATION)
    assert client.get(f"/rotation/points/{library.id}").status_code == 404
    assert client.get("/rotation/points/999999").status_code == 404
    html = client.get(f"/rotation/points/{a.id}").get_data(as_text=True)
    assert 'id="visits"' in html and 'id="point-titles"' not in html  # no titles yet
