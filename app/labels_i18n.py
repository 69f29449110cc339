"""Translated display labels for the foundation's enumerations (web edge only)."""

from __future__ import annotations

from flask_babel import gettext

from app.auth.models import Role
from app.errors import N_
from app.network.models import SITE_KIND_LABELS, UNIT_LEVEL_LABELS, SiteKind, UnitLevel

ROLE_LABELS = {
    Role.ADMIN: N_("Administrator"),
    Role.CATALOGUER: N_("Cataloguer"),
    Role.ACQUISITIONS: N_("Acquisitions"),
    Role.ROTATION: N_("Rotation staff"),
    Role.POINT_OPERATOR: N_("Point operator"),
    Role.VIEWER: N_("Viewer (manager)"),
}


def role_label(role: str) -> str:
    """Return the translated name of a role."""
    try:
        return gettext(ROLE_LABELS[Role(role)])
    except ValueError:
        return role


def site_kind_label(kind: str) -> str:
    """Return the translated name of a site kind."""
    try:
        return gettext(SITE_KIND_LABELS[SiteKind(kind)])
    except ValueError:
        return kind


def unit_level_label(level: str) -> str:
    """Return the translated name of an administrative level."""
    try:
        return gettext(UNIT_LEVEL_LABELS[UnitLevel(level)])
    except ValueError:
        return level
