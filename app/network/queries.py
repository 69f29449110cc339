"""Reading the network: filtered site lists, units in force on a date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from app.network.models import LIBRARY_KINDS, POINT_KINDS, AdminUnit, Site, UnitLevel
from app.text import fold


@dataclass
class SiteFilter:
    """What the user asked to see in the site list."""

    q: str = ""
    kind: str | None = None
    group: str | None = None  # "libraries" or "points"
    district_id: int | None = None
    active: bool | None = True


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
        unit = aliased(AdminUnit)
        stmt = stmt.join(unit, Site.admin_unit_id == unit.id).where(
            or_(unit.id == flt.district_id, unit.parent_id == flt.district_id)
        )
    if flt.active is not None:
        stmt = stmt.where(Site.is_active.is_(flt.active))
    return stmt


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
