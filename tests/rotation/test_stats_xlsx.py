"""Rotation statistics and point usage as XLSX: header row, typed cells, Vietnamese text, sheet title."""

from __future__ import annotations

import io
from collections import defaultdict
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.auth.models import Role
from app.network.models import SiteKind, UnitLevel
from app.network.services import create_unit
from rotation import usage
from rotation.models import Batch, PointUsage, Shipment

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def data(session, make_site):
    """Two points in two districts, a library, five deliveries in 2025 and one in 2024, usage rows."""
    d1 = create_unit(
        session, code="D1", name="Mường La", level=UnitLevel.DISTRICT, valid_from=date(2000, 1, 1)
    )
    d2 = create_unit(
        session, code="D2", name="Mai Sơn", level=UnitLevel.DISTRICT, valid_from=date(2000, 1, 1)
    )
    session.commit()
    a = make_site(code="PA", name="Điểm Chiềng Lao", admin_unit_id=d1.id)
    b = make_site(code="PB", name="Điểm Hát Lót", admin_unit_id=d2.id)
    library = make_site(code="TVT", name="Thư viện tỉnh", kind=SiteKind.PROVINCIAL_LIBRARY)
    plan = (
        (a, datetime(2025, 1, 10, 3, tzinfo=UTC), 200, "received"),
        (b, datetime(2025, 2, 20, 3, tzinfo=UTC), 150, "received"),
        (a, datetime(2025, 3, 5, 3, tzinfo=UTC), 180, "received"),
        (b, datetime(2025, 7, 1, 3, tzinfo=UTC), 210, "received"),
        (a, datetime(2025, 11, 2, 3, tzinfo=UTC), 190, "dispatched"),
        (b, datetime(2024, 12, 30, 3, tzinfo=UTC), 99, "received"),
    )
    for i, (site, day, count, status) in enumerate(plan):
        batch = Batch(code=f"LC-2025-02{i:02d}", home_library_id=library.id, status="in_transit")
        session.add(batch)
        session.flush()
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
    session.commit()
    usage.record_usage(session, a.id, date(2025, 3, 1), 40, 120, 5, actor_id=None, notes="Tết = đông")
    usage.record_usage(session, b.id, date(2025, 4, 1), 12, 30, 0, actor_id=None)
    usage.record_usage(session, a.id, date(2024, 4, 1), 1, 1, 1, actor_id=None)
    session.commit()
    return {"a": a, "b": b, "districts": {a.id: "Mường La", b.id: "Mai Sơn"}}


def open_sheet(response):
    assert response.status_code == 200 and response.mimetype == XLSX
    assert "attachment" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert len(book.worksheets) == 1
    return book.active


def test_stats_xlsx_matches_the_database(client, session, data, logged_in):
    logged_in(Role.VIEWER)
    client.get("/lang/en")
    sheet = open_sheet(
        client.get("/rotation/stats", query_string={"year": 2025, "period": "quarter", "format": "xlsx"})
    )
    assert sheet.title == "Rotation statistics 2025"
    assert [c.value for c in sheet[1]] == [
        "Year",
        "Quarter",
        "District",
        "Trips",
        "Copies rotated",
        "Points served",
    ]
    assert all(c.font.bold for c in sheet[1]) and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width >= 20
    # The expected figures, straight from the shipments table.
    expected: dict[tuple[int, str], list] = defaultdict(lambda: [0, 0, set()])
    for shipment in session.scalars(select(Shipment)):
        if shipment.dispatched_at.year != 2025:
            continue
        key = ((shipment.dispatched_at.month - 1) // 3 + 1, data["districts"][shipment.to_site_id])
        expected[key][0] += 1
        expected[key][1] += shipment.expected_count
        expected[key][2].add(shipment.to_site_id)
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    body = [r for r in rows if r[1] is not None]
    assert sorted(((r[1], r[2]), r[3], r[4], r[5]) for r in body) == sorted(
        (k, v[0], v[1], len(v[2])) for k, v in expected.items()
    )
    assert all(isinstance(r[0], int) and isinstance(r[1], int) and isinstance(r[4], int) for r in body)
    total = next(r for r in rows if r[2] == "Total")
    assert total[3:5] == [5, 200 + 150 + 180 + 210 + 190]
    unconfirmed = next(r for r in rows if r[2] == "Shipments not confirmed")
    assert unconfirmed[3] == 1  # the November delivery, long unconfirmed


def test_stats_xlsx_monthly_periods(client, session, data, logged_in):
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    sheet = open_sheet(client.get("/rotation/stats?year=2025&format=xlsx"))
    assert sheet["B1"].value == "Month"
    body = [[c.value for c in row] for row in sheet.iter_rows(min_row=2) if row[1].value is not None]
    assert [(r[1], r[2], r[4]) for r in body] == [
        (1, "Mường La", 200),
        (2, "Mai Sơn", 150),
        (3, "Mường La", 180),
        (7, "Mai Sơn", 210),
        (11, "Mường La", 190),
    ]


def test_usage_xlsx_matches_the_database_and_keeps_text_as_text(client, session, data, logged_in):
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    sheet = open_sheet(client.get("/rotation/usage.xlsx?year=2025"))
    assert sheet.title == "Point usage 2025"
    assert sheet["B1"].value == "Rotation point" and sheet["D1"].value == "Month"
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    usage_rows = session.scalars(
        select(PointUsage).where(PointUsage.month >= date(2025, 1, 1)).order_by(PointUsage.site_id)
    ).all()
    assert len(rows) == len(usage_rows) == 2
    for row, expected in zip(rows, usage_rows, strict=True):
        site = data["a"] if expected.site_id == data["a"].id else data["b"]
        assert row[:3] == [site.code, site.name, data["districts"][site.id]]
        assert row[3].date() == expected.month and sheet.cell(row=rows.index(row) + 2, column=4).is_date
        assert row[4:7] == [expected.visitors, expected.item_uses, expected.reader_requests]
    assert rows[0][7] == "Tết = đông"


def test_usage_xlsx_for_an_operator_holds_only_their_points(client, session, data, logged_in):
    logged_in(Role.POINT_OPERATOR, sites=[data["b"]])
    sheet = open_sheet(client.get("/rotation/usage.xlsx?year=2025"))
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["PB"]


def test_stats_xlsx_refused_to_point_operators(client, data, logged_in):
    logged_in(Role.POINT_OPERATOR, sites=[data["a"]])
    assert client.get("/rotation/stats?year=2025&format=xlsx").status_code == 403
