"""Box labels of a batch read back (QR decoded at 300 dpi), where they come from, and /c/<accession>."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from app.auth.models import Role
from app.errors import NotFound
from app.labels.engine import render_pdf
from app.labels.presets import get_template
from app.timeutil import local_today
from catalog.models import Item
from rotation import labels as batch_labels_domain
from rotation.models import Batch, BatchItem, PlanAssignment, PlanStatus, RotationPlan
from tests.catalog.test_labels import decode_pages, decoded, flat, text_layer
from tests.conftest import post_form
from tests.rotation import test_shipments as base

library, point, point2, make_copies, make_batch = (
    base.library,
    base.point,
    base.point2,
    base.make_copies,
    base.make_batch,
)
send = base.send

BASE = "http://tram.test"


def boxes(session, batch, n: int) -> Batch:
    row = session.get(Batch, batch.id)
    row.box_count = n
    session.commit()
    return row


def render(labels, template: str = "a4-3x8") -> bytes:
    out = io.BytesIO()
    render_pdf(get_template(template), labels, out)
    return out.getvalue()


# --- domain ---------------------------------------------------------------------------------------


def test_one_label_per_box_with_the_short_address_and_the_destination(session, make_batch, point):
    batch = boxes(session, make_batch(4), 3)
    send(session, batch, point)
    info = batch_labels_domain.batch_label_info(session, batch.code, base_url=BASE + "/", today=local_today())
    assert info.address == f"{BASE}/b/{batch.code}" and info.copies == 4 and info.box_count == 3
    pdf = render(batch_labels_domain.batch_labels(info))
    assert decoded(pdf) == [f"{BASE}/b/{batch.code}"] * 3
    text = flat(text_layer(pdf))
    for n in (1, 2, 3):
        assert f"Box {n} of 3" in text
    assert "Copies: 4" in text and batch.code in text
    assert "Chiềng Cơi" in text  # the destination point, Vietnamese in the text layer
    assert local_today().strftime("%d/%m/%Y") in text  # dispatched today


def test_destination_from_the_approved_plan_when_nothing_is_on_its_way(session, make_batch, point, point2):
    batch = make_batch(2)
    this_year = local_today().year
    approved = RotationPlan(year=this_year + 1, period_months=3, status=PlanStatus.APPROVED.value)
    draft = RotationPlan(year=this_year, period_months=1, status=PlanStatus.DRAFT.value)
    session.add_all([approved, draft])
    session.flush()
    session.add_all(
        [
            PlanAssignment(plan_id=approved.id, point_id=point2.id, batch_id=batch.id, period=1),
            PlanAssignment(plan_id=approved.id, point_id=point.id, batch_id=batch.id, period=3),
            PlanAssignment(plan_id=draft.id, point_id=point.id, batch_id=batch.id, period=11),
        ]
    )
    session.commit()
    info = batch_labels_domain.batch_label_info(session, batch.code, base_url=BASE, today=local_today())
    dest = info.destination
    assert dest.site_code == "BDVH2" and dest.source == "plan"
    assert (dest.first_day, dest.last_day) == (date(this_year + 1, 4, 1), date(this_year + 1, 6, 30))
    text = flat(text_layer(render(batch_labels_domain.batch_labels(info))))
    assert f"01/04/{this_year + 1} – 30/06/{this_year + 1}" in text and "Mường Bú" in text


def test_unknown_destination_is_said_on_the_label(session, make_batch):
    batch = make_batch(1)
    info = batch_labels_domain.batch_label_info(session, batch.code, base_url=BASE, today=local_today())
    assert info.destination is None
    pdf = render(batch_labels_domain.batch_labels(info), "a4-5x13")
    text = flat(text_layer(pdf))
    assert "destination not set" in text and "period not set" in text and "Box 1 of 1" in text
    assert decoded(pdf) == [f"{BASE}/b/{batch.code}"]


def test_unknown_batch(session):
    with pytest.raises(NotFound):
        batch_labels_domain.batch_label_info(session, "LC-0000-0000", base_url=BASE, today=local_today())


@pytest.mark.parametrize("template", ["a4-3x8", "a4-2x7", "a4-4x10", "a4-5x13", "roll-50x30", "roll-100x50"])
def test_box_labels_decode_on_every_template(session, make_batch, point, template):
    batch = boxes(session, make_batch(1), 2)
    send(session, batch, point)
    info = batch_labels_domain.batch_label_info(session, batch.code, base_url=BASE, today=local_today())
    pages = decode_pages(render(batch_labels_domain.batch_labels(info), template))
    assert sorted(code for page in pages for code in page) == [("QRCode", f"{BASE}/b/{batch.code}")] * 2


# --- the page ---------------------------------------------------------------------------------------


def test_rotation_staff_preview_and_pdf(client, session, logged_in, make_batch, point):
    batch = boxes(session, make_batch(2), 5)
    logged_in(Role.ROTATION)
    url = f"/rotation/batches/{batch.code}/labels"
    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-count="5"' in html and html.count('data-used="yes"') == 5
    assert f"{BASE}/b/{batch.code}" in html and 'data-set="no"' in html
    response = post_form(
        client, url, {"template": "a4-2x7", "start_position": "3", "printer_id": "", "action": "pdf"}
    )
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert decoded(response.data) == [f"{BASE}/b/{batch.code}"] * 5
    past = post_form(
        client, url, {"template": "a4-2x7", "start_position": "15", "printer_id": "", "action": "pdf"}
    )
    assert past.status_code == 422 and past.mimetype == "text/html"


def test_operator_of_the_destination_may_print_others_may_not(
    client, session, logged_in, make_batch, point, point2
):
    batch = make_batch(1)
    send(session, batch, point)
    url = f"/rotation/batches/{batch.code}/labels"
    logged_in(Role.POINT_OPERATOR, sites=[point2])
    assert client.get(url).status_code == 403
    assert client.post(
        url, data={"template": "a4-3x8", "start_position": "1", "action": "pdf"}
    ).status_code in (
        400,
        403,
    )


def test_operator_of_the_destination_prints(client, session, logged_in, make_batch, point):
    batch = make_batch(1)
    send(session, batch, point)
    url = f"/rotation/batches/{batch.code}/labels"
    logged_in(Role.POINT_OPERATOR, sites=[point])
    assert client.get(url).status_code == 200
    response = post_form(
        client, url, {"template": "roll-50x30", "start_position": "1", "printer_id": "", "action": "pdf"}
    )
    assert response.status_code == 200 and decoded(response.data) == [f"{BASE}/b/{batch.code}"]


@pytest.mark.parametrize("role", [Role.CATALOGUER, Role.VIEWER])
def test_other_staff_cannot_print_box_labels(client, logged_in, make_batch, role):
    batch = make_batch(1)
    logged_in(role)
    assert client.get(f"/rotation/batches/{batch.code}/labels").status_code == 403


def test_unknown_batch_page_and_missing_csrf(client, logged_in, make_batch):
    batch = make_batch(1)
    logged_in(Role.ROTATION)
    assert client.get("/rotation/batches/NOPE/labels").status_code == 404
    response = client.post(
        f"/rotation/batches/{batch.code}/labels", data={"template": "a4-3x8", "action": "pdf"}
    )
    assert response.status_code == 400 and response.mimetype == "text/html"


# --- /c/<accession> -----------------------------------------------------------------------------------


def test_copy_address_leads_staff_to_the_copy(client, session, logged_in, make_copies):
    (item,) = make_copies(1)
    logged_in(Role.CATALOGUER)
    response = client.get(f"/c/{item.accession_number}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/catalog/records/{item.record_id}#copies")
    assert client.get(f"/c/{item.accession_number.lower()}").status_code == 302


def test_copy_address_leads_the_destination_operator_to_the_receipt(
    client, session, logged_in, make_batch, point, point2
):
    batch = make_batch(2)
    shipment = send(session, batch, point)
    accession = session.scalars(
        select(Item.accession_number)
        .join(BatchItem, BatchItem.item_id == Item.id)
        .where(BatchItem.batch_id == batch.id)
    ).first()
    logged_in(Role.POINT_OPERATOR, sites=[point])
    response = client.get(f"/c/{accession}")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/rotation/receive/{shipment.id}"
    )


def test_copy_address_gives_anyone_else_a_clear_page(client, session, logged_in, make_batch, point, point2):
    batch = make_batch(1)
    send(session, batch, point)
    accession = session.scalar(
        select(Item.accession_number)
        .join(BatchItem, BatchItem.item_id == Item.id)
        .where(BatchItem.batch_id == batch.id)
    )
    logged_in(Role.POINT_OPERATOR, sites=[point2])
    client.get("/lang/en")
    response = client.get(f"/c/{accession}")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert (
        'data-reason="not_for_you"' in html and accession in html and "not on its way to your point" in html
    )
    unknown = client.get("/c/XX.404")
    assert unknown.status_code == 404 and 'data-reason="unknown"' in unknown.get_data(as_text=True)


def test_copy_address_needs_a_login(client, make_copies):
    (item,) = make_copies(1)
    response = client.get(f"/c/{item.accession_number}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- the CLI ------------------------------------------------------------------------------------------


def test_cli_batch_labels(runner, session, make_batch, point, tmp_path):
    batch = boxes(session, make_batch(3), 2)
    send(session, batch, point)
    out = tmp_path / "thung.pdf"
    result = runner.invoke(
        args=["labels", "batch", batch.code, "--template", "a4-5x13", "--start", "4", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "labels: 2" in result.output and "BDVH1" in result.output
    assert decoded(out.read_bytes()) == [f"{BASE}/b/{batch.code}"] * 2


def test_cli_and_page_printer_offset_moves_the_box_labels(
    runner, client, logged_in, session, make_batch, point, tmp_path
):
    from app.labels.services import create_printer
    from tests.catalog.test_labels_options import assert_moved

    batch = boxes(session, make_batch(2), 2)
    printer = create_printer(
        session, {"name": "Zebra kho", "offset_x": "-1", "offset_y": "2.5"}, actor_id=None
    )
    session.commit()
    plain, moved = tmp_path / "plain.pdf", tmp_path / "moved.pdf"
    assert runner.invoke(args=["labels", "batch", batch.code, "-o", str(plain)]).exit_code == 0
    result = runner.invoke(args=["labels", "batch", batch.code, "--printer", "Zebra kho", "-o", str(moved)])
    assert result.exit_code == 0, result.output
    assert_moved(plain.read_bytes(), moved.read_bytes(), -1.0, 2.5)
    logged_in(Role.ROTATION)
    url = f"/rotation/batches/{batch.code}/labels"
    page_plain = post_form(client, url, {"template": "a4-3x8", "start_position": "1", "action": "pdf"})
    page_moved = post_form(
        client, url, {"template": "a4-3x8", "printer_id": str(printer.id), "action": "pdf"}, page=url
    )
    assert page_plain.status_code == page_moved.status_code == 200
    assert_moved(page_plain.data, page_moved.data, -1.0, 2.5)
    assert decoded(page_moved.data) == [f"{BASE}/b/{batch.code}"] * 2


def test_cli_batch_bad_input(runner, session, make_batch, tmp_path):
    batch = make_batch(1)
    out = tmp_path / "x.pdf"
    for args, message in [
        (["NOPE"], "No batch with code NOPE"),
        ([batch.code, "--start", "25"], "past the end"),
        ([batch.code, "--template", "a5"], "Unknown label template"),
        ([batch.code, "--printer", "Không có"], "No saved printer"),
    ]:
        result = runner.invoke(args=["labels", "batch", *args, "--output", str(out)])
        assert result.exit_code == 1, (args, result.output)
        assert message in result.output and len(result.output.strip().splitlines()) == 1
        assert not out.exists()
    assert runner.invoke(args=["labels", "batch", batch.code]).exit_code == 2
    assert runner.invoke(args=["labels", "batch", "--output", str(out)]).exit_code == 2


def test_a_batch_at_a_point_with_nothing_planned_shows_that_point(session, make_batch, point):
    batch = make_batch(2)
    base.get_in(session, send(session, batch, point))
    info = batch_labels_domain.batch_label_info(session, batch.code, base_url=BASE, today=local_today())
    assert (info.destination.site_code, info.destination.source) == ("BDVH1", "point")
    assert info.destination.first_day == local_today()
