"""Creating and changing sites and administrative units; every change goes to the audit log."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.errors import N_, Conflict, NotFound, ValidationError
from app.network.models import AdminUnit, Site, SiteKind, SiteUnitPeriod, UnitLevel
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
            N_("%(field)s is longer than %(n)d characters."), field=name, n=limit, **{"field": name}
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
