"""Shipment pages: receipt on a phone by the point operator, dispatch, the return count, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import Role
from catalog.models import Item
from rotation.models import Batch, BatchItem, BatchStatus, LineState, Shipment, ShipmentLine, ShipmentStatus
from tests.conftest import post_form
from tests.rotation import test_shipments as base

# The factories of the service tests, shared as fixtures.
library, point, point2, make_copies, make_batch = (
    base.library,
    base.point,
    base.point2,
    base.make_copies,
    base.make_batch,
)
get_in, send, statuses = base.get_in, base.send, base.statuses


def test_operator_confirms_on_the_phone_page_with_one_copy_missing(
    client, session, logged_in, make_batch, point
):
    batch = make_batch(3)
    shipment = send(session, batch, point)
    logged_in(Role.POINT_OPERATOR, sites=[point])
    client.get("/lang/en")
    url = f"/rotation/receive/{shipment.id}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert batch.code in html and "3 copies expected" in html and point.name in html
    assert "<details" in html and "<img" not in html and "<script" not in html
    assert "/catalog" not in html and "/network" not in html and "/rotation/shipments" not in html
    assert len(html.encode()) < 8000
    first = session.scalars(
        select(ShipmentLine.item_id)
        .where(ShipmentLine.shipment_id == shipment.id)
        .order_by(ShipmentLine.item_id)
    ).first()
    response = post_form(
        client, url, {"received_count": "2", "missing": str(first), "received_by_name": "Lò Thị Xuân"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(url)
    done = client.get(url).get_data(as_text=True)
    assert 'id="received"' in done and "Lò Thị Xuân" in done and "2 of 3 copies received" in done
    session.expire_all()
    row = session.get(Shipment, shipment.id)
    assert row.status == ShipmentStatus.RECEIVED and row.received_count == 2
    assert session.get(ShipmentLine, _line_id(session, shipment.id, first)).state == LineState.MISSING
    assert session.get(Batch, batch.id).holder_site_id == point.id


def _line_id(session, shipment_id, item_id):
    return session.scalar(
        select(ShipmentLine.id).where(
            ShipmentLine.shipment_id == shipment_id, ShipmentLine.item_id == item_id
        )
    )


def test_double_submit_shows_the_receipt_and_records_one(client, session, logged_in, make_batch, point):
    shipment = send(session, make_batch(2), point)
    logged_in(Role.POINT_OPERATOR, sites=[point])
    client.get("/lang/en")
    url = f"/rotation/receive/{shipment.id}"
    html = client.get(url).get_data(as_text=True)
    from tests.conftest import csrf_from

    data = {"csrf_token": csrf_from(html), "received_count": "2", "received_by_name": "Cầm Văn Ơn"}
    assert client.post(url, data=data).status_code == 302
    again = client.post(url, data=data, follow_redirects=True)
    assert again.status_code == 200 and 'id="received"' in again.get_data(as_text=True)
    events = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "shipment.receive")
    )
    assert events == 1


def test_operator_of_another_point_gets_403(client, session, logged_in, make_batch, point, point2):
    shipment = send(session, make_batch(1), point)
    logged_in(Role.POINT_OPERATOR, sites=[point2])
    url = f"/rotation/receive/{shipment.id}"
    assert client.get(url).status_code == 403
    assert client.post(url, data={"received_count": "1", "received_by_name": "X"}).status_code in (400, 403)
    assert client.get("/rotation/shipments").status_code == 403
    session.expire_all()
    assert session.get(Shipment, shipment.id).status == ShipmentStatus.DISPATCHED


def test_operator_list_shows_only_their_shipments(client, session, logged_in, make_batch, point, point2):
    mine = send(session, make_batch(1), point)
    other = send(session, make_batch(1), point2)
    logged_in(Role.POINT_OPERATOR, sites=[point])
    html = client.get("/rotation/receive").get_data(as_text=True)
    assert f"pending-{mine.id}" in html and f"pending-{other.id}" not in html


def test_staff_dispatch_and_list(client, session, logged_in, make_batch, point):
    batch = make_batch(2)
    empty = make_batch(items=[])
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    url = f"/rotation/batches/{batch.code}/dispatch"
    response = post_form(client, url, {"to_site_id": str(point.id), "due_back_on": ""})
    assert response.status_code == 302
    shipment = session.scalar(select(Shipment).where(Shipment.batch_id == batch.id))
    assert response.headers["Location"].endswith(f"/rotation/shipments/{shipment.id}")
    detail = client.get(f"/rotation/shipments/{shipment.id}").get_data(as_text=True)
    assert batch.code in detail and point.name in detail
    bad = post_form(client, f"/rotation/batches/{empty.code}/dispatch", {"to_site_id": str(point.id)})
    assert "is empty" in client.get(bad.headers["Location"]).get_data(as_text=True)
    listing = client.get(f"/rotation/shipments?site_id={point.id}&status=dispatched").get_data(as_text=True)
    assert f"shipment-{shipment.id}" in listing
    assert f"shipment-{shipment.id}" not in client.get("/rotation/shipments?status=received").get_data(
        as_text=True
    )


def test_viewer_cannot_dispatch_or_receive(client, session, logged_in, make_batch, point):
    batch = make_batch(1)
    shipment = send(session, make_batch(1), point)
    logged_in(Role.VIEWER)
    assert client.get("/rotation/shipments").status_code == 200
    assert client.get(f"/rotation/batches/{batch.code}/dispatch").status_code == 403
    assert client.get(f"/rotation/receive/{shipment.id}").status_code == 403
    assert client.get(f"/rotation/returns/{shipment.id}").status_code == 403


def test_return_count_page_end_to_end(client, session, logged_in, make_batch, make_copies, point, library):
    batch = make_batch(3)
    get_in(session, send(session, batch, point))
    back = send(session, batch, library)
    loose = make_copies(1)[0]
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    url = f"/rotation/returns/{back.id}"
    assert 'id="arrived-form"' in client.get(url).get_data(as_text=True)
    post_form(client, f"{url}/arrived", {}, page=url)
    codes = sorted(
        session.scalars(
            select(Item.accession_number)
            .join(BatchItem, BatchItem.item_id == Item.id)
            .where(BatchItem.batch_id == batch.id)
        )
    )

    def scan(code):
        html = post_form(client, f"{url}/scan", {"code": code}, page=url).get_data(as_text=True)
        return html

    html = scan(codes[0])
    assert 'data-outcome="returned"' in html and 'role="status"' in html
    assert 'id="count-returned">1<' in html
    assert 'data-outcome="twice"' in scan(codes[0])
    html = scan(loose.accession_number)
    assert 'data-outcome="extra"' in html and 'role="alert"' in html
    assert 'data-outcome="unknown"' in scan("KHONG-CO")
    scan(codes[1])
    post_form(client, f"{url}/finish", {}, page=url)
    html = client.get(url).get_data(as_text=True)
    assert 'id="count-missing">1<' in html and 'id="close-form"' in html
    this_count = select(ShipmentLine).where(ShipmentLine.shipment_id == back.id)  # not the earlier trip's
    lines = {line.item.accession_number: line for line in session.scalars(this_count).all()}
    post_form(
        client, f"{url}/resolve", {"line_id": lines[codes[2]].id, "resolution": "written_off_lost"}, page=url
    )
    post_form(
        client,
        f"{url}/resolve",
        {"line_id": lines[loose.accession_number].id, "resolution": "returned_to_owner"},
        page=url,
    )
    done = post_form(client, f"{url}/close", {}, page=url, follow_redirects=True).get_data(as_text=True)
    assert 'id="batch-closed"' in done
    session.expire_all()
    assert session.get(Batch, batch.id).status == BatchStatus.CLOSED
    assert statuses(session, batch) == ["available", "available", "lost"]


def test_scan_answers_json_for_a_script(client, session, logged_in, make_batch, point, library):
    batch = make_batch(1)
    get_in(session, send(session, batch, point))
    back = get_in(session, send(session, batch, library))
    code = session.scalars(
        select(Item.accession_number)
        .join(BatchItem, BatchItem.item_id == Item.id)
        .where(BatchItem.batch_id == batch.id)
    ).one()
    logged_in(Role.ROTATION)
    url = f"/rotation/returns/{back.id}"
    response = post_form(
        client, f"{url}/scan", {"code": code}, page=url, headers={"Accept": "application/json"}
    )
    assert response.json["outcome"] == "returned" and response.json["counts"]["returned"] == 1


def test_cli_overdue_json(runner, session, make_batch, point):
    late = send(session, make_batch(1), point)
    late.dispatched_at = datetime.now(UTC) - timedelta(days=5)
    session.commit()
    result = runner.invoke(args=["rotation", "overdue", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    result = runner.invoke(args=["rotation", "overdue", "--json", "--days", "3"])
    rows = json.loads(result.output)
    assert [(r["batch"], r["kind"], r["site"]) for r in rows] == [
        (late.batch.code, "unconfirmed", point.name)
    ]
    assert "unconfirmed" in runner.invoke(args=["rotation", "overdue", "--days", "3"]).output
