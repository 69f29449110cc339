"""The /labels pages: templates, sample sheets, printers and calibration; the CLI and the form mixin."""

from __future__ import annotations

import json

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.audit.models import AuditEvent
from app.errors import Conflict, ValidationError
from app.labels import services
from app.labels.engine import LabelError
from app.labels.models import LabelPrinter
from app.labels.presets import PRESETS
from tests.conftest import post_form
from tests.labels.test_engine_readback import TOLERANCE, dark_bbox_mm, to_images


def pdf_pages(data: bytes) -> list[tuple[float, float]]:
    """Page sizes in mm."""
    document = pdfium.PdfDocument(data)
    sizes = [(round(w * 25.4 / 72, 1), round(h * 25.4 / 72, 1)) for w, h in (p.get_size() for p in document)]
    document.close()
    return sizes


@pytest.mark.parametrize("role", ["viewer", "cataloguer", "rotation", "acquisitions", "admin"])
def test_staff_see_the_templates(client, logged_in, role):
    logged_in(role)
    html = client.get("/labels/").get_data(as_text=True)
    for name in PRESETS:
        assert f'data-template="{name}"' in html
        assert f"/labels/templates/{name}/sample.pdf" in html
    assert ("/labels/printers/new" in html) == (role != "viewer")


def test_point_operators_and_strangers_are_kept_out(client, logged_in, make_site):
    assert client.get("/labels/").status_code == 302  # to the login page
    logged_in("point_operator", sites=[make_site()])
    assert client.get("/labels/").status_code == 403
    assert client.get("/labels/templates/a4-3x8/sample.pdf").status_code == 403


def test_viewer_may_not_edit_printers(client, logged_in, session):
    logged_in("viewer")
    assert client.get("/labels/printers/new").status_code == 403
    assert post_form(client, "/labels/printers/new", {"name": "X"}, page="/labels/").status_code == 403
    assert session.scalar(select(LabelPrinter)) is None


@pytest.mark.parametrize("name", list(PRESETS))
def test_sample_sheet_is_a_pdf_of_the_template_size(client, logged_in, name):
    logged_in("viewer")
    response = client.get(f"/labels/templates/{name}/sample.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    template = PRESETS[name]
    assert pdf_pages(response.data) == [(round(template.page_width, 1), round(template.page_height, 1))]
    assert client.get("/labels/templates/nope/sample.pdf").status_code == 404


def test_create_edit_calibrate_and_delete_a_printer(client, logged_in, session):
    user = logged_in("cataloguer")
    response = post_form(
        client,
        "/labels/printers/new",
        {
            "name": "Máy in nhãn Brother tầng 2",
            "offset_x": "1,5".replace(",", "."),
            "offset_y": "-0.75",
            "default_template": "a4-4x10",
            "notes": "Khay tay",
        },
    )
    assert response.status_code == 302
    printer = session.scalar(select(LabelPrinter))
    assert (printer.name, printer.offset, printer.default_template) == (
        "Máy in nhãn Brother tầng 2",
        (1.5, -0.75),
        "a4-4x10",
    )
    event = session.scalar(select(AuditEvent).where(AuditEvent.object_type == "label_printer"))
    assert event.action == "label_printer.create" and event.actor_id == user.id

    html = client.get("/labels/").get_data(as_text=True)
    assert f'data-printer="{printer.id}"' in html and "Máy in nhãn Brother tầng 2" in html

    # the calibration page is printed with the printer's offset: marks move by exactly that much
    plain = client.get("/labels/calibration.pdf?template=a4-4x10")
    shifted = client.get(f"/labels/printers/{printer.id}/calibration.pdf")
    assert plain.status_code == shifted.status_code == 200
    (a,) = to_images(plain.data)
    (b,) = to_images(shifted.data)
    # the crosshair at (100 mm, 20 mm): its arms, cropped between the 2 mm circle and the 6 mm ends
    for image, (dx, dy) in ((a, (0.0, 0.0)), (b, (1.5, -0.75))):
        vertical = dark_bbox_mm(image, (98 + dx, 13.5 + dy, 4, 4))
        horizontal = dark_bbox_mm(image, (93.5 + dx, 18 + dy, 4, 4))
        assert abs((vertical[0] + vertical[2]) / 2 - (100 + dx)) <= TOLERANCE
        assert abs((horizontal[1] + horizontal[3]) / 2 - (20 + dy)) <= TOLERANCE

    response = post_form(
        client,
        f"/labels/printers/{printer.id}/edit",
        {"name": "Máy in nhãn tầng 2", "offset_x": "0", "offset_y": "2", "default_template": "", "notes": ""},
    )
    assert response.status_code == 302
    session.expire_all()
    printer = session.get(LabelPrinter, printer.id)
    assert printer.offset == (0.0, 2.0) and printer.name == "Máy in nhãn tầng 2"

    response = post_form(
        client, f"/labels/printers/{printer.id}/delete", {}, page=f"/labels/printers/{printer.id}/edit"
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.scalar(select(LabelPrinter)) is None
    actions = session.scalars(
        select(AuditEvent.action).where(AuditEvent.object_type == "label_printer").order_by(AuditEvent.id)
    ).all()
    assert actions == ["label_printer.create", "label_printer.update", "label_printer.delete"]


def test_bad_printer_input_is_shown_on_the_form(client, logged_in, session):
    logged_in("rotation")
    services.create_printer(session, {"name": "Zebra"}, actor_id=None)
    session.commit()
    response = post_form(client, "/labels/printers/new", {"name": "zebra", "offset_x": "0", "offset_y": "0"})
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    response = post_form(client, "/labels/printers/new", {"name": "Epson", "offset_x": "35", "offset_y": "0"})
    assert response.status_code == 200
    assert session.scalar(select(LabelPrinter).where(LabelPrinter.name == "Epson")) is None
    assert client.get("/labels/printers/999999/edit").status_code == 404


def test_printer_services_validate(session):
    printer = services.create_printer(session, {"name": "  HP  ", "offset_x": "-1,25"}, actor_id=None)
    assert printer.name == "HP" and printer.offset == (-1.25, 0.0)
    with pytest.raises(Conflict):
        services.create_printer(session, {"name": "hp"}, actor_id=None)
    with pytest.raises(ValidationError) as caught:
        services.create_printer(session, {"name": "A", "offset_y": "21"}, actor_id=None)
    assert caught.value.field == "offset_y"
    with pytest.raises(ValidationError) as caught:
        services.create_printer(session, {"name": "B", "default_template": "a5-1x1"}, actor_id=None)
    assert caught.value.field == "default_template"
    with pytest.raises(ValidationError):
        services.create_printer(session, {"name": ""}, actor_id=None)
    services.update_printer(session, printer, {"offset_y": 3}, actor_id=None)
    assert printer.offset == (-1.25, 3.0) and printer.name == "HP"


def test_cli_lists_the_templates(runner):
    result = runner.invoke(args=["labels", "templates"])
    assert result.exit_code == 0, result.output
    assert "a4-3x8" in result.output and "70 × 37 mm" in result.output and "24 per sheet" in result.output
    result = runner.invoke(args=["labels", "templates", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert set(rows) == set(PRESETS)
    assert rows["a4-5x13"]["per_page"] == 65 and rows["roll-50x30"]["roll"] is True
    assert (rows["a4-2x7"]["label_width_mm"], rows["a4-2x7"]["label_height_mm"]) == (99.1, 38.1)


def test_label_options_mixin(app, session):
    from app.labels.forms import LabelOptionsForm

    printer = services.create_printer(
        session, {"name": "Canon", "offset_x": 2, "offset_y": -1}, actor_id=None
    )
    session.commit()
    with app.test_request_context("/"):
        data = MultiDict({"template": "a4-2x7", "start_position": "3", "printer_id": str(printer.id)})
        form = LabelOptionsForm(formdata=data, meta={"csrf": False})
        form.fill_label_choices(session)
        assert form.validate(), form.errors
        assert form.label_template() is PRESETS["a4-2x7"]
        assert form.label_start() == 3 and form.label_offset(session) == (2.0, -1.0)

        data = MultiDict(
            {"template": "custom", "custom_width": "80", "custom_height": "30", "custom_columns": "3"}
        )
        form = LabelOptionsForm(formdata=data, meta={"csrf": False})
        form.fill_label_choices(session)
        assert form.validate(), form.errors
        with pytest.raises(LabelError) as caught:
            form.label_template()
        assert caught.value.field == "label_width" and "30 mm too wide" in str(caught.value)

        data = MultiDict(
            {"template": "custom", "custom_width": "60", "custom_height": "30", "custom_columns": "3"}
        )
        form = LabelOptionsForm(formdata=data, meta={"csrf": False})
        form.fill_label_choices(session)
        assert form.validate(), form.errors
        template = form.label_template()
        assert (template.columns, template.rows, template.margin_left) == (3, 1, 15.0)
        assert form.label_offset(session) == (0.0, 0.0)
