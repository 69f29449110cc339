"""Pages for the library network: sites and administrative units."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.security import staff_required

bp = Blueprint("network", __name__)


@bp.get("/sites")
@staff_required
def sites():
    """List sites."""
    return render_template("network/sites.html")
