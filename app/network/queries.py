"""Reading the network: filtered site lists, units in force on a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.network.models import LIBRARY_KINDS, POINT_KINDS, AdminUnit, Site, SiteUnitPeriod, UnitLevel
from app.text import fold

# Since this day Sơn La has no district level: 75 communes replaced 12 districts and 204 communes.
REFORM_DATE = date(2025, 7, 1)


@dataclass
class SiteFilter:
    """What the user asked to see in the site list."""

    q: str = ""
    kind: str | None = None
    group: str | None = None  # "libraries" or "points"
    district_id: int | None = None
    active: bool | None = True
    on: date | None = None  # with district_id: the day on which the site lay in that district


def _filtered(flt: SiteFilter) -> Select:
    stmt = select(Site)
    if flt.q:
        needle = fold(flt.q).strip()
        # Prefix match on the folded name or code uses their indexes; a contains-match on a few
        # hundred sites is cheap, and the catalogue (not this list) is where full-text search lives.
        stmt = stmt.where(
            or_(
                Site.name_folded.contains(needle, autoescape=True),
                Site.code.startswith(flt.q.strip().upper(), autoescape=True),
            )
        )
    if flt.kind:
        stmt = stmt.where(Site.kind == flt.kind)
    if flt.group == "libraries":
        stmt = stmt.where(Site.kind.in_([k.value for k in LIBRARY_KINDS]))
    elif flt.group == "points":
        stmt = stmt.where(Site.kind.in_([k.value for k in POINT_KINDS]))
    if flt.district_id:
        stmt = stmt.where(_in_district(flt.district_id, flt.on))
    if flt.active is not None:
        stmt = stmt.where(Site.is_active.is_(flt.active))
    return stmt


def _in_district(district_id: int, on: date | None):
    """A condition: the site lay in the district on `on` (at any time when `on` is None).

    Sites keep their unit history across reforms, so the district is looked up in that history.
    """
    unit = aliased(AdminUnit)
    period = aliased(SiteUnitPeriod)
    in_unit = or_(unit.id == district_id, unit.parent_id == district_id)
    conditions = [period.site_id == Site.id, in_unit]
    if on is not None:
        conditions += [period.valid_from <= on, or_(period.valid_to.is_(None), period.valid_to >= on)]
    in_history = exists(select(period.id).join(unit, period.admin_unit_id == unit.id).where(*conditions))
    if on is not None:
        return in_history
    current = aliased(AdminUnit)
    now_in = exists(
        select(current.id).where(
            current.id == Site.admin_unit_id,
            or_(current.id == district_id, current.parent_id == district_id),
        )
    )
    return or_(in_history, now_in)


def list_sites(
    session: Session, flt: SiteFilter, *, page: int = 1, per_page: int = 50
) -> tuple[list[Site], int]:
    """Return one page of sites in Vietnamese name order, and the total count."""
    stmt = _filtered(flt)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(Site.sort_key, Site.code).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def all_sites(session: Session) -> list[Site]:
    """Return every site, by code."""
    return list(session.scalars(select(Site).order_by(Site.code)))


def libraries(session: Session) -> list[Site]:
    """Return the libraries (sites that can serve points), in name order."""
    return list(
        session.scalars(
            select(Site).where(Site.kind.in_([k.value for k in LIBRARY_KINDS])).order_by(Site.sort_key)
        )
    )


def units_in_force(session: Session, day: date, level: UnitLevel | str | None = None) -> list[AdminUnit]:
    """Return the administrative units valid on `day`, optionally of one level, by name."""
    stmt = select(AdminUnit).where(
        AdminUnit.valid_from <= day, or_(AdminUnit.valid_to.is_(None), AdminUnit.valid_to >= day)
    )
    if level:
        stmt = stmt.where(AdminUnit.level == UnitLevel(level).value)
    units = list(session.scalars(stmt))
    from app.text import sort_key

    return sorted(units, key=lambda u: sort_key(u.name))


def all_units(session: Session) -> list[AdminUnit]:
    """Return every administrative unit, by code."""
    return list(session.scalars(select(AdminUnit).order_by(AdminUnit.code)))


_LEVEL_ORDER = {UnitLevel.PROVINCE.value: 0, UnitLevel.DISTRICT.value: 1, UnitLevel.COMMUNE.value: 2}


def list_units(
    session: Session, *, on: date | None = None, level: UnitLevel | str | None = None
) -> list[AdminUnit]:
    """Return units in force on `on` (every unit when None), by level then Vietnamese name order."""
    from app.text import sort_key

    stmt = select(AdminUnit)
    if on is not None:
        stmt = stmt.where(
            AdminUnit.valid_from <= on, or_(AdminUnit.valid_to.is_(None), AdminUnit.valid_to >= on)
        )
    if level:
        stmt = stmt.where(AdminUnit.level == UnitLevel(level).value)
    units = list(session.scalars(stmt).unique())
    return sorted(units, key=lambda u: (_LEVEL_ORDER.get(u.level, 9), sort_key(u.name), u.valid_from))


def districts(session: Session, on: date | None = None) -> list[AdminUnit]:
    """Return the districts in force on `on` (every district, past and present, when None)."""
    return list_units(session, on=on, level=UnitLevel.DISTRICT)


def sites_served_by(session: Session, library_id: int) -> list[Site]:
    """Return the sites a library serves, in Vietnamese name order."""
    return list(
        session.scalars(
            select(Site).where(Site.served_by_id == library_id).order_by(Site.sort_key, Site.code)
        ).unique()
    )


def unit_history(session: Session, site_id: int) -> list[SiteUnitPeriod]:
    """Return a site's administrative-unit periods, oldest first."""
    return list(
        session.scalars(
            select(SiteUnitPeriod)
            .where(SiteUnitPeriod.site_id == site_id)
            .order_by(SiteUnitPeriod.valid_from)
        ).unique()
    )
