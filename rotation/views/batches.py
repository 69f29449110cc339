"""Rotation pages: batches — list, new, the batch page with scanning, paste, split, merge; /b/<code>."""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.routing import BuildError
from wtforms import SelectChoice

from app.auth.models import Role
from app.db import transaction
from app.errors import N_, DomainError
from app.extensions import db
from app.security import any_user, roles_required, staff_required
from app.web import Pagination, int_arg, page_arg
from catalog import queries as catalog_queries
from catalog import search as catalog_search
from catalog.models import ITEM_STATUS_LABELS, ItemStatus
from rotation import filling, queries
from rotation.errors import CopyRefused
from rotation.forms import (
    ActionForm,
    AddChosenForm,
    BatchForm,
    FillForm,
    MergeForm,
    PasteForm,
    ReadyForm,
    ScanForm,
    SplitForm,
)
from rotation.models import BATCH_STATUS_LABELS, BatchStatus
from rotation.rules import StockRules
from rotation.services import batches as services
from rotation.services import filling as filling_services
from rotation.views import bp

CHANGERS = (Role.ADMIN, Role.ROTATION)


def stock_rules() -> StockRules:
    """Return the rotation stock rules from the app's settings (defaults: Circular 33/2018)."""
    config = current_app.config
    return StockRules(
        require_home_library=bool(config.get("ROTATION_REQUIRE_HOME_LIBRARY", True)),
        allow_rare=bool(config.get("ROTATION_ALLOW_RARE", False)),
        allow_local_studies=bool(config.get("ROTATION_ALLOW_LOCAL_STUDIES", False)),
        min_copies_per_title=int(config.get("ROTATION_MIN_COPIES_PER_TITLE", 3)),
    )


def reason_text(message: str, params: dict) -> str:
    """Translate a rotation message; parameters named *_label are msgids and are translated too."""
    params = {k: (_(v) if k.endswith("_label") and isinstance(v, str) else v) for k, v in params.items()}
    return _(message, **params)


def error_text(err: DomainError) -> str:
    """Return the translated text of a domain error (with its *_label parameters translated)."""
    return reason_text(err.message, err.params)


def batch_status_label(status: str) -> str:
    """Return the translated label of a batch status."""
    try:
        return _(BATCH_STATUS_LABELS[BatchStatus(status)])
    except ValueError:
        return status


def item_status_label(status: str) -> str:
    """Return the translated label of a copy status."""
    try:
        return _(ITEM_STATUS_LABELS[ItemStatus(status)])
    except ValueError:
        return status


def _labels() -> dict:
    return {"batch_status_label": batch_status_label, "item_status_label": item_status_label}


def _can_change() -> bool:
    return current_user.has_role(*CHANGERS)


def _batch_or_404(code: str):
    try:
        return services.get_batch(db.session, code)
    except DomainError:
        abort(404)


def _library_choices() -> list[SelectChoice]:
    return [SelectChoice(0, "—")] + [
        SelectChoice(lib.id, f"{lib.code} — {lib.name}") for lib in catalog_queries.libraries(db.session)
    ]


def _to_batch(code: str, **kwargs):
    return redirect(url_for("rotation.batch", code=code, **kwargs))


# --- list and new -----------------------------------------------------------------------------


@bp.route("/batches")
@staff_required
def batches():
    """The list of batches with filters: status, library, code."""
    status = request.args.get("status", "")
    if status not in {s.value for s in BatchStatus}:
        status = ""
    library_id = int_arg("library_id", default=0)
    q = request.args.get("q", "").strip()[:64]
    page = page_arg()
    rows, total = queries.list_batches(
        db.session, status=status or None, library_id=library_id or None, q=q, page=page
    )
    return render_template(
        "rotation/batches.html",
        rows=rows,
        pagination=Pagination(page, 50, total),
        status=status,
        library_id=library_id,
        q=q,
        statuses=list(BatchStatus),
        libraries=catalog_queries.libraries(db.session),
        can_change=_can_change(),
        **_labels(),
    )


@bp.route("/batches/new", methods=["GET", "POST"])
@roles_required(*CHANGERS)
def batch_new():
    """Create an empty batch at a library."""
    form = BatchForm()
    form.home_library_id.choices = _library_choices()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                batch = services.create_batch(
                    db.session,
                    home_library_id=form.home_library_id.data,
                    target_size=form.target_size.data,
                    box_count=form.box_count.data,
                    seal_number=form.seal_number.data or "",
                    notes=form.notes.data or "",
                    actor_id=current_user.id,
                )
                code = batch.code
        except DomainError as err:
            _show_error(err, form)
        else:
            flash(_("Batch %(code)s created. Scan its copies.", code=code), "success")
            return _to_batch(code)
    return render_template("rotation/batch_new.html", form=form)


def _show_error(err: DomainError, form=None) -> None:
    text = error_text(err)
    if form is not None and err.field and hasattr(form, err.field):
        getattr(form, err.field).errors.append(text)
    else:
        flash(text, "error")


# --- the batch page ---------------------------------------------------------------------------


def _render_batch(batch, *, status: int = 200, paste_report=None, scan_form=None, paste_form=None):
    rules = stock_rules()
    data = queries.batch_page(db.session, batch, rules)
    added = int_arg("added", default=0)
    merge_form = MergeForm()
    merge_form.other.choices = [
        SelectChoice(b.code, f"{b.code} ({batch_status_label(b.status)})")
        for b in queries.open_batches_except(db.session, batch)
    ]
    return (
        render_template(
            "rotation/batch.html",
            page=data,
            batch=batch,
            added=added,
            can_change=_can_change(),
            scan_form=scan_form or ScanForm(formdata=None),
            paste_form=paste_form or PasteForm(formdata=None),
            ready_form=ReadyForm(
                formdata=None, data={"seal_number": batch.seal_number, "box_count": batch.box_count}
            ),
            split_form=SplitForm(formdata=None),
            merge_form=merge_form,
            action_form=ActionForm(formdata=None),
            paste_report=paste_report,
            min_copies=rules.min_copies_per_title,
            status_labels={s.value: item_status_label(s.value) for s in ItemStatus},
            # Built once and completed per row: 300 url_for calls cost more than the page's queries.
            record_base=url_for("catalog.record", record_id=0)[:-1],
            reason_text=reason_text,
            editable=batch.status == BatchStatus.ASSEMBLING,
            reshapeable=batch.status in (BatchStatus.ASSEMBLING, BatchStatus.READY),
            **_labels(),
        ),
        status,
    )


@bp.route("/batches/<code>")
@staff_required
def batch(code: str):
    """A batch: its copies (accession number, title, call number, status), warnings and history."""
    return _render_batch(_batch_or_404(code))


@bp.route("/batches/<code>/scan", methods=["POST"])
@roles_required(*CHANGERS)
def batch_scan(code: str):
    """Add one scanned copy (a keyboard-wedge scanner types the number and Enter)."""
    row = _batch_or_404(code)
    code = row.code  # read now: after the commit the batch is expired and would be read again
    form = ScanForm()
    as_json = request.accept_mimetypes.best == "application/json"  # rotation/static/rotation/scan.js
    if not form.validate_on_submit():
        message = _("Scan or type an accession number or barcode.")
        if as_json:
            return jsonify(ok=False, messages=[message]), 422
        flash(message, "error")
        return _to_batch(code, scan="error")
    try:
        with transaction(db.session):
            item = services.add_copy(db.session, row, form.code.data, current_user.id, rules=stock_rules())
            number, item_id = item.accession_number, item.id
    except CopyRefused as err:
        messages = [error_text(err)] + [reason_text(m, p) for m, p in err.reasons[1:]]
    except DomainError as err:
        messages = [error_text(err)]
    else:
        message = _("Copy %(number)s added.", number=number)
        target = url_for("rotation.batch", code=code, added=item_id, _anchor=f"copy-{item_id}")
        if as_json:
            flash(message, "success")
            return jsonify(ok=True, messages=[message], url=target)
        flash(message, "success")
        return redirect(target)
    if as_json:
        return jsonify(ok=False, messages=messages), 422
    for message in messages:
        flash(message, "error")
    return _to_batch(code, scan="error")


@bp.route("/batches/<code>/paste", methods=["POST"])
@roles_required(*CHANGERS)
def batch_paste(code: str):
    """Add a pasted list of numbers in one go and show what was added and what was refused, and why."""
    row = _batch_or_404(code)
    form = PasteForm()
    if not form.validate_on_submit():
        return _render_batch(row, status=422, paste_form=form)
    codes = services.parse_codes(form.codes.data or "")
    if form.file.data:
        codes += services.parse_code_file(form.file.data.read())
    if not codes:
        form.codes.errors.append(_("Paste the numbers or choose a file."))
        return _render_batch(row, status=422, paste_form=form)
    try:
        with transaction(db.session):
            report = services.add_copies(db.session, row, codes, current_user.id, rules=stock_rules())
            added = [i.accession_number for i in report.added]
    except DomainError as err:
        flash(error_text(err), "error")
        return _to_batch(row.code)
    if added:
        flash(ngettext("%(num)d copy added.", "%(num)d copies added.", len(added)), "success")
    if report.refused:
        flash(
            ngettext(
                "%(num)d number refused; see the reasons below.",
                "%(num)d numbers refused; see the reasons below.",
                len(report.refused),
            ),
            "error",
        )
    db.session.expire_all()
    return _render_batch(row, paste_report=report)


@bp.route("/batches/<code>/items/<int:item_id>/remove", methods=["POST"])
@roles_required(*CHANGERS)
def batch_remove(code: str, item_id: int):
    """Take a copy out of an assembling batch."""
    row = _batch_or_404(code)
    if ActionForm().validate_on_submit():
        try:
            with transaction(db.session):
                item = services.remove_copy(db.session, row, item_id, current_user.id)
                number = item.accession_number
        except DomainError as err:
            flash(error_text(err), "error")
        else:
            flash(_("Copy %(number)s taken out of the batch.", number=number), "success")
    return _to_batch(row.code)


def _status_action(code: str, change, done_message: str):
    row = _batch_or_404(code)
    try:
        with transaction(db.session):
            change(row)
    except StaleDataError:
        flash(_("Someone else changed this batch meanwhile. Look at it again and retry."), "error")
    except DomainError as err:
        flash(error_text(err), "error")
    else:
        flash(done_message, "success")
    return _to_batch(row.code)


@bp.route("/batches/<code>/ready", methods=["POST"])
@roles_required(*CHANGERS)
def batch_ready(code: str):
    """Mark a batch packed and sealed: ready to send."""
    form = ReadyForm()
    if not form.validate_on_submit():
        flash(_("Type the seal number and the number of boxes."), "error")
        return _to_batch(code)
    return _status_action(
        code,
        lambda b: services.mark_ready(
            db.session,
            b,
            seal_number=form.seal_number.data,
            box_count=form.box_count.data,
            actor_id=current_user.id,
        ),
        _("The batch is ready to send."),
    )


@bp.route("/batches/<code>/reopen", methods=["POST"])
@roles_required(*CHANGERS)
def batch_reopen(code: str):
    """Open a ready batch again for changes."""
    if not ActionForm().validate_on_submit():
        abort(400)
    return _status_action(
        code,
        lambda b: services.reopen(db.session, b, actor_id=current_user.id),
        _("The batch is open for changes again."),
    )


@bp.route("/batches/<code>/split", methods=["POST"])
@roles_required(*CHANGERS)
def batch_split(code: str):
    """Move the chosen copies into a new batch split from this one."""
    row = _batch_or_404(code)
    form = SplitForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with transaction(db.session):
            new = services.split(db.session, row, form.item_ids.data or [], actor_id=current_user.id)
            new_code = new.code
    except StaleDataError:
        flash(_("Someone else changed this batch meanwhile. Look at it again and retry."), "error")
        return _to_batch(row.code)
    except DomainError as err:
        flash(error_text(err), "error")
        return _to_batch(row.code)
    flash(_("The chosen copies are now in the new batch %(code)s.", code=new_code), "success")
    return _to_batch(new_code)


@bp.route("/batches/<code>/merge", methods=["POST"])
@roles_required(*CHANGERS)
def batch_merge(code: str):
    """Bring every copy of another batch of the same library into this one."""
    row = _batch_or_404(code)
    form = MergeForm()
    form.other.choices = [SelectChoice(b.code, b.code) for b in queries.open_batches_except(db.session, row)]
    if not form.validate_on_submit():
        flash(_("Choose a batch of the same library that is being assembled or ready."), "error")
        return _to_batch(row.code)
    try:
        with transaction(db.session):
            other = services.get_batch(db.session, form.other.data)
            services.merge(db.session, row, other, actor_id=current_user.id)
            other_code = other.code
    except StaleDataError:
        flash(_("Someone else changed this batch meanwhile. Look at it again and retry."), "error")
        return _to_batch(row.code)
    except DomainError as err:
        flash(error_text(err), "error")
        return _to_batch(row.code)
    flash(_("Batch %(other)s was merged into this batch and closed.", other=other_code), "success")
    return _to_batch(row.code)


# --- filling from a search result and by rules ----------------------------------------------------

SEARCH_PER_PAGE = 20


def _editable_or_redirect(row):
    if row.status != BatchStatus.ASSEMBLING:
        flash(
            _("Batch %(code)s is not being assembled; reopen it to change its copies.", code=row.code),
            "error",
        )
        return _to_batch(row.code)
    return None


@bp.route("/batches/<code>/search")
@roles_required(*CHANGERS)
def batch_search(code: str):
    """Search the catalogue from a batch: each hit's copies, the eligible ones ready to tick."""
    row = _batch_or_404(code)
    if (response := _editable_or_redirect(row)) is not None:
        return response
    q = request.args.get("q", "").strip()[:300]
    language = request.args.get("language", "").strip()[:3]
    classification = request.args.get("classification", "").strip()[:20]
    only_available = request.args.get("all") != "1"
    result = None
    copies: dict = {}
    if q or language or classification:
        result = catalog_search.search(
            db.session,
            catalog_search.SearchQuery(
                q=q,
                language=language or None,
                classification=classification or None,
                library_id=row.home_library_id if stock_rules().require_home_library else None,
                status=ItemStatus.AVAILABLE.value if only_available else None,
                page=page_arg(),
                per_page=SEARCH_PER_PAGE,
            ),
        )
        copies = filling_services.copies_of_records(
            db.session, row, [h.id for h in result.hits], rules=stock_rules()
        )
    eligible_ids = [c.item_id for rows in copies.values() for c in rows if c.eligible]
    return render_template(
        "rotation/batch_search.html",
        batch=row,
        q=q,
        language=language,
        classification=classification,
        only_available=only_available,
        result=result,
        copies=copies,
        eligible_ids=eligible_ids,
        pagination=Pagination(result.query.page, SEARCH_PER_PAGE, result.total) if result else None,
        form=AddChosenForm(formdata=None),
        reason_text=reason_text,
        count=services.copy_count(db.session, row.id),
        **_labels(),
    )


def _add_chosen(row, item_ids: list[int], *, source: str, destination: str | None = None, seed=None):
    """Add copies by id in one transaction; flash the summary and show the refusals on the batch page."""
    if not item_ids:
        flash(_("Tick the copies to add."), "error")
        return _to_batch(row.code)
    try:
        with transaction(db.session):
            report = services.add_items_by_id(db.session, row, item_ids, current_user.id, rules=stock_rules())
            filling_services.record_fill(
                db.session, row, report, current_user.id, source=source, destination=destination, seed=seed
            )
            added = len(report.added)
    except StaleDataError:
        flash(_("Someone else changed this batch meanwhile. Look at it again and retry."), "error")
        return _to_batch(row.code)
    except DomainError as err:
        flash(error_text(err), "error")
        return _to_batch(row.code)
    if added:
        flash(ngettext("%(num)d copy added.", "%(num)d copies added.", added), "success")
    if report.refused:
        flash(
            ngettext(
                "%(num)d copy refused; see the reasons below.",
                "%(num)d copies refused; see the reasons below.",
                len(report.refused),
            ),
            "error",
        )
    db.session.expire_all()
    return _render_batch(row, paste_report=report)


@bp.route("/batches/<code>/add-chosen", methods=["POST"])
@roles_required(*CHANGERS)
def batch_add_chosen(code: str):
    """Add the ticked copies of a search result, or every eligible copy shown ("add all")."""
    row = _batch_or_404(code)
    form = AddChosenForm()
    if not form.validate_on_submit():
        abort(400)
    ids = form.shown_ids.data if request.form.get("action") == "all" else form.item_ids.data
    return _add_chosen(row, list(ids or []), source="search")


def _destination_choices() -> list[SelectChoice]:
    return [SelectChoice(0, "—")] + [
        SelectChoice(p.id, f"{p.code} — {p.name}") for p in filling_services.points(db.session)
    ]


def _fill_settings(form: FillForm) -> filling_services.FillSettings:
    """Read the fill form into settings; a mix that cannot be read is put on its field (MixError)."""
    class_shares: dict = {}
    if form.class_mode.data == "custom":
        try:
            class_shares = filling.parse_mix(form.class_mix.data or "", kind="class")
        except filling.MixError as err:
            form.class_mix.errors.append(
                _("Cannot read “%(part)s”: type classes like 8:40, 3:30.", part=err.part)
            )
            raise
    try:
        languages = filling.parse_mix(form.languages.data or "", kind="language")
    except filling.MixError as err:
        form.languages.errors.append(
            _("Cannot read “%(part)s”: type languages like vie:80, tha:10, hmn:10.", part=err.part)
        )
        raise
    return filling_services.FillSettings(
        size=form.size.data or None,
        class_shares=class_shares,
        even_classes=form.class_mode.data == "even",
        language_shares=languages,
        children_percent=form.children_percent.data,
        destination_id=form.destination_id.data or None,
        last_rotations=form.last_rotations.data if form.last_rotations.data is not None else 3,
        allow_duplicate_titles=bool(form.allow_duplicates.data),
        strict=bool(form.strict.data),
        seed=form.seed.data or 0,
    )


@bp.route("/batches/<code>/fill", methods=["GET", "POST"])
@roles_required(*CHANGERS)
def batch_fill(code: str):
    """Fill a batch automatically by rules: the form, then a preview of what would be added."""
    row = _batch_or_404(code)
    if (response := _editable_or_redirect(row)) is not None:
        return response
    count = services.copy_count(db.session, row.id)
    form = FillForm(formdata=request.form if request.method == "POST" else None)
    form.destination_id.choices = _destination_choices()
    if request.method == "GET":
        form.size.data = max(row.target_size - count, 0) or None
        form.seed.data = secrets.randbelow(1_000_000)
    plan = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                plan = filling_services.plan_fill(db.session, row, _fill_settings(form), rules=stock_rules())
            except filling.MixError:
                status = 422
            except DomainError as err:
                _show_error(err, form)
                status = 422
        else:
            status = 422
    return (
        render_template(
            "rotation/batch_fill.html",
            batch=row,
            form=form,
            plan=plan,
            count=count,
            breakdown=plan.result.breakdown() if plan else None,
            add_form=AddChosenForm(formdata=None),
            skipped_labels=SKIPPED_LABELS,
            **_labels(),
        ),
        status,
    )


@bp.route("/batches/<code>/fill/add", methods=["POST"])
@roles_required(*CHANGERS)
def batch_fill_add(code: str):
    """Add the copies of a fill preview (those another batch took meanwhile are reported)."""
    row = _batch_or_404(code)
    form = AddChosenForm()
    if not form.validate_on_submit():
        abort(400)
    destination = (request.form.get("destination") or "").strip()[:32] or None
    try:
        seed = int(request.form.get("seed") or 0)
    except ValueError:
        seed = None
    return _add_chosen(
        row, list(form.item_ids.data or []), source="rules", destination=destination, seed=seed
    )


SKIPPED_LABELS = {
    filling.INELIGIBLE: N_("may not rotate"),
    filling.IN_OTHER_BATCH: N_("in another open batch"),
    filling.EXCLUDED_TITLE: N_("title the destination had recently"),
    filling.DUPLICATE_TITLE: N_("title already chosen or in the batch"),
    filling.LANGUAGE_NOT_ASKED: N_("language not asked for"),
    filling.CLASS_NOT_ASKED: N_("class not asked for"),
    filling.QUOTA_FULL: N_("its share was full"),
    filling.NOT_NEEDED: N_("not needed"),
}


# --- the short address on the box label -------------------------------------------------------


@any_user
def batch_short(code: str):
    """The QR label's address: staff go to the batch page, a point operator to the receipt page."""
    row = _batch_or_404(code)
    if current_user.role != Role.POINT_OPERATOR:
        return _to_batch(row.code)
    shipment = queries.open_shipment_for_batch(db.session, row.id)
    if shipment is None or shipment.to_site_id not in current_user.site_ids:
        abort(403)
    try:
        target = url_for("rotation.receive", shipment_id=shipment.id)
    except BuildError:
        target = f"{request.script_root}/rotation/receive/{shipment.id}"
    return redirect(target)


# The short address lives at the site root (BASE_URL + "/b/" + code), outside the /rotation prefix,
# but keeps the blueprint's endpoint name: url_for("rotation.batch_short", code=…).
bp.record_once(lambda state: state.app.add_url_rule("/b/<code>", "rotation.batch_short", batch_short))


def _declare_static_access(state) -> None:
    """Give the blueprint's static files (rotation/static/rotation/*.js) an access rule: any user.

    Flask registers the blueprint's static view itself, without the declaration every endpoint needs
    (app/security.py closes undeclared endpoints even to an admin). The scripts serve pages behind a
    login, so a logged-in user of any role may fetch them.
    """
    endpoint = f"{bp.name}.static"
    view = state.app.view_functions.get(endpoint)
    if view is not None:
        state.app.view_functions[endpoint] = any_user(view)


bp.record_once(_declare_static_access)
