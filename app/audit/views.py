"""The audit log page for administrators, with filters."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request
from sqlalchemy import select

from app.audit import queries
from app.auth.models import Role, User
from app.extensions import db
from app.security import roles_required
from app.web import Pagination, int_arg, page_arg

bp = Blueprint("audit", __name__)


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/")
@roles_required(Role.ADMIN)
def events():
    """Browse audit events, newest first, filtered by actor, object, action and dates."""
    flt = queries.AuditFilter(
        actor_id=int_arg("actor"),
        object_type=request.args.get("object_type") or None,
        object_id=request.args.get("object_id") or None,
        action=request.args.get("action") or None,
        date_from=_date_arg("from"),
        date_to=_date_arg("to"),
    )
    page = page_arg()
    rows, total = queries.list_events(db.session, flt, page=page, per_page=50)
    return render_template(
        "audit/events.html",
        events=rows,
        flt=flt,
        pagination=Pagination(page, 50, total),
        users=db.session.scalars(select(User).order_by(User.username)).all(),
        object_types=queries.object_types(db.session),
        actions=queries.actions(db.session),
    )
