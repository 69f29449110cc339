"""Rotation pages: the rotation points (list with filters) and each point's history.

Staff see every point; a point operator sees only their own points (others answer 403).
"""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user

from app.auth.models import Role
from app.extensions import db
from app.network.models import POINT_KINDS, Site, SiteKind
from app.security import any_user
from rotation import shipment_queries as q
from rotation.views import bp
from rotation.views.shipments import labels as shipment_labels


def _own_site_ids() -> set[int] | None:
    """Return the operator's points, or None for staff (every point)."""
    return set(current_user.site_ids) if current_user.role == Role.POINT_OPERATOR else None


def _is_staff() -> bool:
    return current_user.role != Role.POINT_OPERATOR


@bp.route("/points")
@any_user
def points():
    """The rotation points: district, kind, capacity, person in charge, batch held, last receipt."""
    own = _own_site_ids()
    district = request.args.get("district", "").strip()[:200]
    kind = request.args.get("kind", "")
    if kind not in {k.value for k in POINT_KINDS}:
        kind = ""
    text = request.args.get("q", "").strip()[:100]
    rows = q.list_points(db.session, district=district or None, kind=kind or None, q=text, site_ids=own)
    kinds = sorted(POINT_KINDS, key=lambda k: list(SiteKind).index(k))
    return render_template(
        "rotation/points.html",
        rows=rows,
        districts=q.point_districts(db.session, own),
        kinds=kinds,
        district=district,
        kind=kind,
        q=text,
        is_staff=_is_staff(),
    )


@bp.route("/points/<int:site_id>")
@any_user
def point(site_id: int):
    """A point's full history: every batch received, by whom, what came back, usage and titles had."""
    site = db.session.get(Site, site_id)
    if site is None or site.kind not in POINT_KINDS:
        abort(404)
    own = _own_site_ids()
    if own is not None and site_id not in own:
        abort(403)
    visits = q.point_visits(db.session, site_id)
    titles = q.point_titles(db.session, site_id)
    usage_rows = q.point_usage(db.session, site_id)
    (row,) = q.list_points(db.session, site_ids=[site_id]) or (None,)
    return render_template(
        "rotation/point.html",
        site=site,
        row=row,
        district=q.current_district(site),
        visits=visits,
        titles=titles,
        repeated=sum(1 for t in titles if t.times > 1),
        usage_rows=usage_rows,
        usage_totals={
            "visitors": sum(r.visitors for r in usage_rows),
            "item_uses": sum(r.item_uses for r in usage_rows),
            "reader_requests": sum(r.reader_requests for r in usage_rows),
        },
        is_staff=_is_staff(),
        **shipment_labels(),
    )
