"""`flask catalog import`: import MARC files (ISO 2709, MARCXML, MARC-in-JSON) into the catalogue.

Each PATH is its own all-or-nothing import (its own transaction): a file that cannot be read, or a
failure halfway through it, leaves nothing of that file in the catalogue, and the files before it
stay imported. Without --dry-run a file is read once: the staging report and the result come from
the same pass. Exit status: 0 when the import ran (even with rejected records), 1 when a file
cannot be read (a one-line message per file on stderr; the other files are still imported), 2 on a
usage error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy import func, select

from app.db import transaction
from app.extensions import db
from app.network.models import LIBRARY_KINDS, Site
from catalog import marc
from catalog.cli import catalog_cli
from catalog.importing import KEY_LABELS, ON_DUPLICATE, ImportReport, commit, stage
from catalog.models import AccessionSequence

FORMAT_NAMES = {"iso2709": "ISO 2709", "marcxml": "MARCXML", "marcjson": "MARC-in-JSON", "auto": "auto"}
SHOWN = 50  # detail lines per section in the human report; --json lists them all
TOTALS = (
    "read",
    "new",
    "created",
    "updated",
    "unchanged",
    "skipped",
    "duplicates",
    "rejected",
    "not_bibliographic",
    "items_found",
    "items_created",
    "items_skipped",
    "numbers_allocated",
)


def _library_id(code: str | None) -> int | None:
    if not code:
        return None
    kinds = [k.value for k in LIBRARY_KINDS]
    site_id = db.session.scalar(
        select(Site.id).where(func.upper(Site.code) == code.strip().upper(), Site.kind.in_(kinds))
    )
    if site_id is None:
        raise click.BadParameter(f"no library has the code {code!r}", param_hint="--library")
    return site_id


def _sequence_id(prefix: str | None) -> int | None:
    if not prefix:
        return None
    sequence_id = db.session.scalar(
        select(AccessionSequence.id).where(AccessionSequence.prefix == prefix.strip().upper())
    )
    if sequence_id is None:
        raise click.BadParameter(
            f"no accession-number series has the prefix {prefix!r}", param_hint="--sequence"
        )
    return sequence_id


def _where(record: int, offset: int | None) -> str:
    return f"record {record}" + (f" (byte {offset:,})" if offset is not None else "")


def _section(title: str, lines: list[str], total: int) -> None:
    if not total:
        return
    click.echo(f"  {title}:")
    for line in lines[:SHOWN]:
        click.echo(f"    {line}")
    if total > min(len(lines), SHOWN):
        click.echo(f"    … and {total - min(len(lines), SHOWN):,} more (--json lists up to {len(lines):,})")


def _print_report(path: str, report: ImportReport, dry_run: bool) -> None:
    """Print the staging report and the result of one file."""
    encodings = ", ".join(f"{name} {count:,}" for name, count in sorted(report.encodings.items()))
    click.echo(
        f"{path}: {FORMAT_NAMES.get(report.format, report.format)}, {report.read:,} records read"
        + (f" ({encodings})" if encodings else "")
    )
    click.echo(
        f"  {report.new:,} new, {report.duplicates:,} duplicates, {report.rejected:,} rejected, "
        f"{report.not_bibliographic:,} not bibliographic; {report.items_found:,} copies described"
    )
    _section(
        "rejected",
        [f"{_where(r.record, r.offset)}: {r.reason}" for r in report.rejections],
        report.rejected,
    )
    duplicates = []
    for d in report.duplicate_records:
        if d.record_id:
            target = f"record #{d.record_id}" + (f" {d.matched_title!r}" if d.matched_title else "")
        else:
            target = f"record {d.file_record} of this file"
        if d.match_kind == "content":
            how = f"is identical to {target}"
        else:
            how = f"matches {target} on {KEY_LABELS.get(d.match_kind, d.match_kind)} {d.match_value}"
        duplicates.append(f"{_where(d.record, d.offset)} {d.title!r} {how}: {d.action}")
    _section("duplicates", duplicates, report.duplicates)
    _section(
        "not bibliographic (not imported)",
        [f"{_where(o.record, o.offset)}: {o.kind} record" for o in report.other_records],
        report.not_bibliographic,
    )
    _section(
        "warnings",
        [f"{_where(n.record, n.offset)}: {n.message}" for n in report.warnings],
        len(report.warnings),
    )
    result = (
        f"{report.created:,} created, {report.updated:,} updated, {report.unchanged:,} unchanged, "
        f"{report.skipped:,} skipped; copies: {report.items_created:,} created"
        + (f", {report.items_skipped:,} left out" if report.items_skipped else "")
    )
    click.echo(
        f"  dry run, nothing was saved; records would be: {result}" if dry_run else f"  records: {result}"
    )


def _file_json(path: str, report: ImportReport, dry_run: bool) -> dict[str, Any]:
    data = report.to_dict()
    for rejection in data["rejections"]:
        del rejection["parts"]  # the reason, in English, is enough here
    data["file"] = path
    data["dry_run"] = dry_run
    return data


def _progress(path: str, size: int) -> tuple[Callable[[int, int, int], None] | None, Any]:
    """Return a progress callback drawing a bar on stderr (when it is a terminal), and the bar."""
    if not sys.stderr.isatty() or size <= 0:
        return None, None
    bar = click.progressbar(length=size, label=path, file=sys.stderr, show_pos=False, show_percent=True)
    bar.__enter__()
    state = {"done": 0}

    def update(_records: int, bytes_read: int, _size: int) -> None:
        step = min(bytes_read, size) - state["done"]
        if step > 0:
            bar.update(step)
            state["done"] += step

    return update, bar


@catalog_cli.command("import")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--format",
    "format_",
    type=click.Choice(marc.FORMATS),
    default="auto",
    show_default=True,
    help="File format.",
)
@click.option(
    "--encoding",
    type=click.Choice(marc.ENCODINGS),
    default="auto",
    show_default=True,
    help="Character encoding; auto follows leader/09 and detects TCVN3/VNI in records that claim UTF-8.",
)
@click.option(
    "--on-duplicate",
    type=click.Choice(ON_DUPLICATE),
    default="skip",
    show_default=True,
    help="What to do with a record that matches one in the catalogue.",
)
@click.option("--dry-run", is_flag=True, help="Read, check and match the files; save nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the report.")
@click.option("--library", "library_code", metavar="CODE", help="Library for copies that name none (952 $a).")
@click.option(
    "--sequence",
    "sequence_prefix",
    metavar="PREFIX",
    help="Accession-number series for copies without a number.",
)
def import_records(
    paths: tuple[str, ...],
    format_: str,
    encoding: str,
    on_duplicate: str,
    dry_run: bool,
    as_json: bool,
    library_code: str | None,
    sequence_prefix: str | None,
) -> None:
    """Import MARC21 records from ISO 2709 (.mrc), MARCXML or MARC-in-JSON files."""
    library_id = _library_id(library_code)
    sequence_id = _sequence_id(sequence_prefix)
    files: list[dict[str, Any]] = []
    failed = 0
    for path in paths:
        options: dict[str, Any] = {
            "format": format_,
            "encoding": encoding,
            "on_duplicate": on_duplicate,
            "library_id": library_id,
            "sequence_id": sequence_id,
        }
        try:
            size = _size(path)
            progress, bar = _progress(path, size)
            try:
                if dry_run:
                    report = stage(db.session, path, progress=progress, **options)
                    db.session.rollback()
                else:
                    with transaction(db.session):
                        report = commit(db.session, path, actor_id=None, progress=progress, **options)
            finally:
                if bar is not None:
                    bar.__exit__(None, None, None)
        except marc.MarcFileError as exc:
            failed += 1
            click.echo(f"Error: {path}: {exc}", err=True)
            files.append({"file": path, "error": str(exc), "dry_run": dry_run})
            continue
        files.append(_file_json(path, report, dry_run))
        if not as_json:
            _print_report(path, report, dry_run)
    if as_json:
        done = [f for f in files if "error" not in f]
        totals: dict[str, Any] = {name: sum(f[name] for f in done) for name in TOTALS}
        totals["rejections"] = [
            {"file": f["file"], "record": r["record"], "offset": r["offset"], "reason": r["reason"]}
            for f in done
            for r in f["rejections"]
        ]
        totals["dry_run"] = dry_run
        totals["files"] = files
        click.echo(json.dumps(totals, ensure_ascii=False))
    if failed:
        sys.exit(1)


def _size(path: str) -> int:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            return fh.tell()
    except OSError:
        return 0
