"""The rotation panel of the home page: shipments to confirm, batches to chase."""

from __future__ import annotations

from typing import Any

from app.auth.models import Role
from app.timeutil import local_today
from rotation.shipment_queries import overdue, pending_for_sites


def home_panel(session: Any, user: Any) -> tuple[str, dict] | None:
    """Return the panel for this user: a point operator's arrivals, or staff's overdue list."""
    if user.role == Role.POINT_OPERATOR:
        return "rotation/_home_panel.html", {
            "pending": pending_for_sites(session, user.site_ids),
            "late": None,
        }
    return "rotation/_home_panel.html", {"pending": None, "late": overdue(session, local_today())}
