"""Web pages of the plan's targets and progress under /plan.

Who may do what: every staff role (viewers included) sees the progress and exports it; point operators
do not. ADMIN and ACQUISITIONS set the targets. ADMIN, ACQUISITIONS, CATALOGUER and ROTATION enter the
monthly figures: for every library, or only for the libraries their account is bound to when it lists
some (accounts are bound to sites only for point operators so far, so today: every library).
"""

from __future__ import annotations

from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from app.auth.models import Role
from app.db import transaction
from app.errors import DomainError
from app.extensions import db
from app.network.models import LIBRARY_KINDS, Site
from app.plan import chart, export, services
from app.plan.models import ENTERED_INDICATORS, MAX_VALUE, Indicator
from app.plan.progress import progress as compute_progress
from app.security import roles_required, staff_required
from app.timeutil import local_today
from app.web import flash_error

bp = Blueprint("plan", __name__, template_folder="templates")

TARGET_EDITORS = (Role.ADMIN, Role.ACQUISITIONS)
FIGURE_ENTRY = (Role.ADMIN, Role.ACQUISITIONS, Role.CATALOGUER, Role.ROTATION)


# --- forms ---------------------------------------------------------------------------------------


def _indicator_field(indicator: Indicator) -> IntegerField:
    return IntegerField(_l(indicator.label), validators=[Optional(), NumberRange(min=0, max=MAX_VALUE)])


TargetsForm = type(
    "TargetsForm",
    (FlaskForm,),
    {"__doc__": "The targets of a library and year, one field per indicator."}
    | {ind.value: _indicator_field(ind) for ind in Indicator},
)
FiguresForm = type(
    "FiguresForm",
    (FlaskForm,),
    {"__doc__": "A library's figures for a month, one field per hand-entered indicator."}
    | {ind.value: _indicator_field(ind) for ind in ENTERED_INDICATORS},
)


class ConfirmForm(FlaskForm):
    """An action button with its CSRF token."""


# --- helpers -------------------------------------------------------------------------------------


def _year_arg() -> int:
    try:
        year = int(request.args.get("year", ""))
    except ValueError:
        return local_today().year
    return year if services.MIN_YEAR <= year <= services.MAX_YEAR else local_today().year


def _library_arg(libraries: list[Site]) -> Site | None:
    """Return the library chosen in ?library= (None: the province); 404 for an unknown id."""
    raw = request.args.get("library", "")
    if not raw:
        return None
    try:
        library_id = int(raw)
    except ValueError:
        abort(404)
    site = next((s for s in libraries if s.id == library_id), None)
    if site is None:
        abort(404)
    return site


def _number_format():
    """Return a fast number formatter with the current locale's separators (babel's is slow per call)."""
    locale = get_locale()
    group, decimal = get_group_symbol(locale), get_decimal_symbol(locale)
    table = str.maketrans({",": group, ".": decimal})

    def num(value: float | None, digits: int = 0) -> str:
        if value is None:
            return "–"
        return f"{value:,.{digits}f}".translate(table)

    return num


def _month_labels() -> list[str]:
    return [_("M%(n)d", n=m) for m in range(1, 13)]


def _place_name(site: Site | None) -> str:
    return f"{site.code} · {site.name}" if site else _("Whole province")


def _entry_libraries(libraries: list[Site]) -> list[Site]:
    """Libraries the current user may enter figures for."""
    bound = {s.id for s in current_user.sites if s.kind in LIBRARY_KINDS}
    if bound and current_user.role != Role.ADMIN:
        return [s for s in libraries if s.id in bound]
    return libraries


def _charts(result) -> dict[str, object]:
    _num = _number_format()
    charts = {}
    for row in result.rows:
        if not row.available:
            continue
        desc = _(
            "%(done)s of %(target)s %(unit)s done (%(percent)s%%); a steady pace would have reached "
            "%(expected)s by now.",
            done=_num(row.total),
            target=_num(row.target),
            unit=_(row.indicator.unit),
            percent=_num(row.percent),
            expected=_num(row.expected_now),
        )
        charts[row.indicator.value] = chart.render_chart(
            chart_id=f"chart-{row.indicator.value}",
            cumulative=row.cumulative,
            months_shown=row.months_elapsed,
            target=row.target,
            elapsed_fraction=row.elapsed_fraction,
            texts=chart.ChartTexts(
                title=_(row.indicator.label),
                desc=desc,
                actual=_("Actual"),
                target=_("Target"),
                pace=_("Steady pace"),
            ),
        )
    return charts


# --- progress ------------------------------------------------------------------------------------


@bp.get("/")
@staff_required
def progress_page():
    """Progress of a library or the province in a year: charts and the table."""
    libraries = services.plan_libraries(db.session)
    site = _library_arg(libraries)
    year = _year_arg()
    result = compute_progress(db.session, year, site.id if site else None)
    return render_template(
        "plan/progress.html",
        result=result,
        site=site,
        year=year,
        libraries=libraries,
        charts=_charts(result),
        num=_number_format(),
        months=_month_labels(),
        place=_place_name(site),
        can_edit_targets=current_user.has_role(*TARGET_EDITORS),
        can_enter=current_user.has_role(*FIGURE_ENTRY),
    )


@bp.get("/export.<fmt>")
@staff_required
def export_progress(fmt: str):
    """The progress table as CSV or XLSX."""
    if fmt not in {"csv", "xlsx"}:
        abort(404)
    libraries = services.plan_libraries(db.session)
    site = _library_arg(libraries)
    year = _year_arg()
    result = compute_progress(db.session, year, site.id if site else None)
    headings = [
        _("Code"),
        _("Indicator"),
        _("Unit"),
        _("Target"),
        *_month_labels(),
        _("Total"),
        _("Percent done"),
        _("Expected by now"),
        _("Needed per month"),
    ]
    rows = export.table(result, headings, _)
    name = f"plan-{year}-{site.code if site else 'province'}"
    if fmt == "csv":
        return Response(
            export.to_csv(rows),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    title = _("Progress %(year)d: %(place)s", year=year, place=_place_name(site))
    return Response(
        export.to_xlsx(rows, title, sheet_name=str(year)),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


# --- targets -------------------------------------------------------------------------------------


@bp.route("/targets", methods=["GET", "POST"])
@roles_required(*TARGET_EDITORS)
def targets():
    """Edit the targets of a library (or the province's own) for a year, prefilled from the plan."""
    libraries = services.plan_libraries(db.session)
    site = _library_arg(libraries)
    year = _year_arg()
    current = services.targets_for(db.session, year, site.id if site else None)
    defaults = services.plan_defaults(site.kind if site else None)
    form = TargetsForm()
    if form.validate_on_submit():
        values = {ind: getattr(form, ind.value).data for ind in Indicator}
        try:
            with transaction(db.session):
                changed = services.set_targets(
                    db.session,
                    library_id=site.id if site else None,
                    year=year,
                    values=values,
                    actor_id=current_user.id,
                )
        except DomainError as err:
            flash_error(err, form)
        else:
            flash(_("Targets saved (%(n)d changed).", n=changed), "success")
            return redirect(url_for(".targets", year=year, library=site.id if site else ""))
    elif request.method == "GET":
        for ind in Indicator:
            getattr(form, ind.value).data = current.get(ind, defaults.get(ind))
    return render_template(
        "plan/targets.html",
        form=form,
        prefill_form=ConfirmForm(),
        site=site,
        year=year,
        libraries=libraries,
        current=current,
        defaults=defaults,
        place=_place_name(site),
        num=_number_format(),
        Indicator=Indicator,
    )


@bp.post("/targets/prefill")
@roles_required(*TARGET_EDITORS)
def prefill_targets():
    """Give every library without targets for the year the plan's numbers."""
    year = _year_arg()
    form = ConfirmForm()
    if form.validate_on_submit():
        with transaction(db.session):
            added = services.prefill_from_plan(db.session, year=year, actor_id=current_user.id)
        flash(_("%(n)d targets added from the plan.", n=added), "success")
    return redirect(url_for(".targets", year=year, library=request.args.get("library", "")))


# --- monthly figures -----------------------------------------------------------------------------


@bp.route("/figures", methods=["GET", "POST"])
@roles_required(*FIGURE_ENTRY)
def figures():
    """Enter a library's hand-counted figures for a month, and see its year."""
    libraries = _entry_libraries(services.plan_libraries(db.session))
    if not libraries:
        return render_template("plan/figures.html", libraries=[], site=None, form=None)
    site = _library_arg(libraries) or libraries[0]
    today = local_today()
    year = _year_arg()
    try:
        month = int(request.args.get("month", ""))
    except ValueError:
        month = today.month if year == today.year else 12
    if not 1 <= month <= 12:
        month = today.month
    entered = services.figures_for(db.session, site.id, year)
    form = FiguresForm()
    if form.validate_on_submit():
        values = {ind: getattr(form, ind.value).data for ind in ENTERED_INDICATORS}
        try:
            with transaction(db.session):
                changed = services.set_monthly_figures(
                    db.session,
                    library_id=site.id,
                    year=year,
                    month=month,
                    values=values,
                    actor_id=current_user.id,
                )
        except DomainError as err:
            flash_error(err, form)
        else:
            flash(_("Figures saved (%(n)d changed).", n=changed), "success")
            return redirect(url_for(".figures", library=site.id, year=year, month=month))
    elif request.method == "GET":
        for ind in ENTERED_INDICATORS:
            getattr(form, ind.value).data = entered.get((month, ind))
    return render_template(
        "plan/figures.html",
        form=form,
        site=site,
        year=year,
        month=month,
        libraries=libraries,
        entered=entered,
        indicators=ENTERED_INDICATORS,
        num=_number_format(),
        months=_month_labels(),
        future=(year, month) > (today.year, today.month),
    )
