"""Rotation documents as PDF: the handover record of a shipment, a batch's packing list, the return record."""

from __future__ import annotations

from flask import Response, abort
from sqlalchemy import select

from app.extensions import db
from app.security import staff_required
from rotation import documents
from rotation.models import Batch, Shipment, ShipmentKind
from rotation.views import bp


def _pdf(content: bytes, filename: str) -> Response:
    """Return PDF bytes shown inline in the browser, with a file name for saving."""
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _shipment(shipment_id: int) -> Shipment:
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None:
        abort(404)
    return shipment


@bp.get("/shipments/<int:shipment_id>/handover.pdf", endpoint="handover_pdf")
@staff_required
def handover_pdf(shipment_id: int):
    """The handover record (biên bản bàn giao) of a shipment."""
    shipment = _shipment(shipment_id)
    content = documents.handover_pdf(documents.handover_data(db.session, shipment))
    return _pdf(content, f"bien-ban-ban-giao-{shipment.batch.code}-{shipment.id}.pdf")


@bp.get("/batches/<code>/packing.pdf", endpoint="packing_pdf")
@staff_required
def packing_pdf(code: str):
    """The packing list of a batch."""
    batch = db.session.scalar(select(Batch).where(Batch.code == code.strip().upper()))
    if batch is None:
        abort(404)
    content = documents.packing_pdf(documents.packing_data(db.session, batch))
    return _pdf(content, f"phieu-dong-goi-{batch.code}.pdf")


@bp.get("/returns/<int:shipment_id>/record.pdf", endpoint="return_pdf")
@staff_required
def return_pdf(shipment_id: int):
    """The return and reconciliation record of a batch sent back to the library."""
    shipment = _shipment(shipment_id)
    if shipment.kind != ShipmentKind.POINT_TO_LIBRARY:
        abort(404)
    content = documents.return_pdf(documents.return_data(db.session, shipment))
    return _pdf(content, f"bien-ban-kiem-dem-{shipment.batch.code}-{shipment.id}.pdf")
