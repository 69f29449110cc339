"""Rotation pages: shipments, dispatch, receipt on a phone, and the return count at the library."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.auth.models import Role
from app.db import transaction
from app.errors import N_, DomainError, PermissionDenied
from app.extensions import db
from app.network.models import Site
from app.security import any_user, may_open, roles_required, staff_required
from app.web import Pagination, error_text, flash_error, int_arg, page_arg
from rotation import shipment_queries as q
from rotation.models import (
    Batch,
    LineState,
    Resolution,
    Shipment,
    ShipmentKind,
    ShipmentLine,
    ShipmentStatus,
)
from rotation.services import shipments as svc
from rotation.views import bp
from rotation.withdrawal_candidates import written_off_copies

ROTATION_STAFF = (Role.ADMIN, Role.ROTATION)
PER_PAGE = 50

SHIPMENT_KIND_LABELS = {
    ShipmentKind.LIBRARY_TO_POINT: N_("Library → point"),
    ShipmentKind.POINT_TO_POINT: N_("Point → point"),
    ShipmentKind.POINT_TO_LIBRARY: N_("Point → library"),
}
SHIPMENT_STATUS_LABELS = {
    ShipmentStatus.DISPATCHED: N_("Dispatched, not yet received"),
    ShipmentStatus.RECEIVED: N_("Received"),
    ShipmentStatus.CANCELLED: N_("Cancelled"),
}
LINE_STATE_LABELS = {
    LineState.EXPECTED: N_("Expected"),
    LineState.RECEIVED: N_("Received"),
    LineState.MISSING: N_("Missing"),
    LineState.DAMAGED: N_("Damaged"),
    LineState.EXTRA: N_("Extra"),
}
RESOLUTION_LABELS = {
    Resolution.FOUND_LATER: N_("Found later"),
    Resolution.CHARGED_TO_POINT: N_("Charged to the point"),
    Resolution.WRITTEN_OFF_LOST: N_("Written off as lost"),
    Resolution.WRITTEN_OFF_DAMAGED: N_("Written off as damaged"),
    Resolution.RETURNED_TO_OWNER: N_("Returned to its owner"),
}


def _label(labels: dict, value: str | None) -> str:
    for key, text in labels.items():
        if key.value == value:
            return _(text)
    return value or ""


def labels() -> dict:
    """Return the label helpers every shipment template uses."""
    return {
        "kind_label": lambda v: _label(SHIPMENT_KIND_LABELS, v),
        "status_label": lambda v: _label(SHIPMENT_STATUS_LABELS, v),
        "state_label": lambda v: _label(LINE_STATE_LABELS, v),
        "resolution_label": lambda v: _label(RESOLUTION_LABELS, v),
    }


def _shipment_or_404(shipment_id: int):
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None:
        abort(404)
    return shipment


def _is_rotation_staff() -> bool:
    return current_user.has_role(*ROTATION_STAFF)


def _actor_site_ids() -> set[int] | None:
    """Return None for rotation staff (they act everywhere), else the operator's points."""
    return None if _is_rotation_staff() else current_user.site_ids


# --- list and detail (staff) --------------------------------------------------------------------


@bp.get("/shipments")
@staff_required
def shipments():
    """All shipments, newest first, filtered by status, kind, site or batch code."""
    filters = {
        "status": request.args.get("status") or None,
        "kind": request.args.get("kind") or None,
        "site_id": int_arg("site_id"),
        "batch_code": (request.args.get("batch") or "").strip() or None,
    }
    page = page_arg()
    rows, total = q.list_shipments(db.session, **filters, page=page, per_page=PER_PAGE)
    sites = db.session.scalars(select(Site).order_by(Site.sort_key)).all()
    return render_template(
        "rotation/shipments.html",
        rows=rows,
        pagination=Pagination(page, PER_PAGE, total),
        filters=filters,
        sites=sites,
        kinds=SHIPMENT_KIND_LABELS,
        statuses=SHIPMENT_STATUS_LABELS,
        **labels(),
    )


@bp.get("/shipments/<int:shipment_id>")
@staff_required
def shipment(shipment_id: int):
    """One shipment: who sent it, who received it, and every copy's state."""
    row = _shipment_or_404(shipment_id)
    return render_template(
        "rotation/shipment.html",
        shipment=row,
        lines=q.line_rows(db.session, row.id),
        history=q.batch_history(db.session, row.batch_id),
        **labels(),
    )


# --- dispatch -----------------------------------------------------------------------------------


def _batch_or_404(code: str) -> Batch:
    batch = db.session.scalar(select(Batch).where(Batch.code == code.strip().upper()))
    if batch is None:
        abort(404)
    return batch


def dispatch_sites() -> list[Site]:
    """Return the active sites a batch can be sent to, in Vietnamese order."""
    return list(db.session.scalars(select(Site).where(Site.is_active.is_(True)).order_by(Site.sort_key)))


@bp.route("/batches/<code>/dispatch", methods=["GET", "POST"])
@roles_required(*ROTATION_STAFF)
def dispatch(code: str):
    """Send a batch to a point (or back to a library); the form is also included on the batch page."""
    batch = _batch_or_404(code)
    if request.method == "POST":
        due = None
        if request.form.get("due_back_on"):
            try:
                due = date.fromisoformat(request.form["due_back_on"])
            except ValueError:
                flash(_("The return date is not a valid date."), "error")
                return redirect(url_for("rotation.dispatch", code=batch.code))
        try:
            site_id = int(request.form.get("to_site_id") or 0)
        except ValueError:
            site_id = 0
        try:
            with transaction(db.session):
                row = svc.dispatch(
                    db.session, batch, to_site_id=site_id, actor_id=current_user.id, due_back_on=due
                )
        except DomainError as err:
            flash_error(err)
            return redirect(url_for("rotation.dispatch", code=batch.code))
        flash(_("Batch %(code)s dispatched.", code=batch.code), "success")
        return redirect(url_for("rotation.shipment", shipment_id=row.id))
    return render_template("rotation/shipment_dispatch.html", batch=batch, dispatch_sites=dispatch_sites())


# --- receipt at the point (a phone, a slow connection) ------------------------------------------


@bp.get("/receive")
@any_user
def receive_list():
    """Shipments waiting for confirmation: at the operator's points, or everywhere for staff."""
    if _is_rotation_staff():
        rows, _total = q.list_shipments(db.session, status=ShipmentStatus.DISPATCHED.value, per_page=200)
    else:
        rows = q.pending_for_sites(db.session, current_user.site_ids)
    return render_template("rotation/receive_list.html", rows=rows)


@bp.route("/receive/<int:shipment_id>", methods=["GET", "POST"])
@any_user
def receive(shipment_id: int):
    """Confirm the arrival of a batch: count, missing or damaged copies, the receiver's name."""
    row = _shipment_or_404(shipment_id)
    if not _is_rotation_staff() and current_user.role != Role.POINT_OPERATOR:
        abort(403)
    try:
        svc.check_receiver(row, _actor_site_ids())
    except PermissionDenied:
        abort(403)
    if row.status != ShipmentStatus.DISPATCHED.value:
        return render_template("rotation/receive_done.html", shipment=row, **labels())
    if request.method == "POST":
        try:
            with transaction(db.session):
                svc.receive(
                    db.session,
                    row,
                    actor_id=current_user.id,
                    actor_site_ids=_actor_site_ids(),
                    received_count=request.form.get("received_count", ""),
                    missing_item_ids=_ids("missing"),
                    damaged_item_ids=_ids("damaged"),
                    received_by_name=request.form.get("received_by_name", ""),
                )
        except PermissionDenied:
            abort(403)
        except DomainError as err:
            flash_error(err)
            # A double submit lands here after the first one won: show the receipt.
            return redirect(url_for("rotation.receive", shipment_id=shipment_id))
        flash(_("Receipt confirmed. Thank you!"), "success")
        return redirect(url_for("rotation.receive", shipment_id=shipment_id))
    with_list = row.kind != ShipmentKind.POINT_TO_LIBRARY.value
    return render_template(
        "rotation/receive.html",
        shipment=row,
        lines=q.line_rows(db.session, row.id) if with_list else [],
        default_name=current_user.full_name or "",
    )


def _ids(name: str) -> list[int]:
    values = []
    for raw in request.form.getlist(name):
        try:
            value = int(raw)
        except ValueError:
            continue
        if 0 < value < 2**31:  # an id column's range: anything else names no copy (and would not bind)
            values.append(value)
    return values


# --- return count at the library ----------------------------------------------------------------


WITHDRAWAL_ENDPOINT = "acquisitions.withdrawal_new"


def _written_off(row) -> dict | None:
    """Return the copies of this count written off and not withdrawn yet, with where to withdraw them."""
    copies = written_off_copies(db.session, shipment_id=row.id)
    if not copies:
        return None
    url = None
    if may_open(WITHDRAWAL_ENDPOINT):
        library_ids = {c.library_id for c in copies}
        url = url_for(
            "acquisitions.withdrawals", library_id=library_ids.pop() if len(library_ids) == 1 else None
        )
    return {"count": len(copies), "url": url}


def _return_page(row, result=None, status: int = 200):
    differences = q.line_rows(
        db.session, row.id, states=[LineState.MISSING.value, LineState.DAMAGED.value, LineState.EXTRA.value]
    )
    html = render_template(
        "rotation/return.html",
        shipment=row,
        summary=svc.count_summary(db.session, row.id),
        differences=differences,
        result=result,
        result_text=_(result.message, **result.params) if result else "",
        written_off=_written_off(row),
        resolutions=RESOLUTION_LABELS,
        fitting={r.value: sorted(states) for r, states in svc.RESOLUTION_STATES.items()},
        **labels(),
    )
    return html, status


def _return_shipment(shipment_id: int):
    row = _shipment_or_404(shipment_id)
    if row.kind != ShipmentKind.POINT_TO_LIBRARY.value:
        abort(404)
    return row


@bp.get("/returns/<int:shipment_id>")
@roles_required(*ROTATION_STAFF)
def returns(shipment_id: int):
    """The return count: scan copies back, finish, settle every difference, close the batch."""
    return _return_page(_return_shipment(shipment_id))


@bp.post("/returns/<int:shipment_id>/scan")
@roles_required(*ROTATION_STAFF)
def return_scan(shipment_id: int):
    """Count one copy back (a keyboard-wedge scanner types the number and Enter)."""
    row = _return_shipment(shipment_id)
    try:
        with transaction(db.session):
            result = svc.scan_return(
                db.session,
                row,
                request.form.get("code", ""),
                actor_id=current_user.id,
                damaged=bool(request.form.get("damaged")),
            )
    except DomainError as err:
        if request.accept_mimetypes.best == "application/json":
            return jsonify(outcome="error", message=error_text(err)), 409
        flash_error(err)
        return redirect(url_for("rotation.returns", shipment_id=shipment_id))
    if request.accept_mimetypes.best == "application/json":
        summary = svc.count_summary(db.session, row.id)
        return jsonify(
            outcome=result.outcome,
            message=_(result.message, **result.params),
            accession_number=result.accession_number,
            title=result.title,
            counts={"expected": summary.expected, "returned": summary.returned, "extra": summary.extra},
        )
    return _return_page(row, result)


def _return_action(shipment_id: int, action, success: str):
    row = _return_shipment(shipment_id)
    try:
        with transaction(db.session):
            action(row)
    except DomainError as err:
        flash_error(err)
    else:
        flash(success, "success")
    return redirect(url_for("rotation.returns", shipment_id=shipment_id))


@bp.post("/returns/<int:shipment_id>/arrived")
@roles_required(*ROTATION_STAFF)
def return_arrived(shipment_id: int):
    """Confirm that the boxes of a returning batch arrived at the library."""

    def act(row):
        svc.receive(
            db.session,
            row,
            actor_id=current_user.id,
            actor_site_ids=None,
            received_count=row.expected_count,
            received_by_name=current_user.full_name or current_user.username,
        )

    return _return_action(shipment_id, act, _("Arrival confirmed: scan the copies."))


@bp.post("/returns/<int:shipment_id>/finish")
@roles_required(*ROTATION_STAFF)
def return_finish(shipment_id: int):
    """End the count: copies not scanned are missing."""
    return _return_action(
        shipment_id,
        lambda row: svc.finish_count(db.session, row, actor_id=current_user.id),
        _("Count finished."),
    )


@bp.post("/returns/<int:shipment_id>/resolve")
@roles_required(*ROTATION_STAFF)
def return_resolve(shipment_id: int):
    """Settle one difference (a select per line)."""

    def act(row):
        try:
            line_id = int(request.form.get("line_id", ""))
        except ValueError:
            abort(400)
        line = db.session.get(ShipmentLine, line_id)
        if line is None or line.shipment_id != row.id:
            abort(404)
        svc.resolve(
            db.session,
            line,
            request.form.get("resolution", ""),
            actor_id=current_user.id,
            note=request.form.get("note", ""),
        )

    return _return_action(shipment_id, act, _("Difference settled."))


@bp.post("/returns/<int:shipment_id>/close")
@roles_required(*ROTATION_STAFF)
def return_close(shipment_id: int):
    """Close the counted batch: its copies are free again."""
    return _return_action(
        shipment_id,
        lambda row: svc.reconcile_and_close(db.session, row, actor_id=current_user.id),
        _("Batch closed: its copies are available again."),
    )
