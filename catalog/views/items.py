"""Catalogue pages: adding copies in one action, editing a copy, accession-number series."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import SelectChoice

from app.db import transaction, utcnow
from app.errors import DomainError
from app.extensions import db
from app.security import roles_required
from app.web import error_text, flash_error
from catalog import queries, services
from catalog.forms import ITEM_SOURCES, NEW_ITEM_STATUSES, ItemForm, ItemsForm, SequenceForm, lines
from catalog.models import ITEM_TRANSITIONS, AccessionSequence, Item, ItemStatus
from catalog.views import bp
from catalog.views.records import (
    CATALOGUERS,
    DOUBLE_SUBMIT_WINDOW,
    labels,
    record_or_404,
    sequence_choices,
    status_label,
    version_of,
)


def _library_choices() -> list[SelectChoice]:
    return [SelectChoice("", "—")] + [
        SelectChoice(str(lib.id), f"{lib.code} — {lib.name}") for lib in queries.libraries(db.session)
    ]


def _source_choices(current: str | None = None) -> list[SelectChoice]:
    choices = [SelectChoice(code, _(label)) for code, label in ITEM_SOURCES.items()]
    if current and current not in ITEM_SOURCES:
        choices.insert(0, SelectChoice(current, current))
    if current == "":
        choices.insert(0, SelectChoice("", "—"))
    return choices


def _accession_error(form: ItemsForm, err: DomainError) -> None:
    """Show a domain error next to the field it is about (typed numbers for accession numbers)."""
    if err.field == "accession_number":
        form.accession_numbers.errors.append(error_text(err))
    elif err.field == "count":
        form.count.errors.append(error_text(err))
    else:
        flash_error(err, form)


def _check_numbering(form: ItemsForm) -> list[str] | None:
    """Return the typed accession numbers, or [] for a series; None (with errors shown) if neither."""
    typed = lines(form.accession_numbers.data)
    seq_id = form.sequence_id.data
    if typed and seq_id:
        form.accession_numbers.errors.append(_("Choose a series or type the numbers, not both."))
        return None
    if not typed and not seq_id:
        form.sequence_id.errors.append(_("Choose a series or type the accession numbers."))
        return None
    if seq_id:
        seq = db.session.get(AccessionSequence, seq_id)
        if seq is None:
            form.sequence_id.errors.append(_("No such accession-number series."))
            return None
        if seq.library_id != form.library_id.data:
            form.sequence_id.errors.append(
                _(
                    "The series %(prefix)s belongs to %(library)s.",
                    prefix=seq.prefix,
                    library=seq.library.name,
                )
            )
            return None
    return typed


def _sent_twice(record_id: int, copies_before: int | None) -> bool:
    """True when the record gained copies from this user since the form was opened, a moment ago.

    Runs under a lock on the user's row, so two copies of the form sent together are serialised and
    the second sees the first's copies. Another user's copies added meanwhile do not count.
    """
    if copies_before is None:
        return False
    queries.serialise_for_actor(db.session, current_user.id)
    if queries.count_items(db.session, record_id) <= copies_before:
        return False
    since = utcnow() - DOUBLE_SUBMIT_WINDOW
    return queries.copies_just_added_by(db.session, record_id, current_user.id, since) > 0


@bp.route("/records/<int:record_id>/items/new", methods=["GET", "POST"])
@roles_required(*CATALOGUERS)
def items_new(record_id: int):
    """Add one or many copies to a record in one action, numbered from a series or typed."""
    row = record_or_404(record_id)
    suggested_mark = queries.author_mark(row.main_author, row.title)
    if request.method == "GET":
        form = ItemsForm(
            data={
                "class_number": queries.class_number(row),
                "author_mark": suggested_mark,
                "copies_before": str(queries.count_items(db.session, row.id)),
            }
        )
    else:
        form = ItemsForm()
    form.library_id.choices = _library_choices()
    form.sequence_id.choices = sequence_choices()
    form.source.choices = _source_choices()
    form.status.choices = [SelectChoice(s.value, status_label(s.value)) for s in NEW_ITEM_STATUSES]
    if form.validate_on_submit():
        typed = _check_numbering(form)
        if typed is not None:
            try:
                with transaction(db.session):
                    if _sent_twice(row.id, version_of(form.copies_before.data)):
                        flash(
                            _("These copies had just been added; they were not added a second time."), "info"
                        )
                        return redirect(url_for("catalog.record", record_id=row.id, _anchor="copies"))
                    items = services.add_items(
                        db.session,
                        row,
                        count=len(typed) if typed else (form.count.data or 1),
                        sequence_id=None if typed else form.sequence_id.data,
                        accession_numbers=typed or None,
                        values={
                            "library_id": form.library_id.data,
                            "barcode": form.barcode.data,
                            "class_number": form.class_number.data,
                            "author_mark": form.author_mark.data,
                            "call_number": form.call_number.data,
                            "location": form.location.data,
                            "price_vnd": form.price_vnd.data,
                            "source": form.source.data,
                            "status": form.status.data,
                            "notes": form.notes.data,
                            "is_rare": form.is_rare.data,
                            "is_local_studies": form.is_local_studies.data,
                        },
                        actor_id=current_user.id,
                    )
            except DomainError as err:
                _accession_error(form, err)
            except IntegrityError:
                form.accession_numbers.errors.append(
                    _("An accession number or barcode is already used. Nothing was saved.")
                )
            else:
                flash(
                    _(
                        "%(n)d copies added: %(first)s – %(last)s.",
                        n=len(items),
                        first=items[0].accession_number,
                        last=items[-1].accession_number,
                    ),
                    "success",
                )
                return redirect(url_for("catalog.record", record_id=row.id, _anchor="copies"))
    return render_template(
        "catalog/item_new.html", form=form, row=row, suggested_mark=suggested_mark, **labels()
    )


def _status_choices(item: Item) -> list[SelectChoice]:
    current = ItemStatus(item.status)
    allowed = [s for s in ItemStatus if s in ITEM_TRANSITIONS[current]]
    return [SelectChoice(s.value, status_label(s.value)) for s in [current, *allowed]]


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@roles_required(*CATALOGUERS)
def item_edit(item_id: int):
    """Edit a copy; the status can only move to the statuses allowed after the current one."""
    item = db.session.get(Item, item_id)
    if item is None:
        abort(404)
    if request.method == "GET":
        form = ItemForm(obj=item)
        form.price_vnd.data = "" if item.price_vnd is None else str(item.price_vnd)
        form.version.data = str(item.version)
    else:
        form = ItemForm()
    form.library_id.choices = _library_choices()
    form.status.choices = _status_choices(item)
    form.source.choices = _source_choices(item.source)
    if form.validate_on_submit():
        if version_of(form.version.data) != item.version:
            flash(
                _("Someone else changed this copy meanwhile. Reload it and make your change again."), "error"
            )
        else:
            try:
                with transaction(db.session):
                    services.update_item(
                        db.session,
                        item,
                        {
                            "accession_number": form.accession_number.data,
                            "barcode": form.barcode.data,
                            "class_number": form.class_number.data,
                            "author_mark": form.author_mark.data,
                            "call_number": form.call_number.data,
                            "library_id": form.library_id.data,
                            "location": form.location.data,
                            "status": form.status.data,
                            "price_vnd": form.price_vnd.data,
                            "source": form.source.data,
                            "notes": form.notes.data,
                            "is_rare": form.is_rare.data,
                            "is_local_studies": form.is_local_studies.data,
                        },
                        actor_id=current_user.id,
                    )
            except StaleDataError:
                flash(
                    _("Someone else changed this copy meanwhile. Reload it and make your change again."),
                    "error",
                )
            except DomainError as err:
                flash_error(err, form)
            except IntegrityError:
                form.accession_number.errors.append(_("An accession number or barcode is already used."))
            else:
                flash(_("Copy %(number)s saved.", number=item.accession_number), "success")
                return redirect(url_for("catalog.record", record_id=item.record_id, _anchor="copies"))
    return render_template("catalog/item_form.html", form=form, item=item, **labels())


@bp.route("/sequences", methods=["GET", "POST"])
@roles_required(*CATALOGUERS)
def sequences():
    """List the accession-number series of every library and create new ones."""
    form = SequenceForm()
    form.library_id.choices = _library_choices()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                seq = services.create_sequence(
                    db.session,
                    library_id=form.library_id.data,
                    prefix=form.prefix.data,
                    width=form.width.data,
                    next_number=form.next_number.data,
                    description=form.description.data or "",
                    actor_id=current_user.id,
                )
        except DomainError as err:
            flash_error(err, form)
        except IntegrityError:
            form.prefix.errors.append(_("This prefix is already used."))
        else:
            flash(_("Series %(prefix)s created.", prefix=seq.prefix), "success")
            return redirect(url_for("catalog.sequences"))
    return render_template(
        "catalog/sequences.html", form=form, sequences=queries.sequences(db.session), **labels()
    )
