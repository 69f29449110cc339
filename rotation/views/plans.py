"""Rotation pages: plans (list, new, grid, cell edits, approval) and point usage."""

from __future__ import annotations

import re
from collections import defaultdict

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, MonthField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, NumberRange, Optional

from app.auth.models import Role
from app.db import transaction
from app.errors import N_, DomainError, PermissionDenied
from app.extensions import db
from app.network.models import POINT_KINDS, Site
from app.security import any_user, roles_required, staff_required
from app.timeutil import local_today
from app.web import error_text, flash_error, int_arg
from rotation import planning, usage
from rotation.models import PlanStatus
from rotation.services import plans as services
from rotation.views import bp

PLANNERS = (Role.ADMIN, Role.ROTATION)
# The last year a ?year= may ask for (the statistics also reach into the next year).
MAX_YEAR = 9998

CONSTRAINT_LABELS = {
    planning.Constraint.UNKNOWN: N_("Unknown point, batch or period"),
    planning.Constraint.BATCH_ONE_PLACE: N_("Batch at two points at once"),
    planning.Constraint.POINT_ONE_BATCH: N_("Point holds two batches at once"),
    planning.Constraint.SAME_BATCH_AGAIN: N_("Same batch again straight away"),
    planning.Constraint.REPEAT_BATCH: N_("Batch the point has had recently"),
    planning.Constraint.REPEAT_TITLES: N_("Titles the point has had recently"),
    planning.Constraint.MAX_STAY: N_("Stay longer than 6 months"),
    planning.Constraint.CAPACITY: N_("Batch larger than the point's capacity"),
    planning.Constraint.UNAVAILABLE: N_("Point closed in this period"),
    planning.Constraint.PIN_KEPT: N_("Pinned cell not kept"),
    planning.Constraint.NOT_YET_AVAILABLE: N_("Batch not yet available"),
}
REASON_LABELS = {
    planning.Reason.UNAVAILABLE: N_("Point closed in this period"),
    planning.Reason.CAPACITY: N_("No batch fits the point's capacity"),
    planning.Reason.REPEAT: N_("Every free batch was there recently"),
    planning.Reason.NOT_YET_AVAILABLE: N_("No batch available yet"),
    planning.Reason.NO_BATCH_FREE: N_("No batch free (more points than batches)"),
}


def period_label(period: int, period_months: int) -> str:
    """Return a short column heading for a 1-based period: T1…T12 or Q1…Q4."""
    return _("Q%(n)d", n=period) if period_months == 3 else _("M%(n)d", n=period)


def readable(message: str, ctx: services.PlanContext) -> str:
    """Return a solver message with point and batch ids replaced by their codes."""
    message = re.sub(
        r"point (\d+)",
        lambda m: f"point {ctx.points[int(m[1])].code}" if int(m[1]) in ctx.points else m[0],
        message,
    )
    return re.sub(
        r"batch (\d+)",
        lambda m: f"batch {ctx.batches[int(m[1])].code}" if int(m[1]) in ctx.batches else m[0],
        message,
    )


# --- forms ---------------------------------------------------------------------------------------


class NewPlanForm(FlaskForm):
    """Year, periods and the settings of a new plan."""

    year = IntegerField(_l("Year"), validators=[DataRequired(), NumberRange(2000, 2100)])
    period = SelectField(
        _l("Periods"), choices=[SelectChoice("month", _l("Months")), SelectChoice("quarter", _l("Quarters"))]
    )
    name = StringField(_l("Name"), validators=[Optional()])
    stay_periods = IntegerField(_l("Stay (periods)"), validators=[Optional(), NumberRange(1, 6)])
    no_repeat_batch_within = IntegerField(
        _l("No repeat within (periods)"), validators=[Optional(), NumberRange(0, 24)]
    )
    avoid_repeat_titles = BooleanField(_l("Avoid titles a point has had recently"))
    group_by_district = BooleanField(_l("Group deliveries by district"), default=True)
    school_closed = StringField(_l("School holiday months"), default="6, 7, 8")


class CellForm(FlaskForm):
    """One cell of the grid: point, period, batch (empty to clear) and pin."""

    point_id = SelectField(_l("Rotation point"), coerce=int)
    period = SelectField(_l("Period"), coerce=int)
    batch_id = SelectField(_l("Batch"), coerce=str)
    is_pinned = BooleanField(_l("Pinned"), default=True)


class ApproveForm(FlaskForm):
    """Approve a plan, accepting its conflicts if any."""

    accept_conflicts = BooleanField(_l("Approve despite the conflicts"))


class UsageForm(FlaskForm):
    """A point's month: visitors, item uses, readers' requests."""

    site_id = SelectField(_l("Rotation point"), coerce=int)
    month = MonthField(_l("Month"), validators=[DataRequired()])
    visitors = IntegerField(_l("Visitors"), validators=[Optional(), NumberRange(min=0)], default=0)
    item_uses = IntegerField(_l("Item uses"), validators=[Optional(), NumberRange(min=0)], default=0)
    reader_requests = IntegerField(
        _l("Readers' requests"), validators=[Optional(), NumberRange(min=0)], default=0
    )
    notes = StringField(_l("Notes"), validators=[Optional()])


def _settings_from(form: NewPlanForm) -> dict:
    months = [int(m) for m in re.findall(r"\d+", form.school_closed.data or "")]
    return {
        "stay_periods": form.stay_periods.data,
        "no_repeat_batch_within": form.no_repeat_batch_within.data,
        "avoid_repeat_titles": form.avoid_repeat_titles.data,
        "group_by_district": form.group_by_district.data,
        "school_closed_months": months,
    }


# --- plans ---------------------------------------------------------------------------------------


@bp.route("/plans", methods=["GET", "POST"])
@staff_required
def plans():
    """The list of plans and the form that makes a new one."""
    form = NewPlanForm()
    if request.method == "GET" and form.year.data is None:
        form.year.data = local_today().year + 1
    can_plan = current_user.has_role(*PLANNERS)
    if request.method == "POST":
        if not can_plan:
            abort(403)
        if form.validate_on_submit():
            try:
                with transaction(db.session):
                    result = services.solve_plan(
                        db.session,
                        year=form.year.data,
                        period_months=3 if form.period.data == "quarter" else 1,
                        settings=_settings_from(form),
                        actor_id=current_user.id,
                        name=form.name.data or "",
                    )
                    plan_id = result.plan_row.id
            except DomainError as err:
                flash_error(err, form)
            else:
                flash(_("The plan was made: %(n)d cells.", n=len(result.plan.cells())), "success")
                return redirect(url_for("rotation.plan", plan_id=plan_id))
    return render_template(
        "rotation/plans.html", plans=services.list_plans(db.session), form=form, can_plan=can_plan
    )


def _plan_or_404(plan_id: int):
    try:
        return services.get_plan(db.session, plan_id)
    except DomainError:
        abort(404)


def _grid_view(plan, review: services.PlanReview, district: str | None) -> dict:
    """Everything the grid template needs, computed once."""
    ctx = review.context
    periods = list(range(1, 12 // plan.period_months + 1))
    cells = {(c.point_id, c.period + 1): c for c in review.cells}
    flags: dict[tuple[int, int], list[str]] = defaultdict(list)
    listed = []
    for v in review.violations:
        text = _(CONSTRAINT_LABELS.get(v.constraint, str(v.constraint)))
        detail = readable(v.message, ctx)
        listed.append((v, text, detail))
        if v.point_id is not None and v.period is not None:
            flags[(v.point_id, v.period)].append(f"{text}: {detail}")
    empty = {(u.point_id, u.period): _(REASON_LABELS[u.reason]) for u in review.unassigned}
    by_district: dict[str, list[Site]] = defaultdict(list)
    for point in ctx.inputs.points:
        by_district[ctx.district_of[point.id]].append(ctx.points[point.id])
    districts = sorted(by_district)
    shown = [d for d in districts if not district or d == district]
    return {
        "ctx": ctx,
        "periods": periods,
        "cells": cells,
        "flags": flags,
        "listed": listed,
        "empty": empty,
        "districts": districts,
        "groups": [(d, by_district[d]) for d in shown],
        "district": district,
        "served": len(cells),
        "trips": len(review.trips),
    }


def _cell_form(plan, review: services.PlanReview) -> CellForm:
    ctx = review.context
    form = CellForm()
    form.point_id.choices = [SelectChoice(p.id, ctx.point_label(p.id)) for p in ctx.inputs.points]
    form.period.choices = [
        (p, period_label(p, plan.period_months)) for p in range(1, 12 // plan.period_months + 1)
    ]
    form.batch_id.choices = [SelectChoice("", _("(empty)"))] + [
        SelectChoice(str(b.id), f"{ctx.batch_label(b.id)} ({b.size})") for b in ctx.inputs.batches
    ]
    return form


@bp.route("/plans/<int:plan_id>")
@staff_required
def plan(plan_id: int):
    """The plan grid: points by district × periods, conflicts flagged, the cell editor."""
    row = _plan_or_404(plan_id)
    review = services.review_plan(db.session, row)
    form = _cell_form(row, review)
    point = int_arg("point")
    period = int_arg("period")
    if point:
        form.point_id.data = point
        cell = next((c for c in review.cells if c.point_id == point and c.period + 1 == period), None)
        form.batch_id.data = str(cell.batch_id) if cell else ""
    if period:
        form.period.data = period
    return render_template(
        "rotation/plan.html",
        plan=row,
        form=form,
        approve_form=ApproveForm(),
        can_plan=current_user.has_role(*PLANNERS) and row.status == PlanStatus.DRAFT.value,
        period_label=period_label,
        **_grid_view(row, review, request.args.get("district") or None),
    )


@bp.route("/plans/<int:plan_id>/cell", methods=["POST"])
@roles_required(*PLANNERS)
def plan_cell(plan_id: int):
    """Set or clear one cell; the change is saved and any conflict it makes is flagged."""
    row = _plan_or_404(plan_id)
    review = services.review_plan(db.session, row)
    form = _cell_form(row, review)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for("rotation.plan", plan_id=plan_id))
    batch_id = int(form.batch_id.data) if form.batch_id.data else None
    try:
        with transaction(db.session):
            violations = services.edit_cell(
                db.session,
                row,
                point_id=form.point_id.data,
                period=form.period.data,
                batch_id=batch_id,
                pinned=form.is_pinned.data,
                actor_id=current_user.id,
            )
    except DomainError as err:
        flash(error_text(err), "error")
    else:
        mine = [v for v in violations if v.point_id == form.point_id.data]
        if mine:
            flash(
                _(
                    "Saved, with %(n)d conflict(s) at this point: %(what)s",
                    n=len(mine),
                    what="; ".join(_(CONSTRAINT_LABELS[v.constraint]) for v in mine),
                ),
                "warning",
            )
        else:
            flash(_("Saved."), "success")
    return redirect(
        url_for("rotation.plan", plan_id=plan_id, point=form.point_id.data, period=form.period.data)
    )


@bp.route("/plans/<int:plan_id>/solve", methods=["POST"])
@roles_required(*PLANNERS)
def plan_solve(plan_id: int):
    """Solve the plan again, keeping the pinned cells."""
    row = _plan_or_404(plan_id)
    form = ApproveForm()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.resolve_plan(db.session, row, actor_id=current_user.id)
        except DomainError as err:
            flash(error_text(err), "error")
        else:
            flash(_("The plan was solved again; pinned cells were kept."), "success")
    return redirect(url_for("rotation.plan", plan_id=plan_id))


@bp.route("/plans/<int:plan_id>/approve", methods=["POST"])
@roles_required(*PLANNERS)
def plan_approve(plan_id: int):
    """Approve the plan (with its conflicts only when the box is ticked)."""
    row = _plan_or_404(plan_id)
    form = ApproveForm()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.approve_plan(
                    db.session, row, actor_id=current_user.id, accept_conflicts=form.accept_conflicts.data
                )
        except DomainError as err:
            flash(error_text(err), "error")
        else:
            flash(_("The plan is approved."), "success")
    return redirect(url_for("rotation.plan", plan_id=plan_id))


# --- point usage ---------------------------------------------------------------------------------


def _is_operator() -> bool:
    return current_user.role == Role.POINT_OPERATOR


@bp.route("/usage", methods=["GET", "POST"])
@any_user
def usage_page():
    """Enter a point's monthly usage; staff also see every point's months with totals by district."""
    operator = _is_operator()
    own = sorted(current_user.sites, key=lambda s: s.code) if operator else None
    if operator:
        choices = [SelectChoice(s.id, f"{s.code} {s.name}") for s in own if s.kind in POINT_KINDS]
    else:
        points = db.session.scalars(
            select(Site)
            .where(Site.kind.in_([k.value for k in POINT_KINDS]))
            .order_by(Site.sort_key, Site.code)
        )
        choices = [SelectChoice(s.id, f"{s.code} {s.name}") for s in points]
    form = UsageForm()
    form.site_id.choices = choices
    year = int_arg("year", high=MAX_YEAR) or local_today().year
    if request.method == "GET" and not form.month.data:
        form.month.data = local_today().replace(day=1)
    if request.method == "POST":
        site_id = request.form.get("site_id", type=int)
        if operator and site_id not in current_user.site_ids:
            abort(403)
        if not operator and not current_user.has_role(Role.ROTATION):
            abort(403)  # viewers, cataloguers and acquisitions staff may read the figures, not write them
        if form.validate_on_submit():
            try:
                with transaction(db.session):
                    usage.record_usage(
                        db.session,
                        form.site_id.data,
                        form.month.data,
                        form.visitors.data or 0,
                        form.item_uses.data or 0,
                        form.reader_requests.data or 0,
                        actor_id=current_user.id,
                        actor_site_ids=current_user.site_ids if operator else None,
                        notes=form.notes.data or "",
                        today=local_today(),
                    )
            except PermissionDenied:
                abort(403)
            except DomainError as err:
                flash_error(err, form)
            else:
                flash(_("Usage saved."), "success")
                return redirect(url_for("rotation.usage_page", year=form.month.data.year))
    rows = usage.usage_rows(db.session, year, current_user.site_ids if operator else None)
    sites = {
        s.id: s
        for s in db.session.scalars(select(Site).where(Site.id.in_({r.site_id for r in rows} or {-1})))
    }
    return render_template(
        "rotation/usage.html",
        form=form,
        year=year,
        rows=rows,
        sites=sites,
        by_point=usage.totals_by_point(rows),
        by_district={} if operator else usage.totals_by_district(db.session, rows),
        operator=operator,
        can_enter=operator or current_user.has_role(Role.ROTATION),
    )


# --- rotation statistics -------------------------------------------------------------------------

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sheet_title(text: str) -> str:
    """Return a valid worksheet title: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", text)[:31]


def xlsx_bytes(
    title: str, headers: list[tuple[str, int]], rows: list[list], number_formats: dict | None = None
):
    """Return an XLSX workbook of one sheet: a bold frozen header row, typed cells, set column widths.

    `headers` are (heading, width in characters); `number_formats` maps a 0-based column to a format.
    """
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = _sheet_title(title)
    sheet.append([h for h, _w in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, (_h, width) in enumerate(headers, 1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    for row in rows:
        # A text starting with "=" must stay text, not become a formula.
        sheet.append([f"'{v}" if isinstance(v, str) and v[:1] == "=" else v for v in row])
    for col, fmt in (number_formats or {}).items():
        for (cell,) in sheet.iter_rows(min_row=2, min_col=col + 1, max_col=col + 1):
            cell.number_format = fmt
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_response(data: bytes, filename: str) -> Response:
    return Response(
        data, mimetype=XLSX_MIMETYPE, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


def stats_xlsx(report: usage.StatsReport) -> bytes:
    """Return the rotation statistics as XLSX: one row per period and district, then the totals."""
    headers = [
        (_("Year"), 8),
        (_("Quarter") if report.period_months == 3 else _("Month"), 9),
        (_("District"), 30),
        (_("Trips"), 10),
        (_("Copies rotated"), 16),
        (_("Points served"), 15),
    ]
    rows: list[list] = [
        [
            report.year,
            r.period,
            r.district,
            r.trips,
            r.copies,
            r.points,
        ]
        for r in report.rows
    ]
    rows.append(
        [
            report.year,
            None,
            _("Total"),
            sum(r.trips for r in report.rows),
            sum(r.copies for r in report.rows),
            None,
        ]
    )
    rows.append([report.year, None, _("Shipments not confirmed"), report.unconfirmed, None, None])
    rows.append([report.year, None, _("Batches overdue"), report.overdue_batches, None, None])
    return xlsx_bytes(_("Rotation statistics %(year)d", year=report.year), headers, rows)


def usage_xlsx(year: int, site_ids) -> bytes:
    """Return a year's point usage as XLSX: one row per point and month, in the district of that month."""
    from rotation.services.plans import district_name

    rows_in = usage.usage_rows(db.session, year, site_ids)
    sites = {
        s.id: s
        for s in db.session.scalars(select(Site).where(Site.id.in_({r.site_id for r in rows_in} or {-1})))
    }
    headers = [
        (_("Code"), 12),
        (_("Rotation point"), 40),
        (_("District"), 24),
        (_("Month"), 10),
        (_("Visitors"), 10),
        (_("Item uses"), 12),
        (_("Readers' requests"), 18),
        (_("Notes"), 40),
    ]
    rows = [
        [
            sites[r.site_id].code,
            sites[r.site_id].name,
            district_name(db.session, sites[r.site_id], r.month),
            r.month,
            r.visitors,
            r.item_uses,
            r.reader_requests,
            r.notes,
        ]
        for r in rows_in
    ]
    return xlsx_bytes(_("Point usage %(year)d", year=year), headers, rows, {3: "mm/yyyy"})


@bp.route("/stats")
@staff_required
def stats():
    """Trips and copies rotated per period and district, points served, overdue counts; CSV or XLSX."""
    year = int_arg("year", high=MAX_YEAR) or local_today().year
    period_months = 3 if request.args.get("period") == "quarter" else 1
    report = usage.rotation_stats(db.session, year, period_months, today=local_today())
    if request.args.get("format") == "csv":
        return Response(
            usage.stats_csv(report),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="rotation-stats-{year}.csv"'},
        )
    if request.args.get("format") == "xlsx":
        return _xlsx_response(stats_xlsx(report), f"rotation-stats-{year}.xlsx")
    totals = {
        "trips": sum(r.trips for r in report.rows),
        "copies": sum(r.copies for r in report.rows),
    }
    return render_template(
        "rotation/usage_stats.html", report=report, totals=totals, period_label=period_label, year=year
    )


@bp.route("/usage.xlsx")
@any_user
def usage_xlsx_download():
    """A year's point usage as XLSX (a point operator gets only their own points)."""
    year = int_arg("year", high=MAX_YEAR) or local_today().year
    site_ids = current_user.site_ids if _is_operator() else None
    return _xlsx_response(usage_xlsx(year, site_ids), f"point-usage-{year}.xlsx")
