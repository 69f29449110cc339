"""Home page with counts, the language switch and /healthz."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template, request, session
from flask_login import current_user
from sqlalchemy import text

from app.extensions import db
from app.main import queries
from app.security import any_user, public, redirect_next

bp = Blueprint("main", __name__)

# Panels that other packages add to the home page (the factory registers them, so the foundation
# imports neither package). Each takes the database session and the user and returns
# (template name, context) or None.
HOME_PANELS: list[Callable[[Any, Any], tuple[str, dict] | None]] = []


@bp.get("/")
@any_user
def index():
    """Home page: what the network holds, and what needs attention."""
    counts = queries.home_counts(db.session)
    user = current_user._get_current_object()
    panels = [panel for panel in (provider(db.session, user) for provider in HOME_PANELS) if panel]
    return render_template("main/index.html", counts=counts, panels=panels)


@bp.get("/lang/<code>")
@public
def set_language(code: str):
    """Switch the interface language and go back where the user was."""
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        if current_user.is_authenticated and current_user.locale != code:
            current_user.locale = code
            db.session.commit()
    return redirect_next(request.args.get("next"))


@bp.get("/healthz")
@public
def healthz():
    """Monitoring: 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
