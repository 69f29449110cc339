"""Web pages of acquisitions under /acquisitions: intakes and receiving, suppliers, withdrawals."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.auth.models import Role
from app.db import transaction
from app.errors import DomainError
from app.extensions import db
from app.security import roles_required, staff_required
from app.web import Pagination, error_text, flash_error, int_arg, page_arg
from catalog import search as catalog_search
from catalog.acquisitions import handover, queries
from catalog.acquisitions import services as acq
from catalog.acquisitions.models import (
    INTAKE_SOURCE_LABELS,
    INTAKE_STATUS_LABELS,
    SUPPLIER_KIND_LABELS,
    WITHDRAWAL_REASON_LABELS,
    Intake,
    IntakeSource,
    IntakeStatus,
    SupplierKind,
)
from catalog.forms import int_or_none
from catalog.views import acq_bp
from catalog.views.records import status_label, vnd

EDITORS = (Role.ADMIN, Role.ACQUISITIONS)
LINE_EDITORS = (Role.ADMIN, Role.ACQUISITIONS, Role.CATALOGUER)
PER_PAGE = 50
MAX_LIST_UPLOAD = 2 * 1024 * 1024


def _strip(value):
    return value.strip() if isinstance(value, str) else value


# --- forms -------------------------------------------------------------------------------------


class IntakeForm(FlaskForm):
    """The header of an intake."""

    library_id = SelectField(_l("Library"), coerce=int_or_none, validators=[DataRequired()])
    intake_date = DateField(_l("Date"), validators=[DataRequired()])
    source = SelectField(_l("Source"), default=IntakeSource.PURCHASE.value)
    supplier_id = SelectField(_l("Supplier or donor"), coerce=int_or_none)
    document_number = StringField(
        _l("Invoice or decision number"), filters=[_strip], validators=[Length(max=100)]
    )
    fund = StringField(_l("Fund"), filters=[_strip], validators=[Length(max=200)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])


class LineForm(FlaskForm):
    """A line: a catalogue record, copies, price, series, place."""

    record_id = HiddenField()
    copies = StringField(_l("Copies"), filters=[_strip], default="1", validators=[Length(max=10)])
    unit_price_vnd = StringField(_l("Unit price (VND)"), filters=[_strip], validators=[Length(max=20)])
    sequence_id = SelectField(_l("Accession-number series"), coerce=int_or_none)
    location = StringField(_l("Location"), filters=[_strip], validators=[Length(max=120)])


class QuickRecordForm(LineForm):
    """Catalogue a book on the spot and add it as a line."""

    title = StringField(_l("Title"), filters=[_strip], validators=[DataRequired(), Length(max=500)])
    author = StringField(_l("Author"), filters=[_strip], validators=[Length(max=300)])
    publisher = StringField(_l("Publisher"), filters=[_strip], validators=[Length(max=300)])
    year = StringField(_l("Year"), filters=[_strip], validators=[Length(max=4)])
    isbn = StringField(_l("ISBN"), filters=[_strip], validators=[Length(max=20)])
    classification = StringField(_l("DDC number"), filters=[_strip], validators=[Length(max=60)])


class MarcLinesForm(FlaskForm):
    """Upload the supplier's MARC file."""

    file = FileField(_l("The supplier's MARC file"))
    sequence_id = SelectField(_l("Accession-number series"), coerce=int_or_none)


class ConfirmForm(FlaskForm):
    """A button that needs only the CSRF token."""


class SupplierForm(FlaskForm):
    """A supplier or donor."""

    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=300)])
    kind = SelectField(_l("Kind"), default=SupplierKind.SUPPLIER.value)
    address = StringField(_l("Address"), filters=[_strip], validators=[Length(max=500)])
    phone = StringField(_l("Phone"), filters=[_strip], validators=[Length(max=50)])
    tax_code = StringField(_l("Tax code"), filters=[_strip], validators=[Length(max=20)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])
    is_active = BooleanField(_l("Active"), default=True)


class WithdrawalForm(FlaskForm):
    """Withdraw copies under one set of minutes."""

    library_id = SelectField(_l("Library"), coerce=int_or_none, validators=[DataRequired()])
    withdrawal_date = DateField(_l("Date"), validators=[DataRequired()])
    reason = SelectField(_l("Reason"), validators=[DataRequired()])
    minutes_number = StringField(
        _l("Withdrawal minutes number"), filters=[_strip], validators=[DataRequired(), Length(max=100)]
    )
    accessions = TextAreaField(
        _l("Accession numbers (typed, scanned or pasted)"), validators=[Optional(), Length(max=400_000)]
    )
    file = FileField(_l("Or a text file with one accession number per line"))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])


# --- helpers -----------------------------------------------------------------------------------


def _label(labels: dict, value: str | None) -> str:
    """Return the translated label of a status-like value, or the value itself when unknown."""
    for key, label in labels.items():
        if key.value == value:
            return _(label)
    return value or ""


def _is_value(enum, value: str | None) -> bool:
    return value in {e.value for e in enum}


def _helpers() -> dict:
    return {
        "vnd": vnd,
        "source_label": lambda v: _label(INTAKE_SOURCE_LABELS, v),
        "intake_status_label": lambda v: _label(INTAKE_STATUS_LABELS, v),
        "kind_label": lambda v: _label(SUPPLIER_KIND_LABELS, v),
        "reason_label": lambda v: _label(WITHDRAWAL_REASON_LABELS, v),
        "item_status_label": status_label,
        "can_edit": current_user.has_role(*EDITORS),
        "can_add_lines": current_user.has_role(*LINE_EDITORS),
    }


def _library_choices() -> list[tuple[str, str]]:
    return [("", "—")] + [(str(s.id), f"{s.code} — {s.name}") for s in queries.libraries(db.session)]


def _supplier_choices(current: int | None = None) -> list[tuple[str, str]]:
    rows = queries.suppliers(db.session)
    return [("", "—")] + [(str(s.id), s.name) for s in rows if s.is_active or s.id == current]


def _sequence_choices(library_id: int) -> list[tuple[str, str]]:
    return [("", "—")] + [
        (str(s.id), f"{s.prefix} ({_('next %(number)s', number=s.format(s.next_number))})")
        for s in queries.library_sequences(db.session, library_id)
    ]


def _intake_or_404(intake_id: int) -> Intake:
    row = db.session.get(Intake, intake_id)
    if row is None:
        abort(404)
    return row


def _intake_form(obj: Intake | None = None) -> IntakeForm:
    form = IntakeForm(obj=obj) if request.method == "GET" else IntakeForm()
    if request.method == "GET" and obj is None:
        form.intake_date.data = date.today()
    form.library_id.choices = _library_choices()
    form.source.choices = [(s.value, _(label)) for s, label in INTAKE_SOURCE_LABELS.items()]
    form.supplier_id.choices = _supplier_choices(obj.supplier_id if obj else None)
    return form


def _intake_values(form: IntakeForm) -> dict:
    return {
        "library_id": form.library_id.data,
        "intake_date": form.intake_date.data,
        "source": form.source.data,
        "supplier_id": form.supplier_id.data,
        "document_number": form.document_number.data,
        "fund": form.fund.data,
        "notes": form.notes.data or "",
    }


# --- intakes -----------------------------------------------------------------------------------


@acq_bp.route("/")
@staff_required
def intakes():
    """The intakes, newest first, filtered by library, year, source and status."""
    library_id = int_arg("library_id")
    year = int_arg("year")
    source = request.args.get("source") or None
    status = request.args.get("status") or None
    page = page_arg()
    rows, total = queries.intakes(
        db.session,
        library_id=library_id,
        year=year,
        source=source if _is_value(IntakeSource, source) else None,
        status=status if _is_value(IntakeStatus, status) else None,
        page=page,
        per_page=PER_PAGE,
    )
    return render_template(
        "acquisitions/intakes.html",
        rows=rows,
        pagination=Pagination(page, PER_PAGE, total),
        libraries=queries.libraries(db.session),
        years=queries.intake_years(db.session),
        sources=list(IntakeSource),
        statuses=list(IntakeStatus),
        library_id=library_id,
        year=year,
        source=source,
        status=status,
        **_helpers(),
    )


@acq_bp.route("/intakes/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def intake_new():
    """Start a new intake: its header; the lines come next."""
    form = _intake_form()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                row = acq.create_intake(db.session, _intake_values(form), actor_id=current_user.id)
        except DomainError as err:
            flash_error(err, form)
        else:
            flash(_("Intake created; now add its titles."), "success")
            return redirect(url_for("acquisitions.intake", intake_id=row.id))
    return render_template("acquisitions/intake_new.html", form=form, **_helpers())


@acq_bp.route("/intakes/<int:intake_id>")
@staff_required
def intake(intake_id: int):
    """An intake: header, lines and totals; add titles; receive; after receiving, the numbers given."""
    row = _intake_or_404(intake_id)
    context: dict = {"row": row, "totals": acq.intake_totals(db.session, row.id)}
    if row.status == IntakeStatus.RECEIVED:
        ranges = acq.received_ranges(db.session, row.id)
        context["ranges"] = ranges
    elif current_user.has_role(*LINE_EDITORS):
        sequences = _sequence_choices(row.library_id)
        default_seq = acq.default_sequence(db.session, row)
        header = _intake_form(row)
        line_form = LineForm(formdata=None, sequence_id=default_seq)
        line_form.sequence_id.choices = sequences
        quick = QuickRecordForm(formdata=None, sequence_id=default_seq)
        quick.sequence_id.choices = sequences
        marc_form = MarcLinesForm(formdata=None, sequence_id=default_seq)
        marc_form.sequence_id.choices = sequences
        q = (request.args.get("q") or "").strip()[:200]
        hits = []
        if q:
            hits = catalog_search.search(db.session, catalog_search.SearchQuery(q=q, per_page=10)).hits
        context.update(
            header=header,
            line_form=line_form,
            quick=quick,
            marc_form=marc_form,
            sequences=sequences,
            default_seq=str(default_seq or ""),
            q=q,
            hits=hits,
            confirm=ConfirmForm(formdata=None),
        )
    return render_template("acquisitions/intake.html", **context, **_helpers())


@acq_bp.route("/intakes/<int:intake_id>/header", methods=["POST"])
@roles_required(*EDITORS)
def intake_header(intake_id: int):
    """Save the header of a draft intake."""
    row = _intake_or_404(intake_id)
    form = _intake_form(row)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                acq.update_intake(db.session, row.id, _intake_values(form), actor_id=current_user.id)
        except DomainError as err:
            flash(error_text(err), "error")
        else:
            flash(_("Intake saved."), "success")
    else:
        for name, errors in form.errors.items():
            flash(f"{getattr(form, name).label.text}: {'; '.join(errors)}", "error")
    return redirect(url_for("acquisitions.intake", intake_id=row.id))


def _line_values(form: LineForm) -> dict:
    return {
        "copies": form.copies.data or "1",
        "unit_price_vnd": form.unit_price_vnd.data,
        "sequence_id": form.sequence_id.data,
        "location": form.location.data or "",
    }


@acq_bp.route("/intakes/<int:intake_id>/lines", methods=["POST"])
@roles_required(*LINE_EDITORS)
def line_add(intake_id: int):
    """Add a title found in the catalogue."""
    row = _intake_or_404(intake_id)
    form = LineForm()
    form.sequence_id.choices = _sequence_choices(row.library_id)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                line = acq.add_line(
                    db.session,
                    row.id,
                    {**_line_values(form), "record_id": form.record_id.data},
                    actor_id=current_user.id,
                )
        except DomainError as err:
            flash(error_text(err), "error")
        else:
            flash(_("Added: %(title)s.", title=line.record.title), "success")
    else:
        flash(_("The line could not be added; check the values."), "error")
    return redirect(url_for("acquisitions.intake", intake_id=row.id, _anchor="lines"))


@acq_bp.route("/intakes/<int:intake_id>/lines/quick", methods=["POST"])
@roles_required(*LINE_EDITORS)
def line_quick(intake_id: int):
    """Catalogue a book on the spot from a few fields and add it."""
    row = _intake_or_404(intake_id)
    form = QuickRecordForm()
    form.sequence_id.choices = _sequence_choices(row.library_id)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                line = acq.catalogue_and_add_line(
                    db.session,
                    row.id,
                    title=form.title.data,
                    author=form.author.data,
                    publisher=form.publisher.data,
                    year=form.year.data,
                    isbn=form.isbn.data,
                    classification=form.classification.data,
                    line_values=_line_values(form),
                    actor_id=current_user.id,
                )
        except DomainError as err:
            flash(error_text(err), "error")
        else:
            flash(_("Catalogued and added: %(title)s.", title=line.record.title), "success")
    else:
        flash(_("Give at least the title."), "error")
    return redirect(url_for("acquisitions.intake", intake_id=row.id, _anchor="lines"))


@acq_bp.route("/intakes/<int:intake_id>/lines/marc", methods=["POST"])
@roles_required(*LINE_EDITORS)
def line_marc(intake_id: int):
    """Import the supplier's MARC file: one line per record."""
    row = _intake_or_404(intake_id)
    form = MarcLinesForm()
    form.sequence_id.choices = _sequence_choices(row.library_id)
    upload = request.files.get("file")
    if not form.validate_on_submit() or upload is None or not upload.filename:
        flash(_("Choose a file."), "error")
        return redirect(url_for("acquisitions.intake", intake_id=row.id, _anchor="add"))
    try:
        with transaction(db.session):
            result = acq.add_lines_from_marc(
                db.session,
                row.id,
                upload.read(),
                filename=upload.filename,
                line_values={"sequence_id": form.sequence_id.data} if form.sequence_id.data else None,
                actor_id=current_user.id,
            )
    except DomainError as err:
        flash(error_text(err), "error")
    else:
        flash(
            _(
                "%(lines)d lines added: %(new)d new records, %(old)d already in the catalogue, "
                "%(bad)d rejected.",
                lines=len(result.lines),
                new=result.created,
                old=result.matched,
                bad=result.rejected,
            ),
            "success",
        )
    return redirect(url_for("acquisitions.intake", intake_id=row.id, _anchor="lines"))


@acq_bp.route("/intakes/<int:intake_id>/lines/<int:line_id>", methods=["POST"])
@roles_required(*LINE_EDITORS)
def line_edit(intake_id: int, line_id: int):
    """Change or remove a line of a draft intake."""
    row = _intake_or_404(intake_id)
    form = LineForm()
    form.sequence_id.choices = _sequence_choices(row.library_id)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                if request.form.get("remove"):
                    acq.remove_line(db.session, row.id, line_id, actor_id=current_user.id)
                else:
                    acq.update_line(db.session, row.id, line_id, _line_values(form), actor_id=current_user.id)
        except DomainError as err:
            flash(error_text(err), "error")
        else:
            flash(_("Line removed.") if request.form.get("remove") else _("Line saved."), "success")
    else:
        flash(_("The line could not be saved; check the values."), "error")
    return redirect(url_for("acquisitions.intake", intake_id=row.id, _anchor="lines"))


@acq_bp.route("/intakes/<int:intake_id>/receive", methods=["GET", "POST"])
@roles_required(*EDITORS)
def intake_receive(intake_id: int):
    """Confirm, then receive: the copies get their accession numbers, the intake its register number."""
    row = _intake_or_404(intake_id)
    if row.status == IntakeStatus.RECEIVED:
        flash(_("This intake has already been received."), "info")
        return redirect(url_for("acquisitions.intake", intake_id=row.id))
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                result = acq.receive_intake(db.session, row.id, current_user.id)
        except DomainError as err:
            flash(error_text(err), "error")
        except IntegrityError:
            flash(_("Receiving failed because someone changed the same data; nothing was saved."), "error")
        else:
            flash(
                _(
                    "Received: %(n)d copies, general register number %(number)d.",
                    n=result.copies,
                    number=result.register_number,
                ),
                "success",
            )
        return redirect(url_for("acquisitions.intake", intake_id=row.id))
    return render_template(
        "acquisitions/intake_receive.html",
        row=row,
        form=form,
        totals=acq.intake_totals(db.session, row.id),
        **_helpers(),
    )


@acq_bp.route("/intakes/<int:intake_id>/delete", methods=["POST"])
@roles_required(*EDITORS)
def intake_delete(intake_id: int):
    """Delete a draft intake."""
    row = _intake_or_404(intake_id)
    if ConfirmForm().validate_on_submit():
        try:
            with transaction(db.session):
                acq.delete_intake(db.session, row.id, actor_id=current_user.id)
        except DomainError as err:
            flash(error_text(err), "error")
            return redirect(url_for("acquisitions.intake", intake_id=intake_id))
        flash(_("Draft intake deleted."), "success")
    return redirect(url_for("acquisitions.intakes"))


# --- suppliers ---------------------------------------------------------------------------------


def _supplier_form(obj=None) -> SupplierForm:
    form = SupplierForm(obj=obj) if request.method == "GET" else SupplierForm()
    form.kind.choices = [(k.value, _(label)) for k, label in SUPPLIER_KIND_LABELS.items()]
    return form


def _supplier_values(form: SupplierForm) -> dict:
    return {
        "name": form.name.data,
        "kind": form.kind.data,
        "address": form.address.data or "",
        "phone": form.phone.data or "",
        "tax_code": form.tax_code.data or "",
        "notes": form.notes.data or "",
        "is_active": form.is_active.data,
    }


@acq_bp.route("/suppliers")
@staff_required
def suppliers():
    """Suppliers, publishers and donors."""
    return render_template("acquisitions/suppliers.html", rows=queries.suppliers(db.session), **_helpers())


@acq_bp.route("/suppliers/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def supplier_new():
    """Add a supplier or donor."""
    form = _supplier_form()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                row = acq.create_supplier(db.session, _supplier_values(form), actor_id=current_user.id)
        except DomainError as err:
            flash_error(err, form)
        except IntegrityError:
            form.name.errors.append(_("A supplier with this name exists already."))
        else:
            flash(_("Supplier %(name)s saved.", name=row.name), "success")
            return redirect(url_for("acquisitions.suppliers"))
    return render_template("acquisitions/supplier_form.html", form=form, row=None, **_helpers())


@acq_bp.route("/suppliers/<int:supplier_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def supplier_edit(supplier_id: int):
    """Edit a supplier or donor."""
    try:
        row = acq.get_supplier(db.session, supplier_id)
    except DomainError:
        abort(404)
    form = _supplier_form(row)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                acq.update_supplier(db.session, row.id, _supplier_values(form), actor_id=current_user.id)
        except DomainError as err:
            flash_error(err, form)
        except IntegrityError:
            form.name.errors.append(_("A supplier with this name exists already."))
        else:
            flash(_("Supplier %(name)s saved.", name=row.name), "success")
            return redirect(url_for("acquisitions.suppliers"))
    return render_template("acquisitions/supplier_form.html", form=form, row=row, **_helpers())


# --- withdrawals -------------------------------------------------------------------------------


@acq_bp.route("/withdrawals")
@staff_required
def withdrawals():
    """Withdrawal minutes, newest first."""
    library_id = int_arg("library_id")
    year = int_arg("year")
    page = page_arg()
    rows, total = queries.withdrawals(
        db.session, library_id=library_id, year=year, page=page, per_page=PER_PAGE
    )
    libraries = queries.libraries(db.session)
    return render_template(
        "acquisitions/withdrawals.html",
        rows=rows,
        pagination=Pagination(page, PER_PAGE, total),
        libraries=libraries,
        library_id=library_id,
        year=year,
        handover=_handover_panel(library_id, libraries) if current_user.has_role(*EDITORS) else None,
        **_helpers(),
    )


def _withdraw_url(group: handover.CandidateGroup) -> str:
    """Return the address of the withdrawal form prefilled with a group's copies, reason and library."""
    return url_for(
        "acquisitions.withdrawal_new",
        library_id=group.library_id,
        reason=group.reason,
        accessions=",".join(group.accessions),
    )


def _handover_panel(library_id: int | None, libraries) -> dict | None:
    """Return the copies written off elsewhere (rotation) that wait for minutes, grouped, or None."""
    candidates = handover.withdrawal_candidates(db.session, library_id)
    if not candidates:
        return None
    names = {lib.id: lib.name for lib in libraries}
    return {
        "count": len(candidates),
        "groups": handover.group_candidates(candidates),
        "totals": handover.totals_by_library_and_reason(candidates),
        "library_name": lambda i: names.get(i, ""),
        "url": _withdraw_url,
    }


PROBLEM_TEXTS = {
    "unknown": _l("no copy has this number"),
    "already_withdrawn": _l("already withdrawn"),
    "other_library": _l("belongs to another library"),
    "repeated": _l("given twice"),
}


def _problem_text(problem: acq.WithdrawalProblem) -> str:
    if problem.reason == "status":
        return _("cannot be withdrawn while %(status)s", status=status_label(problem.status).lower())
    return str(PROBLEM_TEXTS.get(problem.reason, problem.reason))


@acq_bp.route("/withdrawals/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def withdrawal_new():
    """Withdraw copies: accession numbers typed, scanned, pasted or uploaded; reason; minutes number."""
    form = WithdrawalForm()
    if request.method == "GET":
        form.withdrawal_date.data = date.today()
        form.accessions.data = request.args.get("accessions", "").replace(",", "\n")
        form.library_id.data = int_arg("library_id")  # handed over from the rotation's return count
    form.library_id.choices = _library_choices()
    form.reason.choices = [(r.value, _(label)) for r, label in WITHDRAWAL_REASON_LABELS.items()]
    reasons = {value for value, _label in form.reason.choices}
    if request.method == "GET" and request.args.get("reason") in reasons:
        form.reason.data = request.args["reason"]  # e.g. handed over from a rotation return count
    problems: list[tuple[str, str]] = []
    if form.validate_on_submit():
        text = form.accessions.data or ""
        upload = request.files.get("file")
        if upload is not None and upload.filename:
            data = upload.read(MAX_LIST_UPLOAD + 1)
            if len(data) > MAX_LIST_UPLOAD:
                form.file.errors.append(_("The file is too large."))
            text += "\n" + data.decode("utf-8", errors="replace")
        numbers = acq.parse_accessions(text)
        if not form.file.errors:
            try:
                with transaction(db.session):
                    row = acq.withdraw(
                        db.session,
                        form.library_id.data,
                        numbers,
                        form.reason.data,
                        form.minutes_number.data,
                        current_user.id,
                        withdrawal_date=form.withdrawal_date.data,
                        notes=form.notes.data or "",
                    )
            except acq.WithdrawalRefused as err:
                flash(error_text(err), "error")
                problems = [(p.accession_number, _problem_text(p)) for p in err.problems]
            except DomainError as err:
                if err.field == "accessions":
                    form.accessions.errors.append(error_text(err))
                else:
                    flash_error(err, form)
            except IntegrityError:
                flash(_("One of these copies was withdrawn meanwhile; nothing was withdrawn."), "error")
            else:
                flash(_("%(n)d copies withdrawn.", n=len(row.lines)), "success")
                return redirect(url_for("acquisitions.withdrawal", withdrawal_id=row.id))
    return render_template("acquisitions/withdrawal_new.html", form=form, problems=problems, **_helpers())


@acq_bp.route("/withdrawals/<int:withdrawal_id>")
@staff_required
def withdrawal(withdrawal_id: int):
    """One withdrawal: its minutes and the copies that left the stock."""
    try:
        row = acq.get_withdrawal(db.session, withdrawal_id)
    except DomainError:
        abort(404)
    value = sum(line.price_vnd or 0 for line in row.lines)
    return render_template("acquisitions/withdrawal.html", row=row, value=value, **_helpers())
