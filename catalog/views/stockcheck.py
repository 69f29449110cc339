"""Stock check pages under /acquisitions/stock-checks: start, scan, the missing list, close, withdraw.

The scan page works without JavaScript (the form posts, the page comes back with the focus in the
box); catalog/static/stockcheck.js, served by `stockcheck_js` because the acquisitions blueprint has
no static folder, posts by fetch and updates the counts in place.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import abort, flash, jsonify, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import DateField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.auth.models import Role
from app.db import transaction
from app.errors import DomainError
from app.extensions import db
from app.security import roles_required, staff_required
from app.web import error_text, flash_error
from catalog.acquisitions import queries
from catalog.acquisitions import stockcheck as sc
from catalog.acquisitions.models import WITHDRAWAL_REASON_LABELS, WithdrawalReason
from catalog.acquisitions.stockcheck_models import STOCK_CHECK_STATUS_LABELS, StockCheckStatus
from catalog.views import acq_bp
from catalog.views.records import status_label

MANAGERS = (Role.ADMIN, Role.ACQUISITIONS)
SCANNERS = (Role.ADMIN, Role.ACQUISITIONS, Role.CATALOGUER)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
MISSING_SHOWN = 2000


class StartForm(FlaskForm):
    """Which library (and location) to check."""

    library_id = SelectField(_l("Library"), validators=[DataRequired()])
    location = StringField(_l("Location (empty: the whole library)"), validators=[Length(max=120)])


class ScanForm(FlaskForm):
    """One accession number or barcode, typed or scanned."""

    code = StringField(_l("Accession number or barcode"), validators=[DataRequired(), Length(max=64)])


class CloseForm(FlaskForm):
    """A button that needs only the CSRF token."""


class WithdrawForm(FlaskForm):
    """Withdraw the missing copies of a closed check."""

    minutes_number = StringField(_l("Minutes number"), validators=[DataRequired(), Length(max=100)])
    reason = SelectField(_l("Reason"), default=WithdrawalReason.LOST.value)
    withdrawal_date = DateField(_l("Date"), validators=[Optional()])


def _message(result: sc.ScanResult) -> str:
    """Return what the librarian reads after a scan."""
    number = result.accession_number or result.code
    if result.outcome == "found":
        return _("Found: %(number)s %(title)s", number=number, title=result.title)
    if result.outcome == "already":
        return _("Already found in this check: %(number)s", number=number)
    if result.outcome == "away":
        return _(
            "Found %(number)s, but it is recorded as out on rotation (%(status)s).",
            number=number,
            status=status_label(result.status).lower(),
        )
    if result.outcome == "other_library":
        return _(
            "%(number)s belongs to another library (%(library)s); not counted.",
            number=number,
            library=result.library_name,
        )
    if result.outcome == "other_location":
        return _(
            "%(number)s is shelved at another location (%(location)s); not counted.",
            number=number,
            location=result.location or "—",
        )
    if result.outcome == "withdrawn":
        return _("%(number)s has been withdrawn; not counted.", number=number)
    return _("No copy has the number %(code)s.", code=result.code)


def _check_or_404(check_id: int):
    try:
        return sc.get_check(db.session, check_id)
    except DomainError:
        abort(404)


def _helpers() -> dict:
    return {
        "check_status_label": lambda v: _(STOCK_CHECK_STATUS_LABELS.get(StockCheckStatus(v), v)),
        "item_status_label": status_label,
        "can_manage": current_user.has_role(*MANAGERS),
        "can_scan": current_user.has_role(*SCANNERS),
    }


@acq_bp.route("/stock-checks")
@staff_required
def stock_checks():
    """The stock checks, open ones first, and the form that starts one."""
    form = StartForm()
    form.library_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(s.id), f"{s.code} — {s.name}") for s in queries.libraries(db.session)
    ]
    rows = sc.list_checks(db.session)
    return render_template("acquisitions/stockchecks.html", rows=rows, form=form, **_helpers())


@acq_bp.route("/stock-checks/new", methods=["POST"])
@roles_required(*MANAGERS)
def stock_check_new():
    """Start a stock check of a library or one location of it."""
    form = StartForm()
    form.library_id.choices = [SelectChoice(str(s.id), s.name) for s in queries.libraries(db.session)]
    if not form.validate_on_submit():
        flash(_("Choose a library."), "error")
        return redirect(url_for("acquisitions.stock_checks"))
    try:
        with transaction(db.session):
            check = sc.start_check(
                db.session, int(form.library_id.data), form.location.data or "", actor_id=current_user.id
            )
    except DomainError as err:
        flash_error(err)
        return redirect(url_for("acquisitions.stock_checks"))
    flash(_("Stock check started. Scan the copies on the shelves."), "success")
    return redirect(url_for("acquisitions.stock_check", check_id=check.id))


def _counts_dict(counts: sc.Counts) -> dict[str, int]:
    return {
        "expected": counts.expected,
        "found": counts.found,
        "missing": counts.missing,
        "away": counts.away,
    }


@acq_bp.route("/stock-checks/<int:check_id>")
@staff_required
def stock_check(check_id: int):
    """A stock check: the scan box and the live counts while open, the frozen result once closed."""
    check = _check_or_404(check_id)
    counts = sc.counts(db.session, check)
    withdraw_form = WithdrawForm()
    withdraw_form.reason.choices = [
        SelectChoice(r.value, _(label)) for r, label in WITHDRAWAL_REASON_LABELS.items()
    ]
    withdraw_form.withdrawal_date.data = date.today()
    return render_template(
        "acquisitions/stockcheck.html",
        check=check,
        counts=counts,
        recent=sc.recent_finds(db.session, check),
        form=ScanForm(),
        close_form=CloseForm(),
        withdraw_form=withdraw_form,
        **_helpers(),
    )


@acq_bp.route("/stock-checks/<int:check_id>/scan", methods=["POST"])
@roles_required(*SCANNERS)
def stock_check_scan(check_id: int):
    """Record one scanned copy; answers JSON to the page's script, else flashes and redirects."""
    check = _check_or_404(check_id)
    wants_json = request.accept_mimetypes.best == "application/json"
    form = ScanForm()
    if not form.validate_on_submit():
        message = _("Scan or type an accession number.")
        if wants_json:
            return jsonify(outcome="error", message=message), 400
        flash(message, "error")
        return redirect(url_for("acquisitions.stock_check", check_id=check.id))
    try:
        with transaction(db.session):
            result = sc.record_find(db.session, check.id, form.code.data, actor_id=current_user.id)
    except (DomainError, IntegrityError) as err:
        message = error_text(err) if isinstance(err, DomainError) else _("Please scan again.")
        if wants_json:
            return jsonify(outcome="error", message=message), 409
        flash(message, "error")
        return redirect(url_for("acquisitions.stock_check", check_id=check.id))
    message = _message(result)
    if wants_json:
        return jsonify(
            outcome=result.outcome,
            counted=result.counted,
            message=message,
            accession_number=result.accession_number,
            title=result.title,
            counts=_counts_dict(sc.counts(db.session, check)),
        )
    flash(message, "success" if result.outcome == "found" else ("info" if result.counted else "error"))
    return redirect(url_for("acquisitions.stock_check", check_id=check.id))


@acq_bp.route("/stock-checks/<int:check_id>/missing")
@staff_required
def stock_check_missing(check_id: int):
    """The copies expected and not found (live while open, frozen once closed)."""
    check = _check_or_404(check_id)
    counts = sc.counts(db.session, check)
    rows = sc.missing(db.session, check, limit=MISSING_SHOWN)
    return render_template(
        "acquisitions/stockcheck_missing.html",
        check=check,
        counts=counts,
        rows=rows,
        limit=MISSING_SHOWN,
        **_helpers(),
    )


@acq_bp.route("/stock-checks/<int:check_id>/close", methods=["POST"])
@roles_required(*MANAGERS)
def stock_check_close(check_id: int):
    """Close the check: its figures and missing list are frozen (a second click changes nothing)."""
    check = _check_or_404(check_id)
    if CloseForm().validate_on_submit():
        try:
            with transaction(db.session):
                sc.close_check(db.session, check.id, actor_id=current_user.id)
        except DomainError as err:
            flash_error(err)
        except IntegrityError:
            flash(_("This stock check has already been closed."), "error")
        else:
            flash(_("Stock check closed."), "success")
    return redirect(url_for("acquisitions.stock_check", check_id=check.id))


@acq_bp.route("/stock-checks/<int:check_id>/withdraw", methods=["POST"])
@roles_required(*MANAGERS)
def stock_check_withdraw(check_id: int):
    """Withdraw the copies the closed check found missing, under one set of minutes."""
    check = _check_or_404(check_id)
    form = WithdrawForm()
    form.reason.choices = [SelectChoice(r.value, _(label)) for r, label in WITHDRAWAL_REASON_LABELS.items()]
    if not form.validate_on_submit():
        flash(_("Give the number of the withdrawal minutes."), "error")
        return redirect(url_for("acquisitions.stock_check", check_id=check.id))
    try:
        with transaction(db.session):
            withdrawal, left_out = sc.withdraw_missing(
                db.session,
                check.id,
                minutes_number=form.minutes_number.data,
                reason=form.reason.data,
                withdrawal_date=form.withdrawal_date.data,
                actor_id=current_user.id,
            )
    except DomainError as err:
        flash(error_text(err), "error")
        return redirect(url_for("acquisitions.stock_check", check_id=check.id))
    except IntegrityError:
        flash(_("One of these copies was withdrawn meanwhile; nothing was withdrawn."), "error")
        return redirect(url_for("acquisitions.stock_check", check_id=check.id))
    flash(_("%(n)d copies withdrawn.", n=len(withdrawal.lines)), "success")
    if left_out:
        flash(
            _(
                "Not withdrawn, because their status changed since the check: %(numbers)s",
                numbers=", ".join(left_out[:20]) + (" …" if len(left_out) > 20 else ""),
            ),
            "info",
        )
    return redirect(url_for("acquisitions.withdrawal", withdrawal_id=withdrawal.id))


@acq_bp.route("/stock-checks/scan.js")
@staff_required
def stockcheck_js():
    """The scan page's script (a static file; the CSP allows scripts from this site only)."""
    response = send_from_directory(STATIC_DIR, "stockcheck.js", mimetype="text/javascript", max_age=3600)
    return response
