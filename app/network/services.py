"""Creating and changing sites and administrative units; every change goes to the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.errors import N_, Conflict, DomainError, NotFound, ValidationError
from app.network.csvio import (
    CsvRow,
    ParsedCsv,
    parse_bool,
    parse_kind,
    read_sites_csv,
    site_to_row,
    write_sites_csv,
)
from app.network.models import LIBRARY_KINDS, AdminUnit, Site, SiteKind, SiteUnitPeriod, UnitLevel
from app.text import fold, nfc, sort_key_str

SITE_FIELDS = (
    "code",
    "name",
    "kind",
    "admin_unit_id",
    "served_by_id",
    "address",
    "contact_person",
    "phone",
    "capacity",
    "is_active",
    "notes",
)
MAX_LENGTHS = {
    "code": 32,
    "name": 200,
    "address": 300,
    "contact_person": 200,
    "phone": 40,
    "notes": 5000,
}
CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _clean_code(code: Any) -> str:
    value = nfc(str(code or "")).strip().upper()
    if not value:
        raise ValidationError(N_("The code is required."), field="code")
    if len(value) > MAX_LENGTHS["code"]:
        raise ValidationError(N_("The code is longer than %(n)d characters."), field="code", n=32)
    if not set(value) <= CODE_CHARS:
        raise ValidationError(
            N_("A code may contain only letters A-Z, digits, dash, dot and underscore."),
            field="code",
        )
    return value


def _clean_text(name: str, value: Any, *, required: bool = False) -> str:
    text = nfc(str(value or "")).strip()
    if required and not text:
        raise ValidationError(N_("This field is required."), field=name)
    limit = MAX_LENGTHS.get(name)
    if limit and len(text) > limit:
        raise ValidationError(
            N_("%(column)s is longer than %(n)d characters."), field=name, n=limit, column=name
        )
    return text


def _clean_kind(value: Any) -> str:
    try:
        return SiteKind(str(value)).value
    except ValueError:
        raise ValidationError(N_("Unknown site kind: %(kind)s"), field="kind", kind=str(value)) from None


def _clean_capacity(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(N_("The capacity must be a whole number."), field="capacity") from None
    if number < 0 or number > 10_000_000:
        raise ValidationError(N_("The capacity must be between 0 and 10,000,000."), field="capacity")
    return number


def _state(site: Site) -> dict[str, Any]:
    return audit.snapshot(site, SITE_FIELDS)


def _apply(session: Session, site: Site, values: dict[str, Any]) -> None:
    if "code" in values:
        code = _clean_code(values["code"])
        clash = session.scalar(select(Site.id).where(Site.code == code, Site.id != (site.id or -1)))
        if clash:
            raise Conflict(N_("A site with code %(code)s already exists."), field="code", code=code)
        site.code = code
    if "name" in values:
        site.name = _clean_text("name", values["name"], required=True)
        site.name_folded = fold(site.name)
        site.sort_key = sort_key_str(site.name)[:800]
    if "kind" in values:
        site.kind = _clean_kind(values["kind"])
    if "admin_unit_id" in values:
        unit_id = values["admin_unit_id"] or None
        if unit_id is not None and session.get(AdminUnit, unit_id) is None:
            raise ValidationError(N_("Unknown administrative unit."), field="admin_unit_id")
        site.admin_unit_id = unit_id
    if "served_by_id" in values:
        served = values["served_by_id"] or None
        if served is not None:
            library = session.get(Site, served)
            if library is None or not library.is_library:
                raise ValidationError(N_("The serving site must be a library."), field="served_by_id")
            if site.id is not None and served == site.id:
                raise ValidationError(N_("A site cannot serve itself."), field="served_by_id")
        site.served_by_id = served
    for name in ("address", "contact_person", "phone", "notes"):
        if name in values:
            setattr(site, name, _clean_text(name, values[name]))
    if "capacity" in values:
        site.capacity = _clean_capacity(values["capacity"])
    if "is_active" in values:
        site.is_active = bool(values["is_active"])
    if "is_demo" in values:
        site.is_demo = bool(values["is_demo"])


def create_site(
    session: Session, values: dict[str, Any], *, actor_id: int | None, since: date | None = None
) -> Site:
    """Stage a new site from plain values; raise ValidationError or Conflict on bad input."""
    for required in ("code", "name", "kind"):
        if not values.get(required):
            raise ValidationError(N_("This field is required."), field=required)
    site = Site(is_active=True, address="", contact_person="", phone="", notes="")
    _apply(session, site, values)
    session.add(site)
    session.flush()
    if site.admin_unit_id:
        unit = session.get(AdminUnit, site.admin_unit_id)
        start = since or (unit.valid_from if unit else date.today())
        session.add(SiteUnitPeriod(site_id=site.id, admin_unit_id=site.admin_unit_id, valid_from=start))
    audit.record(
        session,
        actor_id=actor_id,
        action="site.create",
        object_type="site",
        object_id=site.id,
        object_label=f"{site.code} {site.name}",
        changes={k: [None, v] for k, v in _state(site).items()},
    )
    session.flush()
    return site


def update_site(
    session: Session,
    site: Site,
    values: dict[str, Any],
    *,
    actor_id: int | None,
    unit_since: date | None = None,
) -> Site:
    """Change a site; a new administrative unit opens a new period in its history."""
    before = _state(site)
    old_unit = site.admin_unit_id
    _apply(session, site, values)
    if site.admin_unit_id != old_unit:
        move_site_to_unit(session, site, site.admin_unit_id, since=unit_since or date.today())
    changes = audit.diff(before, _state(site))
    if changes:
        audit.record(
            session,
            actor_id=actor_id,
            action="site.update",
            object_type="site",
            object_id=site.id,
            object_label=f"{site.code} {site.name}",
            changes=changes,
        )
    session.flush()
    return site


def move_site_to_unit(session: Session, site: Site, unit_id: int | None, *, since: date) -> None:
    """Close the site's current unit period the day before `since` and open a new one."""
    periods = list(
        session.scalars(
            select(SiteUnitPeriod)
            .where(SiteUnitPeriod.site_id == site.id)
            .order_by(SiteUnitPeriod.valid_from)
        )
    )
    for period in periods:
        if period.valid_to is None or period.valid_to >= since:
            if period.valid_from >= since:
                session.delete(period)
            else:
                period.valid_to = since - timedelta(days=1)
    site.admin_unit_id = unit_id
    if unit_id is not None:
        session.flush()
        session.add(SiteUnitPeriod(site_id=site.id, admin_unit_id=unit_id, valid_from=since))


def unit_on(session: Session, site: Site, day: date) -> AdminUnit | None:
    """Return the administrative unit the site belonged to on `day`."""
    return session.scalar(
        select(AdminUnit)
        .join(SiteUnitPeriod, SiteUnitPeriod.admin_unit_id == AdminUnit.id)
        .where(
            SiteUnitPeriod.site_id == site.id,
            SiteUnitPeriod.valid_from <= day,
            (SiteUnitPeriod.valid_to.is_(None)) | (SiteUnitPeriod.valid_to >= day),
        )
    )


def get_site(session: Session, site_id: int) -> Site:
    """Return a site by id or raise NotFound."""
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(N_("No such site."))
    return site


def get_site_by_code(session: Session, code: str) -> Site | None:
    """Return the site with this code (case-insensitive), or None."""
    return session.scalar(select(Site).where(Site.code == (code or "").strip().upper()))


def create_unit(
    session: Session,
    *,
    code: str,
    name: str,
    level: UnitLevel | str,
    valid_from: date,
    valid_to: date | None = None,
    parent: AdminUnit | None = None,
    actor_id: int | None = None,
    is_demo: bool = False,
) -> AdminUnit:
    """Stage a new administrative unit valid from `valid_from` (to `valid_to` if it has ended)."""
    code = _clean_code(code)
    if session.scalar(select(AdminUnit.id).where(AdminUnit.code == code)):
        raise Conflict(N_("An administrative unit with code %(code)s already exists."), code=code)
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError(N_("A unit cannot end before it starts."), field="valid_to")
    unit = AdminUnit(
        code=code,
        name=_clean_text("name", name, required=True),
        name_folded=fold(name),
        level=UnitLevel(level).value,
        parent=parent,
        valid_from=valid_from,
        valid_to=valid_to,
        is_demo=is_demo,
    )
    session.add(unit)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="unit.create",
        object_type="admin_unit",
        object_id=unit.id,
        object_label=f"{unit.code} {unit.name}",
        changes={
            "name": [None, unit.name],
            "level": [None, unit.level],
            "valid_from": [None, valid_from],
            "valid_to": [None, valid_to],
        },
    )
    return unit


def get_unit_by_code(session: Session, code: str) -> AdminUnit | None:
    """Return the administrative unit with this code, or None."""
    return session.scalar(select(AdminUnit).where(AdminUnit.code == (code or "").strip().upper()))


# --- CSV import -------------------------------------------------------------------------------

IMPORT_MODES = ("upsert", "create")


class ImportAborted(DomainError):
    """A row passed the checks but the service refused it; the caller must roll everything back."""

    def __init__(self, line: int, cause: DomainError) -> None:
        super().__init__(N_("The import stopped at line %(line)d; nothing was imported."), line=line)
        self.line = line
        self.cause = cause


@dataclass
class ImportReport:
    """What an import found and did: rows read, bad rows with reasons, sites created and updated."""

    mode: str
    encoding: str = ""
    delimiter: str = ","
    rows: int = 0
    bad_rows: list[CsvRow] = field(default_factory=list)
    to_create: int = 0
    to_update: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    applied: bool = False
    dry_run: bool = False  # set by the edge when it rolls the import back after reporting

    @property
    def skipped(self) -> int:
        """Return how many rows were not imported (all of them when nothing was imported)."""
        return self.rows - self.created - self.updated - self.unchanged

    def summary(self) -> str:
        """Return the one-line English summary: created X, updated Y, skipped Z."""
        text = f"created {self.created}, updated {self.updated}, skipped {self.skipped}"
        return text + (f", unchanged {self.unchanged}" if self.unchanged else "")


@dataclass
class _Plan:
    row: CsvRow
    code: str
    values: dict[str, Any]
    served_by_code: str | None
    existing_id: int | None


def _check_row(
    row: CsvRow,
    *,
    unit_ids: dict[str, int],
) -> _Plan | None:
    """Turn a row into service values, appending every problem to `row.errors`."""
    if row.errors:
        return None  # a wrong field count shifts the values: further reasons would be noise
    values: dict[str, Any] = {}
    present = row.values
    code = ""
    if not present.get("code"):
        row.errors.append(ValidationError(N_("The code is required."), field="code"))
    else:
        try:
            code = _clean_code(present["code"])
        except ValidationError as err:
            row.errors.append(err)
    values["code"] = code
    name = present.get("name", "")
    if not name:
        row.errors.append(ValidationError(N_("The name is required."), field="name"))
    for column in ("name", "address", "contact_person", "phone", "notes"):
        if column in present:
            try:
                values[column] = _clean_text(column, present[column])
            except ValidationError as err:
                row.errors.append(err)
    raw_kind = present.get("kind", "")
    if not raw_kind:
        row.errors.append(ValidationError(N_("The kind is required."), field="kind"))
    else:
        kind = parse_kind(raw_kind)
        if kind is None:
            row.errors.append(ValidationError(N_("Unknown site kind: %(kind)s"), field="kind", kind=raw_kind))
        else:
            values["kind"] = kind.value
    if "admin_unit_code" in present:
        unit_code = present["admin_unit_code"].upper()
        if unit_code and unit_code not in unit_ids:
            row.errors.append(
                ValidationError(N_("Unknown administrative unit code: %(code)s"), code=unit_code)
            )
        values["admin_unit_id"] = unit_ids.get(unit_code)
    if "capacity" in present:
        try:
            values["capacity"] = _clean_capacity(present["capacity"].replace(" ", ""))
        except ValidationError as err:
            row.errors.append(err)
    if present.get("is_active"):
        active = parse_bool(present["is_active"])
        if active is None:
            row.errors.append(
                ValidationError(
                    N_("is_active must be 1/0, yes/no, true/false or có/không, not %(value)s."),
                    value=present["is_active"],
                )
            )
        values["is_active"] = active
    served_by_code = None
    if "served_by_code" in present:
        served_by_code = present["served_by_code"].upper() or None
        if served_by_code and served_by_code == code:
            row.errors.append(ValidationError(N_("A site cannot serve itself.")))
    return _Plan(row=row, code=code, values=values, served_by_code=served_by_code, existing_id=None)


def plan_site_import(session: Session, parsed: ParsedCsv, *, mode: str = "upsert") -> list[_Plan]:
    """Check every row against the file and the database; return the plans of the good rows.

    Bad rows get their reasons in `row.errors`; nothing is written.
    """
    if mode not in IMPORT_MODES:
        raise ValidationError(N_("Unknown import mode: %(mode)s"), mode=mode)
    unit_ids = {code: uid for code, uid in session.execute(select(AdminUnit.code, AdminUnit.id))}
    existing = {
        code: (sid, kind) for code, sid, kind in session.execute(select(Site.code, Site.id, Site.kind))
    }

    plans = [_check_row(row, unit_ids=unit_ids) for row in parsed.rows]
    first_line: dict[str, list[int]] = {}
    for plan in plans:
        if plan is not None and plan.code:
            first_line.setdefault(plan.code, []).append(plan.row.line)
    for plan in plans:
        if plan is None or not plan.code:
            continue
        lines = first_line[plan.code]
        if len(lines) > 1:
            others = ", ".join(str(n) for n in lines if n != plan.row.line)
            plan.row.errors.append(
                ValidationError(
                    N_("The code %(code)s appears more than once in the file (also on line %(lines)s)."),
                    code=plan.code,
                    lines=others,
                )
            )
        if plan.code in existing:
            if mode == "create":
                plan.row.errors.append(
                    Conflict(N_("A site with code %(code)s already exists."), code=plan.code)
                )
            plan.existing_id = existing[plan.code][0]

    # The serving library may be in the database or a good row of this file; a row that points to a
    # bad row becomes bad itself, which may in turn spoil others, so repeat until nothing changes.
    while True:
        good = [p for p in plans if p is not None and not p.row.is_bad]
        kinds = {code: kind for code, (_sid, kind) in existing.items()}
        kinds.update({p.code: p.values["kind"] for p in good})
        in_file = {row.code for row in parsed.rows}
        spoiled = False
        for plan in good:
            target = plan.served_by_code
            if not target:
                continue
            if target not in kinds:
                if target in in_file:
                    reason = N_("The serving library %(code)s is on a bad row of this file.")
                else:
                    reason = N_("Unknown served_by code: %(code)s")
            elif kinds[target] not in LIBRARY_KINDS:
                reason = N_("The serving site %(code)s is not a library.")
            else:
                continue
            plan.row.errors.append(ValidationError(reason, code=target))
            spoiled = True
        if not spoiled:
            return good


def _import_order(plans: list[_Plan]) -> list[_Plan]:
    """Order plans so that a serving library is written before the rows that name it."""
    pending = {p.code: p for p in plans}
    ordered: list[_Plan] = []
    while pending:
        ready = [p for p in pending.values() if p.served_by_code not in pending or p.served_by_code == p.code]
        if not ready:
            ready = [next(iter(pending.values()))]  # a ring of libraries serving each other
        for plan in ready:
            ordered.append(plan)
            pending.pop(plan.code)
    return ordered


def import_sites(
    session: Session,
    data: bytes,
    *,
    mode: str = "upsert",
    skip_bad: bool = False,
    actor_id: int | None = None,
    unit_since: date | None = None,
) -> ImportReport:
    """Read a sites CSV and stage its rows through create_site/update_site; return the report.

    Nothing is staged when a row is bad unless `skip_bad`. Raises CsvFileError when the file cannot be
    used, ImportAborted when a service refuses a row (the caller rolls back). The caller commits.
    """
    parsed = read_sites_csv(data)
    report = ImportReport(
        mode=mode, encoding=parsed.encoding, delimiter=parsed.delimiter, rows=len(parsed.rows)
    )
    plans = plan_site_import(session, parsed, mode=mode)
    report.bad_rows = [row for row in parsed.rows if row.is_bad]
    report.to_create = sum(1 for p in plans if p.existing_id is None)
    report.to_update = len(plans) - report.to_create
    if report.bad_rows and not skip_bad:
        return report

    ids = dict(session.execute(select(Site.code, Site.id)).all())
    deferred: list[tuple[_Plan, Site]] = []
    for plan in _import_order(plans):
        values = dict(plan.values)
        target = plan.served_by_code
        defer = False
        if "served_by_code" in plan.row.values:
            if target is None or target in ids:
                values["served_by_id"] = ids.get(target) if target else None
            else:
                defer = True  # a ring of libraries: set once every member exists
        try:
            if plan.existing_id is None:
                if values.get("is_active") is None:
                    values["is_active"] = True
                site = create_site(session, values, actor_id=actor_id)
                report.created += 1
            else:
                site = get_site(session, plan.existing_id)
                if values.get("is_active") is None:
                    values.pop("is_active", None)  # an empty cell leaves the flag as it is
                before = _state(site)
                update_site(session, site, values, actor_id=actor_id, unit_since=unit_since)
                if _state(site) != before:
                    report.updated += 1
                else:
                    report.unchanged += 1
        except DomainError as err:
            raise ImportAborted(plan.row.line, err) from err
        ids[site.code] = site.id
        if defer:
            deferred.append((plan, site))
    for plan, site in deferred:
        try:
            update_site(session, site, {"served_by_id": ids[plan.served_by_code]}, actor_id=actor_id)
        except DomainError as err:
            raise ImportAborted(plan.row.line, err) from err
    report.applied = True
    session.flush()
    return report


def export_sites_csv(session: Session, *, delimiter: str = ",") -> str:
    """Return every site as CSV text (header row, one site per row, sorted by code)."""
    sites = session.scalars(select(Site).order_by(Site.code)).unique()
    return write_sites_csv((site_to_row(s) for s in sites), delimiter=delimiter)
