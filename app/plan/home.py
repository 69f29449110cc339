"""The plan's panel of the home page: how the province's year is going (staff only)."""

from __future__ import annotations

from typing import Any

from app.auth.models import Role
from app.plan.progress import progress
from app.timeutil import local_today


def home_panel(session: Any, user: Any) -> tuple[str, dict] | None:
    """Return the province's progress this year for staff; None for point operators or without targets."""
    if user.role == Role.POINT_OPERATOR:
        return None
    result = progress(session, local_today().year, None)
    rows = [row for row in result.rows if row.target and row.available]
    if not rows:
        return None
    return "plan/_home_panel.html", {"year": result.year, "rows": rows}
