"""A point operator sees and changes only their own points, whatever URL or form field they edit.

The operator of `world.point` tries every operator-facing route with the other point's identifiers:
the batch and copy short addresses (/b/, /c/), the receipt page (GET and POST, with forged hidden
fields), the points pages, the usage entry (forged site_id, duplicated fields), the usage export and
the box labels. Each refusal is checked both by status and by the database staying unchanged.
"""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from rotation.models import LineState, PointUsage, Shipment, ShipmentLine, ShipmentStatus
from tests.conftest import csrf_from

OP = "point_operator"


def _token(client, page: str = "/") -> str:
    return csrf_from(client.get(page).get_data(as_text=True))


def _shipment_state(session, shipment_id: int) -> tuple:
    session.expire_all()
    row = session.get(Shipment, shipment_id)
    lines = session.scalars(
        select(ShipmentLine.state).where(ShipmentLine.shipment_id == shipment_id).order_by(ShipmentLine.id)
    ).all()
    return row.status, row.received_count, tuple(lines)


def test_batch_short_address_of_another_point_is_refused(as_role, world):
    client = as_role(OP)
    mine = client.get(f"/b/{world.batch.code}")
    assert mine.status_code == 302
    assert mine.headers["Location"].endswith(f"/rotation/receive/{world.shipment.id}")
    assert client.get(f"/b/{world.other_batch.code}").status_code == 403
    assert client.get(f"/b/{world.other_batch.code.lower()}").status_code in (403, 404)
    assert client.get(f"/b/{world.open_batch.code}").status_code == 403  # at the library, not shipped


def test_copy_short_address_of_another_point_is_refused(as_role, world):
    client = as_role(OP)
    own_number = world.ids["accession"]
    response = client.get(f"/c/{own_number}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/rotation/receive/{world.shipment.id}")
    other = client.get(f"/c/{world.other_item.accession_number}")
    assert other.status_code == 403
    html = other.get_data(as_text=True)
    assert world.other_point.name not in html and world.other_batch.code not in html
    # A copy at the library (not shipped) tells nothing either.
    assert client.get(f"/c/{world.item.accession_number}").status_code == 403


def test_receipt_page_of_another_point_cannot_be_opened_or_sent(as_role, world, session):
    client = as_role(OP)
    before = _shipment_state(session, world.other_shipment.id)
    url = f"/rotation/receive/{world.other_shipment.id}"
    assert client.get(url).status_code == 403
    other_lines = session.scalars(
        select(ShipmentLine.item_id).where(ShipmentLine.shipment_id == world.other_shipment.id)
    ).all()
    response = client.post(
        url,
        data={
            "csrf_token": _token(client),
            "received_count": "0",
            "missing": [str(i) for i in other_lines],
            "received_by_name": "Kẻ gian",
        },
    )
    assert response.status_code == 403
    assert _shipment_state(session, world.other_shipment.id) == before
    assert before[0] == ShipmentStatus.DISPATCHED


def test_forged_copy_ids_of_another_shipment_in_own_receipt_change_nothing(as_role, world, session):
    """The hidden/checkbox fields name copies of the other point's shipment: refused, nothing written."""
    client = as_role(OP)
    url = f"/rotation/receive/{world.shipment.id}"
    token = csrf_from(client.get(url).get_data(as_text=True))
    other_ids = session.scalars(
        select(ShipmentLine.item_id).where(ShipmentLine.shipment_id == world.other_shipment.id)
    ).all()
    before_mine = _shipment_state(session, world.shipment.id)
    before_other = _shipment_state(session, world.other_shipment.id)
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "received_count": "1",
            "missing": [str(other_ids[0])],
            "damaged": [str(other_ids[1])],
            "received_by_name": "Lò Thị Xuân",
        },
    )
    assert response.status_code in (200, 302)
    assert _shipment_state(session, world.shipment.id) == before_mine
    assert _shipment_state(session, world.other_shipment.id) == before_other
    # The honest form still works afterwards (the refusal was about the forged ids, not the user).
    ok = client.post(
        url, data={"csrf_token": token, "received_count": "2", "received_by_name": "Lò Thị Xuân"}
    )
    assert ok.status_code == 302
    status, count, lines = _shipment_state(session, world.shipment.id)
    assert status == ShipmentStatus.RECEIVED and count == 2
    assert set(lines) == {LineState.RECEIVED}
    assert _shipment_state(session, world.other_shipment.id) == before_other


def test_receive_list_and_home_show_only_own_shipments(as_role, world):
    client = as_role(OP)
    html = client.get("/rotation/receive").get_data(as_text=True)
    assert f"/rotation/receive/{world.shipment.id}" in html
    assert f"/rotation/receive/{world.other_shipment.id}" not in html
    assert world.other_batch.code not in html and world.other_point.name not in html
    home = client.get("/").get_data(as_text=True)
    assert world.other_batch.code not in home and world.other_point.name not in home


def test_points_pages_show_only_own_points(as_role, world):
    client = as_role(OP)
    listing = client.get("/rotation/points").get_data(as_text=True)
    assert world.point.name in listing
    assert world.other_point.name not in listing and world.other_point.code not in listing
    filtered = client.get(f"/rotation/points?q={world.other_point.code}").get_data(as_text=True)
    assert world.other_point.name not in filtered
    assert client.get(f"/rotation/points/{world.point.id}").status_code == 200
    assert client.get(f"/rotation/points/{world.other_point.id}").status_code == 403
    assert client.get(f"/rotation/points/{world.library.id}").status_code in (403, 404)


def _usage(session, site_id: int) -> list[tuple]:
    session.expire_all()
    return [
        (u.month, u.visitors, u.item_uses, u.reader_requests)
        for u in session.scalars(
            select(PointUsage).where(PointUsage.site_id == site_id).order_by(PointUsage.month)
        )
    ]


def test_usage_of_another_point_cannot_be_written_by_editing_site_id(as_role, world, session):
    client = as_role(OP)
    page = client.get("/rotation/usage?year=2026")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert world.other_point.name not in html and ">99<" not in html  # the other point's item uses
    token = csrf_from(html)
    before = _usage(session, world.other_point.id)
    form = {
        "csrf_token": token,
        "month": "2026-09",
        "visitors": "1",
        "item_uses": "1",
        "reader_requests": "1",
    }
    assert (
        client.post("/rotation/usage", data={**form, "site_id": str(world.other_point.id)}).status_code == 403
    )
    # Parameter pollution: the own point first, the other second, and the other way round.
    polluted = [("site_id", str(world.point.id)), ("site_id", str(world.other_point.id))]
    response = client.post("/rotation/usage", data=MultiDict(list(form.items()) + polluted))
    assert response.status_code in (200, 302, 403)
    response = client.post("/rotation/usage", data=MultiDict(list(form.items()) + polluted[::-1]))
    assert response.status_code == 403
    # A site that is not a point at all (the library).
    assert client.post("/rotation/usage", data={**form, "site_id": str(world.library.id)}).status_code == 403
    assert _usage(session, world.other_point.id) == before


def test_usage_export_holds_only_own_points(as_role, world):
    client = as_role(OP)
    response = client.get("/rotation/usage.xlsx?year=2026")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data), read_only=True)
    text = " ".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value
    )
    assert world.point.code in text or world.point.name in text
    assert world.other_point.code not in text and world.other_point.name not in text


def test_box_labels_of_another_points_batch_are_refused(as_role, world):
    client = as_role(OP)
    assert client.get(f"/rotation/batches/{world.batch.code}/labels").status_code == 200
    url = f"/rotation/batches/{world.other_batch.code}/labels"
    assert client.get(url).status_code == 403
    response = client.post(url, data={"csrf_token": _token(client), "action": "pdf"})
    assert response.status_code == 403
    assert not response.data.startswith(b"%PDF")


def test_staff_pages_naming_other_objects_are_closed_to_the_operator(as_role, world):
    client = as_role(OP)
    for url in (
        f"/rotation/shipments/{world.other_shipment.id}",
        f"/rotation/shipments/{world.other_shipment.id}/handover.pdf",
        f"/rotation/batches/{world.other_batch.code}",
        f"/rotation/batches/{world.other_batch.code}/packing.pdf",
        f"/rotation/returns/{world.other_shipment.id}",
        f"/network/sites/{world.other_point.id}",
        "/rotation/shipments",
        "/rotation/stats",
        f"/catalog/records/{world.record.id}",
    ):
        assert client.get(url).status_code == 403, url
