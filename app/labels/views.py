"""Web pages of the label engine under /labels: templates with sample sheets, printers and calibration."""

from __future__ import annotations

import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from app.auth.models import Role
from app.db import transaction
from app.errors import DomainError
from app.extensions import db
from app.labels import queries, services
from app.labels.engine import LabelCanvas, Template, fmt_mm, render_calibration_pdf, render_pdf
from app.labels.forms import PrinterForm
from app.labels.models import LabelPrinter
from app.labels.presets import PRESETS
from app.security import roles_required, staff_required
from app.web import flash_error

bp = Blueprint("labels", __name__, template_folder="templates")

PRINTER_EDITORS = (Role.ADMIN, Role.CATALOGUER, Role.ROTATION, Role.ACQUISITIONS)
SAMPLE_QR = "https://example.vn/b/LC-2026-0001"


def _can_edit() -> bool:
    return current_user.has_role(*PRINTER_EDITORS)


def _lang() -> str:
    return str(get_locale() or "vi")


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _template_or_404(name: str) -> Template:
    template = PRESETS.get(name)
    if template is None:
        abort(404)
    return template


def _printer_or_404(printer_id: int) -> LabelPrinter:
    printer = db.session.get(LabelPrinter, printer_id)
    if printer is None:
        abort(404)
    return printer


@bp.get("/")
@staff_required
def index():
    """The label templates with their sizes and sample sheets, and the calibrated printers."""
    return render_template(
        "labels/index.html",
        templates=list(PRESETS.values()),
        printers=queries.list_printers(db.session),
        can_edit=_can_edit(),
        fmt_mm=fmt_mm,
    )


def _sample_label(template: Template, number: int, caption: str):
    def draw(canvas: LabelCanvas) -> None:
        p = canvas.padding
        inner_w, inner_h = canvas.width - 2 * p, canvas.height - 2 * p
        size = min(inner_h, inner_w * 0.45)
        canvas.qr(SAMPLE_QR, p, p, size)
        left = p + size + 1
        canvas.text(f"{number}", left, p, inner_w - size - 1, inner_h * 0.45, size=14, min_size=5, bold=True)
        canvas.text(caption, left, p + inner_h * 0.5, inner_w - size - 1, inner_h * 0.5, size=8, min_size=4)

    return draw


@bp.get("/templates/<name>/sample.pdf")
@staff_required
def template_sample(name: str):
    """A full sheet of numbered sample labels with dashed outlines (one label for a roll)."""
    template = _template_or_404(name)
    caption = f"{template.name} · {fmt_mm(template.label_width)} × {fmt_mm(template.label_height)} mm"
    labels = (_sample_label(template, n, caption) for n in range(1, template.per_page + 1))
    out = io.BytesIO()
    render_pdf(template, labels, out, title=_(template.title), lang=_lang(), outlines=True)
    return _pdf(out.getvalue(), f"sample-{template.name}.pdf")


def _calibration(template: Template, offset: tuple[float, float], printer_name: str) -> bytes:
    lines = [
        _("Calibration page: %(template)s", template=_(template.title)),
        _(
            "Printer: %(name)s, offset %(x)s mm, %(y)s mm",
            name=printer_name,
            x=fmt_mm(offset[0]),
            y=fmt_mm(offset[1]),
        )
        if printer_name
        else _("No printer offset applied."),
        _("Print at actual size (scale 100, not “fit to page”)."),
        _("Measure each crosshair's centre from the paper's left and top edges."),
        _("New offset = current offset + (position printed next to the mark − position measured)."),
    ]
    out = io.BytesIO()
    render_calibration_pdf(template, out, offset=offset, caption="\n".join(lines), lang=_lang())
    return out.getvalue()


@bp.get("/calibration.pdf")
@staff_required
def calibration():
    """A calibration page without any offset, for a printer not yet saved."""
    template = _template_or_404(request.args.get("template", "a4-3x8"))
    return _pdf(_calibration(template, (0.0, 0.0), ""), f"calibration-{template.name}.pdf")


@bp.get("/printers/<int:printer_id>/calibration.pdf")
@staff_required
def printer_calibration(printer_id: int):
    """A calibration page printed with the printer's current offset (the marks land true when it is right)."""
    printer = _printer_or_404(printer_id)
    name = request.args.get("template") or printer.default_template or "a4-3x8"
    template = _template_or_404(name)
    return _pdf(
        _calibration(template, printer.offset, printer.name), f"calibration-{printer.id}-{template.name}.pdf"
    )


def _values(form: PrinterForm) -> dict:
    return {
        "name": form.name.data,
        "offset_x": form.offset_x.data if form.offset_x.data is not None else 0,
        "offset_y": form.offset_y.data if form.offset_y.data is not None else 0,
        "default_template": form.default_template.data or "",
        "notes": form.notes.data or "",
    }


def _name_taken(form: PrinterForm) -> None:
    form.name.errors.append(_("A printer named %(name)s already exists.", name=form.name.data))


@bp.route("/printers/new", methods=["GET", "POST"])
@roles_required(*PRINTER_EDITORS)
def printer_new():
    """Save a printer and its calibration offset."""
    form = PrinterForm()
    form.fill_choices()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                printer = services.create_printer(db.session, _values(form), actor_id=current_user.id)
        except DomainError as err:
            flash_error(err, form)
        except IntegrityError:
            _name_taken(form)
        else:
            flash(_("Printer %(name)s saved.", name=printer.name), "success")
            return redirect(url_for("labels.index"))
    return render_template("labels/printer_form.html", form=form, printer=None)


@bp.route("/printers/<int:printer_id>/edit", methods=["GET", "POST"])
@roles_required(*PRINTER_EDITORS)
def printer_edit(printer_id: int):
    """Change a printer's name, offset, usual template or notes."""
    printer = _printer_or_404(printer_id)
    form = PrinterForm(obj=printer) if request.method == "GET" else PrinterForm()
    form.fill_choices()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.update_printer(db.session, printer, _values(form), actor_id=current_user.id)
        except DomainError as err:
            flash_error(err, form)
        except IntegrityError:
            _name_taken(form)
        else:
            flash(_("Printer %(name)s saved.", name=printer.name), "success")
            return redirect(url_for("labels.index"))
    return render_template(
        "labels/printer_form.html", form=form, printer=printer, templates=list(PRESETS.values())
    )


@bp.post("/printers/<int:printer_id>/delete")
@roles_required(*PRINTER_EDITORS)
def printer_delete(printer_id: int):
    """Delete a printer."""
    printer = _printer_or_404(printer_id)
    name = printer.name
    with transaction(db.session):
        services.delete_printer(db.session, printer, actor_id=current_user.id)
    flash(_("Printer %(name)s deleted.", name=name), "success")
    return redirect(url_for("labels.index"))
