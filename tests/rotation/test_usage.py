"""Point usage (own points only, a month replaced, totals) and rotation statistics with CSV."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from app.auth.models import Role
from app.errors import PermissionDenied, ValidationError
from app.network.models import SiteKind, UnitLevel
from app.network.services import create_unit, move_site_to_unit
from rotation import usage
from rotation.models import Batch, PointUsage, Shipment
from tests.conftest import post_form


@pytest.fixture
def points(session, make_site):
    """Two points in two districts (the second moves to a new commune on 1 July 2025)."""
    d1 = create_unit(
        session, code="D1", name="Mường La", level=UnitLevel.DISTRICT, valid_from=date(2000, 1, 1)
    )
    d2 = create_unit(
        session, code="D2", name="Mai Sơn", level=UnitLevel.DISTRICT, valid_from=date(2000, 1, 1)
    )
    session.commit()
    a = make_site(code="PA", name="Điểm A", admin_unit_id=d1.id)
    b = make_site(code="PB", name="Điểm B", admin_unit_id=d2.id)
    return a, b


def rows(session) -> list[PointUsage]:
    session.expire_all()
    return list(session.scalars(select(PointUsage).order_by(PointUsage.site_id, PointUsage.month)))


def test_operator_records_own_point_and_a_month_is_replaced(session, points):
    a, _ = points
    usage.record_usage(session, a.id, date(2025, 3, 17), 40, 120, 5, actor_id=None, actor_site_ids={a.id})
    usage.record_usage(session, a.id, date(2025, 3, 1), 42, 130, 6, actor_id=None, actor_site_ids={a.id})
    session.commit()
    (row,) = rows(session)
    assert (row.month, row.visitors, row.item_uses, row.reader_requests) == (date(2025, 3, 1), 42, 130, 6)


def test_operator_refused_for_another_point(session, points):
    a, b = points
    with pytest.raises(PermissionDenied):
        usage.record_usage(session, b.id, date(2025, 3, 1), 1, 1, 1, actor_id=None, actor_site_ids={a.id})


def test_bad_figures_and_future_months_are_refused(session, points):
    a, _ = points
    with pytest.raises(ValidationError):
        usage.record_usage(session, a.id, date(2025, 3, 1), -1, 0, 0, actor_id=None)
    with pytest.raises(ValidationError):
        usage.record_usage(session, a.id, date(2025, 5, 1), 1, 0, 0, actor_id=None, today=date(2025, 4, 30))


def test_totals_by_point_and_by_district_of_the_month(session, points):
    a, b = points
    commune = create_unit(
        session, code="XNEW", name="Xã Mới", level=UnitLevel.COMMUNE, valid_from=date(2025, 7, 1)
    )
    move_site_to_unit(session, b, commune.id, since=date(2025, 7, 1))
    for month, site, visitors in ((1, a, 10), (2, a, 5), (1, b, 7), (8, b, 3)):
        usage.record_usage(session, site.id, date(2025, month, 1), visitors, visitors * 2, 1, actor_id=None)
    session.commit()
    found = usage.usage_rows(session, 2025)
    by_point = usage.totals_by_point(found)
    assert by_point[a.id].visitors == 15 and by_point[b.id].visitors == 10
    by_district = usage.totals_by_district(session, found)
    assert {k: v.visitors for k, v in by_district.items()} == {"Mường La": 15, "Mai Sơn": 7, "Xã Mới": 3}
    assert usage.usage_rows(session, 2024) == []


def test_operator_page_for_own_point_and_403_for_another(client, session, points, logged_in):
    a, b = points
    logged_in(Role.POINT_OPERATOR, sites=[a])
    data = {
        "site_id": str(a.id),
        "month": "2025-03",
        "visitors": "12",
        "item_uses": "30",
        "reader_requests": "0",
    }
    response = post_form(client, "/rotation/usage", data)
    assert response.status_code == 302
    data["visitors"] = "15"
    assert post_form(client, "/rotation/usage", data).status_code == 302
    (row,) = rows(session)
    assert (row.site_id, row.visitors, row.reader_requests) == (a.id, 15, 0)
    response = post_form(client, "/rotation/usage", {**data, "site_id": str(b.id)})
    assert response.status_code == 403
    assert len(rows(session)) == 1
    html = client.get("/rotation/usage?year=2025").get_data(as_text=True)
    assert f'data-site="{a.id}"' in html and 'id="usage-districts"' not in html


def test_staff_enter_any_point_and_see_district_totals(client, session, points, logged_in):
    a, b = points
    logged_in(Role.ROTATION)
    for site, n in ((a, 4), (b, 6)):
        data = {
            "site_id": str(site.id),
            "month": "2025-02",
            "visitors": str(n),
            "item_uses": "1",
            "reader_requests": "2",
        }
        assert post_form(client, "/rotation/usage", data).status_code == 302
    html = client.get("/rotation/usage?year=2025").get_data(as_text=True)
    assert 'data-district="Mường La"' in html and 'data-district="Mai Sơn"' in html
    assert [r.visitors for r in rows(session)] == [4, 6]


def test_usage_needs_a_login(client):
    assert client.get("/rotation/usage").status_code == 302


# --- rotation statistics ------------------------------------------------------------------------


@pytest.fixture
def shipments(session, points, make_site):
    """Three deliveries in 2025 (two in February to two districts, one received), one batch overdue."""
    a, b = points
    library = make_site(code="TVT", name="Thư viện tỉnh", kind=SiteKind.PROVINCIAL_LIBRARY)
    batches = []
    for i in range(3):
        batch = Batch(code=f"LC-2025-010{i}", home_library_id=library.id, status="in_transit")
        session.add(batch)
        batches.append(batch)
    session.flush()
    for batch, site, day, count, status in (
        (batches[0], a, datetime(2025, 2, 3, 9, tzinfo=UTC), 200, "received"),
        (batches[1], b, datetime(2025, 2, 20, 9, tzinfo=UTC), 150, "dispatched"),
        (batches[2], a, datetime(2025, 5, 2, 9, tzinfo=UTC), 180, "received"),
    ):
        session.add(
            Shipment(
                batch_id=batch.id,
                kind="library_to_point",
                from_site_id=library.id,
                to_site_id=site.id,
                expected_count=count,
                dispatched_at=day,
                status=status,
            )
        )
    batches[0].status = "at_point"
    batches[0].holder_site_id = a.id
    batches[0].due_back_on = date(2025, 8, 1)
    session.commit()
    return batches


def test_stats_by_period_and_district_with_overdue_counts(session, points, shipments):
    report = usage.rotation_stats(session, 2025, 3, today=date(2025, 9, 1))
    assert [(r.period, r.district, r.trips, r.copies, r.points) for r in report.rows] == [
        (1, "Mai Sơn", 1, 150, 1),
        (1, "Mường La", 1, 200, 1),
        (2, "Mường La", 1, 180, 1),
    ]
    assert report.unconfirmed == 1 and report.overdue_batches == 1
    monthly = usage.rotation_stats(session, 2025, 1, today=date(2025, 2, 21))
    assert {r.period for r in monthly.rows} == {2, 5}
    assert monthly.unconfirmed == 0 and monthly.overdue_batches == 0
    lines = usage.stats_csv(report).splitlines()
    assert lines[0] == "year,period,district,trips,copies,points_served"
    assert lines[1] == "2025,1,Mai Sơn,1,150,1"


def test_stats_page_and_csv(client, session, shipments, logged_in):
    logged_in(Role.VIEWER)
    html = client.get("/rotation/stats?year=2025&period=quarter").get_data(as_text=True)
    assert 'data-district="Mai Sơn" data-period="1"' in html
    response = client.get("/rotation/stats?year=2025&format=csv")
    assert response.mimetype == "text/csv"
    assert "2025,2,Mường La,1,200,1" in response.get_data(as_text=True)


def test_stats_refused_to_point_operators(client, points, logged_in):
    logged_in(Role.POINT_OPERATOR, sites=[points[0]])
    assert client.get("/rotation/stats").status_code == 403


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CATALOGUER, Role.ACQUISITIONS])
def test_staff_outside_rotation_cannot_write_usage(app, session, client, logged_in, make_site, role):
    point = make_site(code="BDVH-X", name="Điểm X", kind=SiteKind.POST_CULTURE_POINT)
    logged_in(role)
    page = client.get("/rotation/usage")
    assert page.status_code == 200
    assert b'id="usage-form"' not in page.data
    response = post_form(
        client,
        "/rotation/usage",
        {"site_id": str(point.id), "month": "2026-01", "visitors": "5", "item_uses": "1"},
        page="/catalog/",
    )
    assert response.status_code == 403
    assert session.scalar(select(func.count()).select_from(PointUsage)) == 0
