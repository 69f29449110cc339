"""Pages for the library network: sites, administrative units, CSV import and export."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from wtforms import SelectChoice

from app.auth.models import Role
from app.db import transaction
from app.errors import DomainError
from app.extensions import db
from app.labels_i18n import site_kind_label, unit_level_label
from app.network import queries, services
from app.network.csvio import DELIMITERS, ENCODING_NAMES
from app.network.forms import ImportForm, SiteForm
from app.network.models import AdminUnit, Site, SiteKind, UnitLevel
from app.security import roles_required, staff_required
from app.timeutil import local_today
from app.web import Pagination, error_text, flash_error, int_arg, page_arg

bp = Blueprint("network", __name__)

PER_PAGE = 50
MAX_IMPORT_BYTES = 5 * 1024 * 1024
ACTIVE_CHOICES = {"yes": True, "no": False, "all": None}


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _site_or_404(site_id: int) -> Site:
    site = db.session.get(Site, site_id)
    if site is None:
        abort(404)
    return site


# --- sites: list and view ---


@bp.get("/sites")
@staff_required
def sites():
    """List sites with filters, a diacritic-insensitive search and pages, in Vietnamese order."""
    kind = request.args.get("kind") or None
    group = request.args.get("group") or None
    active_arg = request.args.get("active", "yes")
    if active_arg not in ACTIVE_CHOICES:
        active_arg = "yes"
    flt = queries.SiteFilter(
        q=request.args.get("q", "").strip()[:100],
        kind=kind if kind in set(SiteKind) else None,
        group=group if group in {"libraries", "points"} else None,
        district_id=int_arg("district"),
        active=ACTIVE_CHOICES[active_arg],
        on=_date_arg("on"),
    )
    page = page_arg()
    rows, total = queries.list_sites(db.session, flt, page=page, per_page=PER_PAGE)
    return render_template(
        "network/sites.html",
        sites=rows,
        flt=flt,
        active_arg=active_arg,
        kinds=list(SiteKind),
        districts=queries.districts(db.session, flt.on),
        pagination=Pagination(page, PER_PAGE, total),
        can_edit=current_user.has_role(Role.ADMIN, Role.ROTATION),
    )


@bp.get("/sites/<int:site_id>")
@staff_required
def site(site_id: int):
    """Show a site: its fields, its administrative-unit history, who serves it and whom it serves."""
    site = _site_or_404(site_id)
    reform = queries.REFORM_DATE
    return render_template(
        "network/site.html",
        site=site,
        history=queries.unit_history(db.session, site.id),
        unit_before=services.unit_on(db.session, site, reform - timedelta(days=1)),
        unit_after=services.unit_on(db.session, site, reform),
        reform=reform,
        today=local_today(),
        served=queries.sites_served_by(db.session, site.id) if site.is_library else [],
        can_edit=current_user.has_role(Role.ADMIN, Role.ROTATION),
    )


# --- sites: create and edit ---


def _unit_label(unit: AdminUnit) -> str:
    parent = f" ({unit.parent.name})" if unit.parent and unit.parent.level != UnitLevel.PROVINCE else ""
    until = unit.valid_to.strftime("%d/%m/%Y") if unit.valid_to else ""
    return f"{unit.name}{parent} · {unit.code} · {unit.valid_from.strftime('%d/%m/%Y')}–{until}"


def _fill_choices(form: SiteForm, site: Site | None) -> None:
    form.kind.choices = [SelectChoice(k.value, site_kind_label(k.value)) for k in SiteKind]
    form.admin_unit_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(unit.id), _unit_label(unit), optgroup=unit_level_label(unit.level))
        for unit in queries.list_units(db.session)
    ]
    form.served_by_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(lib.id), f"{lib.code} — {lib.name}")
        for lib in queries.libraries(db.session)
        if site is None or lib.id != site.id
    ]


def _values(form: SiteForm) -> dict:
    return {
        "code": form.code.data,
        "name": form.name.data,
        "kind": form.kind.data,
        "admin_unit_id": form.admin_unit_id.data,
        "served_by_id": form.served_by_id.data,
        "address": form.address.data or "",
        "contact_person": form.contact_person.data or "",
        "phone": form.phone.data or "",
        "capacity": form.capacity.data,
        "is_active": form.is_active.data,
        "notes": form.notes.data or "",
    }


def _code_taken(form: SiteForm) -> None:
    code = (form.code.data or "").strip().upper()
    form.code.errors.append(_("A site with code %(code)s already exists.", code=code))


@bp.route("/sites/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.ROTATION)
def site_new():
    """Create a site; a second submit of the same form is refused by the unique code."""
    form = SiteForm()
    _fill_choices(form, None)
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                site = services.create_site(db.session, _values(form), actor_id=current_user.id)
        except DomainError as err:
            flash_error(err, form)
        except IntegrityError:
            _code_taken(form)  # a concurrent submit won the race for the code
        else:
            flash(_("Site %(code)s created.", code=site.code), "success")
            return redirect(url_for("network.site", site_id=site.id))
    return render_template("network/site_form.html", form=form, site=None)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.ROTATION)
def site_edit(site_id: int):
    """Edit a site; a new administrative unit applies from the date the user gives."""
    site = _site_or_404(site_id)
    form = SiteForm(obj=site) if request.method == "GET" else SiteForm()
    _fill_choices(form, site)
    if request.method == "GET":
        form.unit_since.data = local_today()
    if form.validate_on_submit():
        try:
            with transaction(db.session):
                services.update_site(
                    db.session,
                    site,
                    _values(form),
                    actor_id=current_user.id,
                    unit_since=form.unit_since.data or local_today(),
                )
        except DomainError as err:
            flash_error(err, form)
        except IntegrityError:
            _code_taken(form)
        else:
            flash(_("Site %(code)s saved.", code=site.code), "success")
            return redirect(url_for("network.site", site_id=site.id))
    return render_template("network/site_form.html", form=form, site=site)


# --- administrative units ---


@bp.get("/units")
@staff_required
def units():
    """List administrative units in force on a date (today by default), or all of them."""
    show_all = request.args.get("all") == "1"
    on = _date_arg("on") or local_today()
    level = request.args.get("level") or None
    if level not in set(UnitLevel):
        level = None
    rows = queries.list_units(db.session, on=None if show_all else on, level=level)
    return render_template(
        "network/units.html", units=rows, on=on, show_all=show_all, level=level, levels=list(UnitLevel)
    )


# --- CSV ---


@bp.route("/sites/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.ROTATION)
def sites_import():
    """Upload a CSV of sites, show the report, and import only when no row is bad or the user skips them."""
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        data = form.file.data.read(MAX_IMPORT_BYTES + 1)
        if len(data) > MAX_IMPORT_BYTES:
            form.file.errors.append(_("The file is larger than %(mb)d MB.", mb=MAX_IMPORT_BYTES // 2**20))
        else:
            try:
                with transaction(db.session):
                    report = services.import_sites(
                        db.session,
                        data,
                        mode=form.mode.data,
                        skip_bad=form.skip_bad.data,
                        actor_id=current_user.id,
                        unit_since=form.unit_since.data or local_today(),
                    )
                    if form.check_only.data:
                        report.dry_run = True
                        db.session.rollback()  # a check: show the report, keep nothing
            except services.ImportAborted as err:
                report = None
                flash(f"{error_text(err)} {error_text(err.cause)}", "error")
            except DomainError as err:
                form.file.errors.append(error_text(err))
            except IntegrityError:
                flash(_("Another change to the same sites happened at the same time. Try again."), "error")
    return render_template(
        "network/import.html",
        form=form,
        report=report,
        error_text=error_text,
        encoding_names=ENCODING_NAMES,
        delimiter_names={",": _("comma"), ";": _("semicolon"), "\t": _("tab")},
    )


@bp.get("/sites/export.csv")
@staff_required
def sites_export():
    """Download every site as CSV (UTF-8 with BOM, so Excel shows Vietnamese correctly)."""
    sep = DELIMITERS.get(request.args.get("sep", "comma"), ",")
    text = services.export_sites_csv(db.session, delimiter=sep)
    filename = f"sites-{local_today().isoformat()}.csv"
    return Response(
        ("\ufeff" + text).encode("utf-8"),
        mimetype="text/csv",
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f"attachment; filename={filename}",
        },
    )
