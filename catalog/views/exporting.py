"""Catalogue pages: export the catalogue or a search result as a streamed download, or one record."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from flask import Response, abort, current_app, render_template, request, stream_with_context
from flask_babel import gettext as _

from app.errors import DomainError
from app.extensions import db
from app.security import staff_required
from app.timeutil import local_today
from app.web import error_text
from catalog import exporting
from catalog.errors import NotFound
from catalog.exporting import EXPORT_FORMATS, ExportReport
from catalog.views import bp

# /records/<id>/export.<fmt> takes a file extension or a format name.
_FORMAT_OF = {"mrc": "iso2709", "xml": "marcxml", "json": "marcjson", **{f: f for f in EXPORT_FORMATS}}
_TRUE = {"1", "on", "y", "yes", "true"}
# The staff search page's filters (its query-string names), carried to the export of its result.
FILTER_ARGS = ("year_from", "year_to", "language", "classification", "library", "status", "sort")


def _search_filters() -> dict[str, object]:
    """Read the search filters from the query string, as the search page does."""

    def number(name: str) -> int | None:
        value = request.args.get(name, "").strip()
        return int(value) if value.isdigit() and len(value) <= 9 else None

    filters: dict[str, object] = {
        "year_from": number("year_from"),
        "year_to": number("year_to"),
        "language": request.args.get("language", "").strip()[:3] or None,
        "classification": request.args.get("classification", "").strip()[:100] or None,
        "library_id": number("library"),
        "status": request.args.get("status") or None,
    }
    if request.args.get("sort"):
        filters["sort"] = request.args["sort"]
    return filters


def _download(body, fmt: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=exporting.media_type(fmt),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/export")
@staff_required
def export_page():
    """The export form; with a format chosen, the export itself, streamed as a download."""
    fmt = request.args.get("format", "")
    scope = request.args.get("scope", "all")
    query = request.args.get("q", "").strip()
    with_items = request.args.get("with_items", "").lower() in _TRUE
    errors: list[str] = []
    if fmt:
        if fmt not in EXPORT_FORMATS:
            errors.append(_("Choose one of the formats offered."))
        if scope not in ("all", "search"):
            errors.append(_("Choose what to export."))
        elif scope == "search" and not query and not _has_filters():
            errors.append(_("Type the search whose records you want to export."))
    if not fmt or errors:
        return _page(fmt, scope, query, with_items, errors)
    report = ExportReport(fmt)
    ids = exporting.search_ids(query, report, **_search_filters()) if scope == "search" else None
    pieces = exporting.export(db.session, fmt, ids=ids, with_items=with_items, report=report)
    try:
        # The first piece runs the search and reads the first chunk: a problem there is still shown
        # as a page; after it the download has begun.
        first = next(pieces, b"")
    except DomainError as err:
        db.session.rollback()
        return _page(fmt, scope, query, with_items, [error_text(err)])
    body = stream_with_context(_logged(itertools.chain([first], pieces), report))
    return _download(body, fmt, exporting.filename_for(fmt, local_today()))


def _has_filters() -> bool:
    return any(request.args.get(name, "").strip() for name in FILTER_ARGS if name != "sort")


def _page(fmt: str, scope: str, query: str, with_items: bool, errors: list[str]):
    """The export form, keeping the search filters it was opened with."""
    filters = {name: request.args[name] for name in FILTER_ARGS if request.args.get(name)}
    return render_template(
        "catalog/export.html",
        formats=EXPORT_FORMATS,
        fmt=fmt or "marcxml",
        scope=scope,
        query=query,
        with_items=with_items,
        filters=filters,
        errors=errors,
    ), (400 if errors else 200)


def _logged(pieces: Iterator[bytes], report: ExportReport) -> Iterator[bytes]:
    """Pass the pieces on, then log what was written and skipped (the download has started by then)."""
    try:
        yield from pieces
    except DomainError as err:
        # The response has begun; the best we can do is end it and log why.
        current_app.logger.error("export stopped: %s", error_text(err))
        return
    finally:
        db.session.rollback()
    log = current_app.logger.warning if report.skipped_count else current_app.logger.info
    log("export: %s", report.summary())


@bp.get("/records/<int:record_id>/export.<fmt>")
@staff_required
def export_record(record_id: int, fmt: str):
    """Download one record (export.mrc, export.xml or export.json; ?with_items=1 adds its copies)."""
    name = _FORMAT_OF.get(fmt)
    if name is None:
        abort(404)
    with_items = request.args.get("with_items", "").lower() in _TRUE
    try:
        data = exporting.export_record(db.session, record_id, name, with_items=with_items)
    except DomainError as err:
        if isinstance(err, NotFound):
            abort(404)
        return Response(error_text(err), status=422, mimetype="text/plain")
    finally:
        db.session.rollback()
    return _download(data, name, exporting.filename_for(name, local_today(), record_id=record_id))
