"""Copy and spine labels from the catalogue: a list of accession numbers, a search result, a receiving.

/catalog/labels takes accession numbers typed, pasted, uploaded (.txt/.csv) or given in the address
(`?accessions=A,B,C` from receivings and batch pages; `?records=1,2,3`, the copies of records, from
search results; `?intake=ID`, the copies an intake received; `&kind=spine`), shows a preview of the
first sheet and gives the PDF. The helpers at the top (options form, PDF rendering, sheet mock-up)
are shared with the batch labels page in rotation/views/labels.py.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date

from flask import Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField
from wtforms import RadioField, SelectChoice, TextAreaField

from app.auth.models import Role
from app.errors import DomainError
from app.extensions import db
from app.labels.engine import RenderReport, Template, render_pdf
from app.labels.forms import CUSTOM, LabelOptionsMixin
from app.security import roles_required
from app.web import error_text, int_arg
from catalog import labels as copy_labels_domain
from catalog.acquisitions.models import Intake
from catalog.acquisitions.services import received_accessions
from catalog.views import bp

# Who prints copy and spine labels: the people who catalogue, receive and rotate copies.
LABEL_PRINTERS_ROLES = (Role.ADMIN, Role.CATALOGUER, Role.ACQUISITIONS, Role.ROTATION)
DEFAULT_TEMPLATE = "a4-3x8"
DEFAULT_SPINE_TEMPLATE = "a4-5x13"


# --- shared with rotation/views/labels.py ---------------------------------------------------------
# The label options (template or custom size, start position, printer) come from the label engine's
# form mixin (app/labels/forms.py), so they are the same on every label page; printers are read with
# app/labels/queries.py.


class LabelOptionsForm(LabelOptionsMixin, FlaskForm):
    """Template (or a custom size), start position on a partly used sheet, and printer (its offset)."""

    def fill_choices(self, *, default_template: str = DEFAULT_TEMPLATE) -> None:
        """Fill the template and printer lists (call before validating)."""
        self.fill_label_choices(db.session, default_template=default_template)


@dataclass
class Rendered:
    """A rendered label job: the PDF bytes (None for a preview), the engine's report, the template."""

    pdf: bytes | None
    report: RenderReport
    template: Template
    count: int
    pages: int


def render_labels(form: LabelOptionsMixin, labels: list, *, title: str, preview: bool = False) -> Rendered:
    """Render labels to PDF with the form's template, start position and printer offset.

    A preview renders the first sheet only (what the page shows) but counts every label and page; a
    download keeps no placements (memory does not grow with the job).
    """
    template = form.label_template()
    offset = form.label_offset(db.session)
    start = form.label_start()
    first_sheet = template.per_page - start + 1 if 1 <= start <= template.per_page else len(labels)
    out = io.BytesIO()
    report = render_pdf(
        template,
        labels[:first_sheet] if preview else labels,
        out,
        start_position=start,
        offset=offset,
        title=title,
        lang=_lang(),
        report_pages=1 if preview else 0,
    )
    count = len(labels)
    pages = 1 + max(0, math.ceil((count - first_sheet) / template.per_page))
    return Rendered(None if preview else out.getvalue(), report, template, count, pages)


def _lang() -> str:
    from flask import g

    return g.get("lang") or "vi"


# Engine and content errors name a field; these are not form fields of their own.
FIELD_OF_ERROR = {"start": "start_position", "printer": "printer_id", "offset": "printer_id"}


def show_error(form: FlaskForm, err: DomainError) -> None:
    """Show a domain error (from the engine or the label content) next to the field it concerns."""
    name = FIELD_OF_ERROR.get(err.field or "", err.field or "")
    if name in ("label_width", "label_height") and form.template.data == CUSTOM:
        name = "custom_width" if name == "label_width" else "custom_height"
    target = getattr(form, name, None) if name else None
    if not hasattr(target, "errors"):
        target = form.template
    target.errors = [*target.errors, error_text(err)]


def pdf_response(pdf: bytes, filename: str) -> Response:
    """Return a PDF download."""
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def sheet_view(rendered: Rendered, page: int = 0) -> dict:
    """Return what the sheet mock-up draws for one page (0-based): size, slots, labels, texts, codes."""
    t = rendered.template
    placements = [p for p in rendered.report.placements if p.page == page]
    used = {p.slot for p in placements}
    slots = []
    for slot in range(t.per_page):
        x, y = t.origin(slot)
        slots.append({"x": x, "y": y, "used": slot in used})
    return {
        "width": t.page_width,
        "height": t.page_height,
        "label_width": t.label_width,
        "label_height": t.label_height,
        "slots": slots,
        "placements": placements,
        "pages": rendered.pages,
        # A sheet fills the card's width; a roll label is drawn at about 4 px per mm.
        "svg_width": "100%" if t.page_width > 120 else f"{t.page_width * 4:.0f}",
        "count": rendered.count,
    }


def base_url() -> str:
    """Return BASE_URL, the start of every address printed in a QR code."""
    return str(current_app.config["BASE_URL"]).rstrip("/")


# --- copy and spine labels ------------------------------------------------------------------------


class CopyLabelsForm(LabelOptionsMixin, FlaskForm):
    """Accession numbers and the kind of label."""

    accessions = TextAreaField(
        _l("Accession numbers"),
        description=_l("One per line, or separated by spaces or commas."),
        render_kw={"rows": 8},
    )
    file = FileField(
        _l("Or a file"),
        validators=[FileAllowed(["txt", "csv"], _l("Choose a .txt or .csv file."))],
        description=_l("A .txt file with the numbers, or a .csv file with an accession number column."),
    )
    kind = RadioField(
        _l("Kind of label"),
        choices=[SelectChoice("copy", _l("Copy label")), SelectChoice("spine", _l("Spine label"))],
        default="copy",
    )
    code = RadioField(
        _l("Code on copy labels"),
        choices=[
            SelectChoice("qr", _l("QR code (opens the copy)")),
            SelectChoice("code128", _l("Barcode (Code 128)")),
        ],
        default="qr",
    )
    on_unknown = RadioField(
        _l("Numbers not in the catalogue"),
        choices=[
            SelectChoice("skip", _l("List them and print the others")),
            SelectChoice("refuse", _l("Print nothing")),
        ],
        default="skip",
    )


def _numbers(form: CopyLabelsForm) -> list[str]:
    numbers = copy_labels_domain.parse_accessions(form.accessions.data or "")
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", ""):
        numbers += copy_labels_domain.parse_accession_file(upload.read(), upload.filename)
    return copy_labels_domain.unique_in_order(numbers)


@bp.route("/labels", methods=["GET", "POST"])
@roles_required(*LABEL_PRINTERS_ROLES)
def labels_copies():
    """Copy and spine labels: the form, the preview of the first sheet and the PDF download."""
    form = CopyLabelsForm()
    spine = request.method == "GET" and request.args.get("kind") == "spine"
    form.fill_label_choices(
        db.session, default_template=DEFAULT_SPINE_TEMPLATE if spine else DEFAULT_TEMPLATE
    )
    if request.method == "GET":
        given = copy_labels_domain.parse_accessions(request.args.get("accessions", ""))
        record_ids = [int(r) for r in request.args.get("records", "").split(",") if r.strip().isdigit()][:500]
        if record_ids:
            given += copy_labels_domain.accessions_of_records(db.session, record_ids)
        intake_id = int_arg("intake")
        if intake_id is not None:
            if db.session.get(Intake, intake_id) is None:
                abort(404)
            given += received_accessions(db.session, intake_id)
        if given:
            form.accessions.data = "\n".join(copy_labels_domain.unique_in_order(given))
        if request.args.get("kind") in copy_labels_domain.KINDS:
            form.kind.data = request.args["kind"]
        return render_template("catalog/labels.html", form=form, preview=None, unknown=[], numbers=[])
    if not form.validate_on_submit():
        return render_template("catalog/labels.html", form=form, preview=None, unknown=[], numbers=[]), 400
    numbers = _numbers(form)
    form.accessions.data = "\n".join(numbers)
    unknown: list[str] = []
    try:
        labels, unknown = copy_labels_domain.copy_labels(
            db.session,
            numbers,
            base_url=base_url(),
            kind=form.kind.data,
            code=form.code.data,
            on_unknown=form.on_unknown.data,
            gettext=_,
        )
        rendered = render_labels(
            form,
            labels,
            title=_("Copy labels") if form.kind.data == "copy" else _("Spine labels"),
            preview=request.form.get("action") != "pdf",
        )
    except DomainError as err:
        unknown = getattr(err, "unknown", unknown)
        show_error(form, err)
        return (
            render_template("catalog/labels.html", form=form, preview=None, unknown=unknown, numbers=numbers),
            422,
        )
    if request.form.get("action") == "pdf":
        return pdf_response(rendered.pdf, f"labels-{form.kind.data}-{date.today():%Y%m%d}.pdf")
    return render_template(
        "catalog/labels.html",
        form=form,
        preview=sheet_view(rendered),
        unknown=unknown,
        numbers=numbers,
    )
