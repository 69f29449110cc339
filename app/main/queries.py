"""Counts for the home page."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.network.models import LIBRARY_KINDS, POINT_KINDS, Site


def home_counts(session: Session) -> dict[str, int]:
    """Return the numbers shown on the home page."""
    rows = dict(
        session.execute(
            select(Site.kind, func.count()).where(Site.is_active.is_(True)).group_by(Site.kind)
        ).all()
    )
    return {
        "libraries": sum(n for k, n in rows.items() if k in LIBRARY_KINDS),
        "points": sum(n for k, n in rows.items() if k in POINT_KINDS),
        "users": session.scalar(select(func.count()).select_from(User).where(User.is_active.is_(True))) or 0,
    }
