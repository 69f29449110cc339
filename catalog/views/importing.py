"""Catalogue pages: importing MARC files (upload, staging report, commit, progress).

An upload is streamed to a folder of its own under IMPORT_DIR (default: the instance folder's
`imports/`), named by a random token: `upload` (the file), `job.json` (the options, the status and
the reports), `progress` (records and bytes read so far) and `commit.lock`. No database table is
needed. Staging and committing run in a background thread with its own app context and database
session (set IMPORT_INLINE to run them inside the request instead, as the tests do); the job page
shows the progress and reloads itself every two seconds (a Refresh header: no script). A commit
starts only if it can create `commit.lock` (O_EXCL), so a second click, another tab or another
server process is refused instead of importing the file twice. The size of an upload is limited by
MAX_CONTENT_LENGTH (the 413 page says so); larger files go through `flask catalog import`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SelectChoice, SelectField

from app.auth.models import Role
from app.db import transaction, utcnow
from app.errors import DomainError
from app.extensions import db
from app.network.models import LIBRARY_KINDS, Site
from app.security import roles_required
from catalog import importing, marc
from catalog.models import AccessionSequence
from catalog.views import bp

log = logging.getLogger(__name__)

CATALOGUERS = (Role.ADMIN, Role.CATALOGUER)
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{20,40}")
SHOWN = 200  # rows per table on the report page
KEEP_SECONDS = 7 * 24 * 3600  # finished or abandoned jobs older than this are removed
WEB_DETAIL_LIMIT = 2000  # detail rows kept in a job's report (the counts stay exact)
RUNNING = ("staging", "committing")


def _int_or_none(value: Any) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


class ImportForm(FlaskForm):
    """Upload a MARC file and choose how to import it."""

    file = FileField(_l("MARC file"), validators=[FileRequired(_l("Choose a file."))])
    format = SelectField(_l("Format"), default="auto")
    encoding = SelectField(_l("Character encoding"), default="auto")
    on_duplicate = SelectField(_l("Records already in the catalogue"), default="skip")
    library_id = SelectField(_l("Library of the copies"), coerce=_int_or_none, validate_choice=False)
    sequence_id = SelectField(
        _l("Accession numbers for copies without one"), coerce=_int_or_none, validate_choice=False
    )


FORMAT_LABELS = {
    "auto": _l("Recognise it"),
    "iso2709": _l("ISO 2709 (.mrc, .dat, .iso)"),
    "marcxml": _l("MARCXML"),
    "marcjson": _l("MARC-in-JSON"),
}
ENCODING_LABELS = {
    "auto": _l("Recognise it (leader/09; TCVN3 and VNI detected)"),
    "utf-8": "UTF-8",
    "marc-8": "MARC-8",
    "tcvn3": _l("TCVN3 (ABC)"),
    "vni": _l("VNI"),
}
DUPLICATE_LABELS = {
    "skip": _l("Skip them (keep the catalogue's record)"),
    "merge": _l("Merge: add the fields the catalogue's record lacks"),
    "replace": _l("Replace the catalogue's record with the file's"),
    "add": _l("Add them as new records anyway"),
}
ACTION_LABELS = {
    "skipped": _l("skipped"),
    "added": _l("added as a new record"),
    "replaced": _l("replaces it"),
    "merged": _l("merged into it"),
    "unchanged": _l("nothing to change"),
}


def _fill_choices(form: ImportForm) -> None:
    form.format.choices = [SelectChoice(v, str(FORMAT_LABELS[v])) for v in marc.FORMATS]
    form.encoding.choices = [SelectChoice(v, str(ENCODING_LABELS[v])) for v in marc.ENCODINGS]
    form.on_duplicate.choices = [SelectChoice(v, str(DUPLICATE_LABELS[v])) for v in importing.ON_DUPLICATE]
    libraries = db.session.execute(
        select(Site.id, Site.code, Site.name)
        .where(Site.kind.in_([k.value for k in LIBRARY_KINDS]), Site.is_active.is_(True))
        .order_by(Site.sort_key)
    ).all()
    form.library_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(i, f"{c} — {n}") for i, c, n in libraries
    ]
    sequences = db.session.execute(
        select(AccessionSequence.id, AccessionSequence.prefix, AccessionSequence.description)
        .where(AccessionSequence.is_active.is_(True))
        .order_by(AccessionSequence.prefix)
    ).all()
    form.sequence_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(i, f"{p} — {d}" if d else p) for i, p, d in sequences
    ]


# --- the job folder ------------------------------------------------------------------------------


def _root() -> Path:
    configured = current_app.config.get("IMPORT_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "imports"


def _folder(token: str) -> Path:
    if not TOKEN_RE.fullmatch(token or ""):
        abort(404)
    folder = _root() / token
    if not (folder / "job.json").is_file():
        abort(404)
    return folder


def _load(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "job.json").read_text(encoding="utf-8"))


def _save(folder: Path, job: dict[str, Any]) -> None:
    """Write job.json atomically (a reader never sees half a file)."""
    partial = folder / "job.json.part"
    partial.write_text(json.dumps(job, ensure_ascii=False), encoding="utf-8")
    partial.replace(folder / "job.json")


def _progress_of(folder: Path) -> tuple[int, int, int]:
    try:
        records, done, size = (folder / "progress").read_text().split()
        return int(records), int(done), int(size)
    except (OSError, ValueError):
        return 0, 0, 0


def _prune(root: Path) -> None:
    """Remove job folders untouched for a week (their uploads too)."""
    cutoff = time.time() - KEEP_SECONDS
    try:
        folders = list(root.iterdir())
    except OSError:
        return
    for folder in folders:
        try:
            if folder.is_dir() and TOKEN_RE.fullmatch(folder.name) and folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _recent_jobs(root: Path, limit: int = 20) -> list[dict[str, Any]]:
    jobs = []
    try:
        folders = sorted(
            (f for f in root.iterdir() if (f / "job.json").is_file()),
            key=lambda f: f.stat().st_mtime,
            reverse=True,
        )
    except OSError:
        return []
    for folder in folders[:limit]:
        try:
            jobs.append(_load(folder))
        except (OSError, ValueError):
            continue
    return jobs


# --- the work (a background thread, or inline) ----------------------------------------------------


def _run_job(app: Any, folder: Path, action: str) -> None:
    """Stage or commit the job in `folder`, with its own app context and database session."""
    with app.app_context():
        job = _load(folder)
        options = {
            "format": job["format"],
            "encoding": job["encoding"],
            "on_duplicate": job["on_duplicate"],
            "library_id": job.get("library_id"),
            "sequence_id": job.get("sequence_id"),
            "filename": job["filename"],
            "detail_limit": WEB_DETAIL_LIMIT,
            "parallel": False,  # never fork from a web server's thread
        }
        progress_file = folder / "progress"

        def progress(records: int, done: int, size: int) -> None:
            progress_file.write_text(f"{records} {done} {size}")

        session = Session(db.engine)
        try:
            if action == "stage":
                report = importing.stage(session, folder / "upload", progress=progress, **options)
                session.rollback()
                job.update(status="staged", stage_report=report.to_dict())
            else:
                with transaction(session):
                    report = importing.commit(
                        session,
                        folder / "upload",
                        actor_id=job.get("created_by"),
                        import_id=job["token"],
                        progress=progress,
                        **options,
                    )
                job.update(status="done", result=report.to_dict(), finished_at=utcnow().isoformat())
                (folder / "upload").unlink(missing_ok=True)
        except marc.MarcFileError as exc:
            job.update(status="failed", error=str(exc), error_kind="file")
        except DomainError as exc:
            job.update(status="failed", error=exc.message, error_params=exc.params, error_kind="domain")
        except Exception:
            log.exception("import %s failed", job.get("token"))
            job.update(status="failed", error="", error_kind="internal")
        finally:
            session.close()
        if job["status"] == "failed" and action == "commit":
            (folder / "commit.lock").unlink(missing_ok=True)  # nothing was imported: it may be tried again
            job["status"] = "staged" if job.get("stage_report") else "failed"
            job["commit_error"] = {k: job.get(k) for k in ("error", "error_params", "error_kind")}
        if action == "stage" and _load(folder).get("status") == "cancelled":
            return  # cancelled while it was being read
        _save(folder, job)


def _start(folder: Path, action: str) -> None:
    app = current_app._get_current_object()
    if app.config.get("IMPORT_INLINE"):
        _run_job(app, folder, action)
        return
    thread = threading.Thread(
        target=_run_job, args=(app, folder, action), name=f"import-{folder.name}", daemon=True
    )
    thread.start()


def _error_message(error: dict[str, Any]) -> str:
    kind = error.get("error_kind")
    if kind == "file":
        return _("The file cannot be read: %(reason)s", reason=error.get("error", ""))
    if kind == "domain":
        message = error.get("error") or ""  # an English msgid from the domain (DomainError.message)
        return _(message, **(error.get("error_params") or {})) if message else ""
    return _("The import failed because of an internal error; it has been logged. Nothing was imported.")


# --- routes ---------------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*CATALOGUERS)
def import_start():
    """Upload a MARC file; it is staged (read, checked, matched) before anything is saved."""
    form = ImportForm()
    _fill_choices(form)
    root = _root()
    if form.validate_on_submit():
        root.mkdir(parents=True, exist_ok=True)
        _prune(root)
        token = secrets.token_urlsafe(18)
        folder = root / token
        folder.mkdir()
        upload = form.file.data
        upload.save(folder / "upload")  # copied in blocks: the file is never held in memory
        filename = os.path.basename(upload.filename or "upload")[:200] or "upload"
        job = {
            "token": token,
            "filename": filename,
            "size": (folder / "upload").stat().st_size,
            "format": form.format.data,
            "encoding": form.encoding.data,
            "on_duplicate": form.on_duplicate.data,
            "library_id": form.library_id.data,
            "sequence_id": form.sequence_id.data,
            "created_by": current_user.id,
            "created_by_name": current_user.username,
            "created_at": utcnow().isoformat(),
            "status": "staging",
        }
        _save(folder, job)
        _start(folder, "stage")
        return redirect(url_for("catalog.import_job", token=token))
    return render_template("catalog/import.html", form=form, jobs=_recent_jobs(root))


def _reason_text(rejection: importing.Rejection) -> str:
    """A rejected record's reason in the user's language."""
    return rejection.text(_)


@bp.get("/import/<token>")
@roles_required(*CATALOGUERS)
def import_job(token: str):
    """Show an import: its progress, its staging report with Commit and Cancel, or its result."""
    folder = _folder(token)
    job = _load(folder)
    records, done, size = _progress_of(folder)
    error = _error_message(job) if job["status"] == "failed" else None
    commit_error = _error_message(job["commit_error"]) if job.get("commit_error") else None
    html = render_template(
        "catalog/import_job.html",
        job=job,
        report=importing.ImportReport.from_dict(job["result"] if job.get("result") else job["stage_report"])
        if job.get("result") or job.get("stage_report")
        else None,
        progress={"records": records, "done": done, "size": size or job.get("size") or 0},
        error=error,
        commit_error=commit_error,
        key_labels=importing.KEY_LABELS,
        reason_text=_reason_text,
        action_labels=ACTION_LABELS,
        format_labels=FORMAT_LABELS,
        duplicate_labels=DUPLICATE_LABELS,
        shown=SHOWN,
    )
    response = current_app.make_response(html)
    if job["status"] in RUNNING:
        response.headers["Refresh"] = "2"
    return response


@bp.post("/import/<token>/commit")
@roles_required(*CATALOGUERS)
def import_commit(token: str):
    """Commit a staged import, once: a second request for the same import is refused."""
    folder = _folder(token)
    job = _load(folder)
    if job["status"] != "staged":
        flash(_("This import cannot be committed now (it is %(status)s).", status=job["status"]), "error")
        return redirect(url_for("catalog.import_job", token=token))
    try:
        fd = os.open(folder / "commit.lock", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        flash(
            _("This import has already been committed, or is being committed. It is not imported twice."),
            "error",
        )
        return redirect(url_for("catalog.import_job", token=token))
    os.close(fd)
    job.update(status="committing", committed_by=current_user.id, commit_error=None)
    _save(folder, job)
    _start(folder, "commit")
    return redirect(url_for("catalog.import_job", token=token))


@bp.post("/import/<token>/cancel")
@roles_required(*CATALOGUERS)
def import_cancel(token: str):
    """Drop a staged import and its uploaded file."""
    folder = _folder(token)
    job = _load(folder)
    if job["status"] in ("committing", "done") or (folder / "commit.lock").exists():
        flash(_("This import has been committed; it cannot be cancelled."), "error")
        return redirect(url_for("catalog.import_job", token=token))
    (folder / "upload").unlink(missing_ok=True)
    job["status"] = "cancelled"
    _save(folder, job)
    flash(_("The import was cancelled; nothing was saved."), "info")
    return redirect(url_for("catalog.import_start"))
