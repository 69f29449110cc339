"""Catalogue pages: the record page, the simple cataloguing form and the full MARC editor."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pymarc import Record as MarcRecord
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectChoice

from app.auth.models import Role
from app.db import transaction, utcnow
from app.errors import N_, DomainError
from app.extensions import db
from app.network import queries as network_queries
from app.security import roles_required, staff_required
from app.timeutil import local_today
from app.web import flash_error
from catalog import queries, services
from catalog.errors import Conflict
from catalog.forms import (
    ITEM_SOURCES,
    LANGUAGES,
    EditorState,
    MarcEditorForm,
    RecordForm,
    SimpleValues,
    apply_action,
    apply_simple,
    check_state,
    editor_state,
    new_record_state,
    parse_editor,
    record_from_simple,
    same_marc,
    simple_values,
)
from catalog.indexing import record_from_json, record_json
from catalog.models import ITEM_STATUS_LABELS, AccessionSequence, ItemStatus, Record
from catalog.views import bp

CATALOGUERS = (Role.ADMIN, Role.CATALOGUER)
# A second copy of the same new record from the same user within this time is a repeated submit.
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=10)


# --- display helpers shared with the copies pages ----------------------------------------------


def status_label(status: str) -> str:
    """Return the translated name of a copy's status."""
    try:
        return _(ITEM_STATUS_LABELS[ItemStatus(status)])
    except ValueError:
        return status


def source_label(source: str) -> str:
    """Return the translated name of a copy's source (free text is shown as it is)."""
    return _(ITEM_SOURCES[source]) if source in ITEM_SOURCES else source


def language_label(code: str | None) -> str:
    """Return the translated name of a language code, or the code."""
    return _(LANGUAGES[code]) if code in LANGUAGES else (code or "")


def vnd(amount: int | None) -> str:
    """Format an amount of đồng the Vietnamese way: 85.000 ₫."""
    if amount is None:
        return ""
    return f"{amount:,}".replace(",", ".") + " ₫"


ACTION_LABELS = {
    "record.create": N_("Record created"),
    "record.update": N_("Record changed"),
    "item.create": N_("Copy added"),
    "item.update": N_("Copy changed"),
}


def action_label(action: str) -> str:
    """Return the translated description of an audit action on a record or a copy."""
    return _(ACTION_LABELS[action]) if action in ACTION_LABELS else action


FIELD_LABELS = {
    "title": N_("Title"),
    "main_author": N_("Main author"),
    "isbn": N_("ISBN"),
    "publisher": N_("Publisher"),
    "year": N_("Year"),
    "classification": N_("Classification"),
    "language": N_("Language"),
    "accession_number": N_("Accession number"),
    "barcode": N_("Barcode"),
    "class_number": N_("Class number"),
    "author_mark": N_("Author mark"),
    "call_number": N_("Call number"),
    "library_id": N_("Library"),
    "location": N_("Location"),
    "status": N_("Status"),
    "price_vnd": N_("Price"),
    "source": N_("Source"),
    "notes": N_("Notes"),
    "is_rare": N_("Rare or precious"),
    "is_local_studies": N_("Local-studies material"),
}


def field_label(name: str) -> str:
    """Return the translated name of a field named in the audit log."""
    return _(FIELD_LABELS[name]) if name in FIELD_LABELS else name


def _value_formatter(library_names: dict[int, str]):
    """Return a function showing an audited value the way the pages show it."""

    def show(name: str, value) -> str:
        if value is None or value == "":
            return "∅"
        if name == "status":
            return status_label(value)
        if name == "source":
            return source_label(value)
        if name == "language":
            return language_label(value)
        if name == "price_vnd" and isinstance(value, int):
            return vnd(value)
        if name == "library_id":
            return library_names.get(value, str(value))
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        return str(value)

    return show


def history_rows(changes: dict) -> list[tuple[str, object, object]]:
    """The changes worth showing: (field, old, new) without MARC text and without empty-to-empty."""
    empty = (None, "", False)
    return [
        (name, old_new[0], old_new[1])
        for name, old_new in changes.items()
        if name != "marc" and not (old_new[0] in empty and old_new[1] in empty)
    ]


def labels() -> dict:
    """The label helpers every catalogue template gets."""
    return {
        "status_label": status_label,
        "source_label": source_label,
        "language_label": language_label,
        "vnd": vnd,
        "can_catalogue": current_user.has_role(*CATALOGUERS),
    }


def record_or_404(record_id: int) -> Record:
    """Return the record or end the request with 404."""
    row = db.session.get(Record, record_id)
    if row is None:
        abort(404)
    return row


def _endpoint_exists(name: str) -> bool:
    return name in current_app.view_functions


# --- the record page ------------------------------------------------------------------------------


@bp.get("/records/<int:record_id>")
@staff_required
def record(record_id: int):
    """Show a record: readable description, MARC view, copies and history."""
    page = queries.record_page(db.session, record_id)
    if page is None:
        abort(404)
    return render_template(
        "catalog/record.html",
        page=page,
        row=page.record,
        has_export=_endpoint_exists("catalog.export_record"),
        has_search=_endpoint_exists("catalog.search"),
        action_label=action_label,
        changed_lines=queries.changed_lines,
        field_label=field_label,
        history_rows=history_rows,
        show_value=_value_formatter({lib.id: lib.name for lib in network_queries.libraries(db.session)}),
        **labels(),
    )


# --- the simple form ------------------------------------------------------------------------------


def _language_choices(current: str | None = None) -> list[SelectChoice]:
    choices = [SelectChoice(code, f"{_(name)} ({code})") for code, name in LANGUAGES.items()]
    if current is not None and current not in LANGUAGES:
        choices.insert(0, SelectChoice(current, current or "—"))
    return choices


def sequence_choices() -> list[SelectChoice]:
    """The active accession-number series, with their library and next number, after an empty choice."""
    choices = [SelectChoice("", "—")]
    for seq in queries.sequences(db.session, active_only=True):
        label = _(
            "%(prefix)s — %(library)s (next %(number)s)",
            prefix=seq.prefix,
            library=seq.library.name,
            number=seq.format(seq.next_number),
        )
        choices.append(SelectChoice(str(seq.id), label))
    return choices


def _check_copies(form: RecordForm) -> bool:
    """The optional copies part of the create form: a count needs a series."""
    if (form.copies_count.data or 0) > 0 and not form.copies_sequence_id.data:
        form.copies_sequence_id.errors.append(_("Choose the series that numbers the new copies."))
        return False
    return True


def _create_once(record: MarcRecord) -> tuple[Record, bool]:
    """Create a record unless the same user created the same one a moment ago; flush only.

    Returns the record and whether it is new. Two copies of a form sent together (a double click)
    are serialised by a lock on the user's row, so the second finds the first's record.
    """
    queries.serialise_for_actor(db.session, current_user.id)
    existing = queries.recent_identical_record(
        db.session, record_json(record), current_user.id, utcnow() - DOUBLE_SUBMIT_WINDOW
    )
    if existing is not None:
        return existing, False
    return services.create_record(db.session, record, actor_id=current_user.id, source="manual"), True


def _saved_again() -> None:
    flash(_("This record had just been saved; it was not created a second time."), "info")


@bp.route("/records/new", methods=["GET", "POST"])
@roles_required(*CATALOGUERS)
def record_new():
    """Catalogue a book with the simple form; optionally add its first copies in the same step."""
    form = RecordForm()
    form.language.choices = _language_choices()
    form.copies_sequence_id.choices = sequence_choices()
    if form.validate_on_submit() and _check_copies(form):
        values = SimpleValues.from_mapping(form.data)
        try:
            record = record_from_simple(values, today=local_today())
        except ValueError as exc:  # build_record names what it refuses; the form checks come first
            flash(str(exc), "error")
            return render_template("catalog/record_form.html", form=form, row=None, **labels())
        count = form.copies_count.data or 0
        try:
            with transaction(db.session):
                row, created = _create_once(record)
                items = []
                if created and count:
                    items = _add_first_copies(row, form, count)
        except DomainError as err:
            flash_error(err, form)
        except IntegrityError:
            flash(_("An accession number or barcode is already used. Nothing was saved."), "error")
        else:
            if not created:
                _saved_again()
            elif items:
                flash(
                    _(
                        "Record saved with %(n)d copies: %(first)s – %(last)s.",
                        n=len(items),
                        first=items[0].accession_number,
                        last=items[-1].accession_number,
                    ),
                    "success",
                )
            else:
                flash(_("Record saved."), "success")
            return redirect(url_for("catalog.record", record_id=row.id))
    return render_template("catalog/record_form.html", form=form, row=None, **labels())


def _add_first_copies(row: Record, form: RecordForm, count: int):
    seq = db.session.get(AccessionSequence, form.copies_sequence_id.data)
    if seq is None:
        abort(400)
    class_number = queries.class_number(row)
    mark = queries.author_mark(row.main_author, row.title)
    return services.add_items(
        db.session,
        row,
        count=count,
        sequence_id=seq.id,
        values={
            "library_id": seq.library_id,
            "class_number": class_number,
            "author_mark": mark,
            "call_number": form.copies_call_number.data or "",
            "location": form.copies_location.data or "",
        },
        actor_id=current_user.id,
    )


def _conflict_message() -> str:
    return _("Someone else saved this record meanwhile. Reload it and make your change again.")


def version_of(value: str | None) -> int | None:
    """Return the record version a form carried, or None."""
    try:
        return int(value or "")
    except ValueError:
        return None


@bp.route("/records/<int:record_id>/edit", methods=["GET", "POST"])
@roles_required(*CATALOGUERS)
def record_edit(record_id: int):
    """Edit the common fields; only the fields whose values changed are rebuilt in the MARC record."""
    row = record_or_404(record_id)
    stored = record_from_json(row.marc)
    old = simple_values(stored)
    if request.method == "GET":
        form = RecordForm(data={**old.as_form_data(), "version": str(row.version)})
    else:
        form = RecordForm()
    form.language.choices = _language_choices(old.language)
    form.copies_sequence_id.choices = [SelectChoice("", "—")]
    if form.validate_on_submit():
        new = SimpleValues.from_mapping(form.data)
        expected = version_of(form.version.data)
        try:
            groups = apply_simple(stored, old, new, now=utcnow())
        except ValueError as exc:
            flash(str(exc), "error")
            groups = None
        if groups == []:
            flash(_("Nothing was changed."), "info")
            return redirect(url_for("catalog.record", record_id=row.id))
        if groups:
            try:
                with transaction(db.session):
                    services.update_record(
                        db.session, row, stored, actor_id=current_user.id, expected_version=expected
                    )
            except StaleDataError:
                flash(_conflict_message(), "error")
            except DomainError as err:
                flash_error(err, form)
            else:
                flash(_("Record saved."), "success")
                return redirect(url_for("catalog.record", record_id=row.id))
    return render_template("catalog/record_form.html", form=form, row=row, **labels())


# --- the MARC editor ------------------------------------------------------------------------------


def _editor_page(state: EditorState, form: MarcEditorForm, row: Record | None, status: int = 200):
    return (
        render_template("catalog/editor.html", state=state, form=form, row=row, **labels()),
        status,
    )


def _editor_post(state: EditorState) -> tuple[str, MarcRecord | None]:
    """Apply the button that was pressed; return the action and, for check/save, the valid record."""
    action = request.form.get("action", "check")
    if action in ("check", "save"):
        return action, check_state(state)
    apply_action(state, action, request.form.get("new_tag", ""))
    return action, None


@bp.route("/records/new/marc", methods=["GET", "POST"])
@roles_required(*CATALOGUERS)
def record_new_marc():
    """Catalogue a record from scratch in the MARC editor."""
    form = MarcEditorForm()
    if request.method == "GET":
        return _editor_page(new_record_state(local_today()), form, None)
    state = parse_editor(request.form)
    action, record = _editor_post(state)
    if action == "check" and record is not None:
        flash(_("No problems found. The record is not saved yet."), "info")
    if action != "save" or record is None:
        return _editor_page(state, form, None, 422 if state.has_problems else 200)
    try:
        with transaction(db.session):
            row, created = _create_once(record)
    except DomainError as err:
        flash_error(err)
        return _editor_page(state, form, None, 422)
    if created:
        flash(_("Record saved."), "success")
    else:
        _saved_again()
    return redirect(url_for("catalog.record", record_id=row.id))


@bp.route("/records/<int:record_id>/marc", methods=["GET", "POST"])
@roles_required(*CATALOGUERS)
def record_marc(record_id: int):
    """Edit every field of a record: leader, control fields, tags, indicators, subfields."""
    row = record_or_404(record_id)
    form = MarcEditorForm()
    if request.method == "GET":
        form.version.data = str(row.version)
        return _editor_page(editor_state(record_from_json(row.marc)), form, row)
    state = parse_editor(request.form)
    action, record = _editor_post(state)
    if action == "check" and record is not None:
        flash(_("No problems found. The record is not saved yet."), "info")
    if action != "save" or record is None:
        return _editor_page(state, form, row, 422 if state.has_problems else 200)
    expected = version_of(form.version.data)
    stored = record_from_json(row.marc)
    if expected == row.version and same_marc(record, stored) and str(record.leader) == str(stored.leader):
        flash(_("Nothing was changed."), "info")
        return redirect(url_for("catalog.record", record_id=row.id))
    try:
        with transaction(db.session):
            services.update_record(
                db.session, row, record, actor_id=current_user.id, expected_version=expected
            )
    except StaleDataError:
        flash(_conflict_message(), "error")
        return _editor_page(state, form, row, 409)
    except Conflict as err:
        flash_error(err)
        return _editor_page(state, form, row, 409)
    except DomainError as err:
        flash_error(err)
        return _editor_page(state, form, row, 422)
    flash(_("Record saved."), "success")
    return redirect(url_for("catalog.record", record_id=row.id))
