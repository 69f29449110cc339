"""Catalogue search pages: the staff search at /catalog/ and the public catalogue (OPAC) at /opac/."""

from __future__ import annotations

from flask import abort, render_template, request, url_for
from sqlalchemy import select
from werkzeug.routing import BuildError

from app.extensions import db, limiter
from app.network.models import LIBRARY_KINDS, Site
from app.security import public, staff_required
from app.web import Pagination, int_arg, page_arg
from catalog.models import ITEM_STATUS_LABELS, Item, ItemStatus, Record
from catalog.search import SearchQuery, Sort, search
from catalog.views import bp, opac_bp

# Readers may search often, but one address cannot hammer the database.
OPAC_RATE_LIMIT = "60/minute"
PER_PAGE = 20
# Languages offered in the filter (MARC codes); another code typed in the address still works.
LANGUAGES = ("vie", "eng", "fre", "rus", "chi", "jpn", "ger", "tha", "hmn", "tai", "lao", "khm")


def _int_arg(name: str) -> int | None:
    return int_arg(name, low=0, high=999_999_999)


def _query_from_args() -> SearchQuery:
    """Read the search box, filters, order and page from the query string."""
    return SearchQuery(
        q=request.args.get("q", "")[:300],
        year_from=_int_arg("year_from"),
        year_to=_int_arg("year_to"),
        language=request.args.get("language", "").strip()[:3] or None,
        classification=request.args.get("classification", "").strip()[:100] or None,
        library_id=_int_arg("library"),
        status=request.args.get("status") or None,
        sort=request.args.get("sort") or Sort.RELEVANCE.value,
        page=page_arg(),
        per_page=PER_PAGE,
    )


def _libraries() -> list[Site]:
    return list(
        db.session.scalars(
            select(Site).where(Site.kind.in_([k.value for k in LIBRARY_KINDS])).order_by(Site.sort_key)
        )
    )


def _run(template: str, endpoint: str):
    query = _query_from_args()
    searched = bool(query.q.strip()) or query.has_filters
    result = search(db.session, query) if searched else None
    pagination = Pagination(result.query.page, result.query.per_page, result.total) if result else None
    return render_template(
        template,
        query=result.query if result else query,
        result=result,
        searched=searched,
        pagination=pagination,
        endpoint=endpoint,
        libraries=_libraries(),
        languages=LANGUAGES,
        statuses=[(s.value, ITEM_STATUS_LABELS[s]) for s in ItemStatus],
        record_url=staff_record_url if endpoint == "catalog.search" else _opac_record_url,
    )


def _opac_record_url(record_id: int) -> str:
    return url_for("opac.record", record_id=record_id)


def staff_record_url(record_id: int) -> str:
    """Return the address of the staff record page (built by hand until that page exists)."""
    try:
        return url_for("catalog.record", record_id=record_id)
    except BuildError:
        return f"{url_for('catalog.search')}records/{record_id}"


@bp.get("/", endpoint="search")
@staff_required
def staff_search():
    """Search the catalogue: one box, filters, order and pages; each hit links to its record."""
    return _run("catalog/search.html", "catalog.search")


@opac_bp.get("/", endpoint="search")
@public
@limiter.limit(OPAC_RATE_LIMIT)
def opac_search():
    """The public catalogue: the same search for readers, no login."""
    return _run("opac/search.html", "opac.search")


@opac_bp.get("/records/<int:record_id>", endpoint="record")
@public
@limiter.limit(OPAC_RATE_LIMIT)
def opac_record(record_id: int):
    """A record for readers: its description and where its copies are (no staff-only data)."""
    record = db.session.get(Record, record_id)
    if record is None:
        abort(404)
    items = db.session.scalars(
        select(Item)
        .where(Item.record_id == record_id, Item.status != ItemStatus.WITHDRAWN.value)
        .order_by(Item.call_number, Item.accession_number)
    ).all()
    available = sum(1 for i in items if i.status == ItemStatus.AVAILABLE.value)
    return render_template(
        "opac/record.html",
        record=record,
        items=items,
        available=available,
        status_labels={s.value: label for s, label in ITEM_STATUS_LABELS.items()},
        subjects=[s for s in record.subjects.split("; ") if s],
        authors=[a for a in record.authors.split("; ") if a],
        series=[s for s in record.series.split("; ") if s],
    )
