"""Box labels of a rotation batch (preview and PDF), and /c/<accession>, the address on copy labels.

/c/<accession> lives here, not in the catalogue, because where it leads depends on rotation: staff go
to the copy in the catalogue, the point operator of the point the copy's batch is travelling to goes
to that shipment's receipt page, anyone else gets a page saying what the copy is and why they cannot
go further.
"""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import STAFF_ROLES, Role
from app.errors import DomainError
from app.extensions import db
from app.security import any_user
from app.timeutil import local_today
from catalog.labels import normalise_accession
from catalog.models import Item
from catalog.views.labels import (
    LabelOptionsForm,
    base_url,
    pdf_response,
    render_labels,
    sheet_view,
    show_error,
)
from rotation import labels as batch_labels_domain
from rotation import shipment_queries
from rotation.models import Batch
from rotation.views import bp

# Who prints box labels: rotation staff for every batch; a point operator for the batches held by,
# or on their way to, one of their points (to re-label a box before sending it on).
LABEL_STAFF = (Role.ADMIN, Role.ROTATION)


def _batch_or_404(code: str) -> Batch:
    batch = db.session.scalar(select(Batch).where(Batch.code == code))
    if batch is None:
        abort(404)
    return batch


def may_print(batch: Batch) -> bool:
    """Return True when the current user may print the labels of `batch`."""
    if current_user.has_role(*LABEL_STAFF):
        return True
    if current_user.role != Role.POINT_OPERATOR:
        return False
    sites = current_user.site_ids
    if batch.holder_site_id in sites:
        return True
    shipment = shipment_queries.open_shipment_of(db.session, batch.id)
    return shipment is not None and shipment.to_site_id in sites


@bp.route("/batches/<code>/labels", methods=["GET", "POST"])
@any_user
def batch_labels(code: str):
    """The box labels of a batch: one per box, a preview of the first sheet, the PDF."""
    batch = _batch_or_404(code)
    if not may_print(batch):
        abort(403)
    form = LabelOptionsForm()
    form.fill_choices()
    info = batch_labels_domain.batch_label_info(
        db.session, batch.code, base_url=base_url(), today=local_today()
    )
    status = 200
    preview = None
    if request.method == "POST" and not form.validate_on_submit():
        status = 400
    else:
        try:
            rendered = render_labels(
                form,
                batch_labels_domain.batch_labels(info, gettext=_),
                title=_("Batch %(code)s", code=batch.code),
                preview=not (request.method == "POST" and request.form.get("action") == "pdf"),
            )
        except DomainError as err:
            show_error(form, err)
            status = 422
        else:
            if request.method == "POST" and request.form.get("action") == "pdf":
                return pdf_response(rendered.pdf, f"labels-{batch.code}.pdf")
            preview = sheet_view(rendered)
    return (
        render_template(
            "rotation/labels.html",
            batch=batch,
            info=info,
            lines=batch_labels_domain.label_lines(info, 1, gettext=_),
            form=form,
            preview=preview,
        ),
        status,
    )


# --- the short address on copy labels ----------------------------------------------------------


@any_user
def copy_short(accession: str):
    """The copy label's address: staff see the copy; the destination's operator, the receipt page."""
    number = normalise_accession(accession)
    item = db.session.scalar(select(Item).where(Item.accession_number == number))
    if item is None:
        return render_template("rotation/labels_copy.html", number=number, item=None, reason="unknown"), 404
    if current_user.role in STAFF_ROLES:
        return redirect(url_for("catalog.record", record_id=item.record_id, _anchor="copies"))
    batch = shipment_queries.open_batch_of(db.session, item.id)
    shipment = shipment_queries.open_shipment_of(db.session, batch.id) if batch is not None else None
    sites = current_user.site_ids
    if shipment is not None and shipment.to_site_id in sites:
        return redirect(url_for("rotation.receive", shipment_id=shipment.id))
    if batch is not None and batch.holder_site_id in sites:
        reason = "at_your_point"
    else:
        reason = "not_for_you"
    status = 200 if reason == "at_your_point" else 403
    return (
        render_template("rotation/labels_copy.html", number=number, item=item, batch=batch, reason=reason),
        status,
    )


# The short address lives at the site root (BASE_URL + "/c/" + accession), outside the /rotation
# prefix, with the blueprint's endpoint name: url_for("rotation.copy_short", accession=…).
bp.record_once(lambda state: state.app.add_url_rule("/c/<path:accession>", "rotation.copy_short", copy_short))
