"""`flask catalog export` (the catalogue or a search result as ISO 2709, MARCXML, MARC-in-JSON) and
`flask catalog backfill-iso2709` (fill the ISO 2709 cache of records stored before it existed)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from app.db import transaction
from app.extensions import db
from catalog import exporting
from catalog.cli import catalog_cli
from catalog.exporting import EXPORT_FORMATS, ExportReport


@catalog_cli.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), required=True, help="The file format to write."
)
@click.option("--query", "-q", default=None, help="Export only the records this search finds.")
@click.option("--with-items", is_flag=True, help="Add one Koha-style 952 field per copy.")
@click.option(
    "--output", "-o", required=True, metavar="PATH|-", help="The file to write, or - for standard output."
)
@click.option("--chunk-size", default=exporting.CHUNK_SIZE, show_default=True, hidden=True, type=int)
def export_command(fmt: str, query: str | None, with_items: bool, output: str, chunk_size: int) -> None:
    """Export records (all, or those a search finds) to a file or to standard output, streamed."""
    report = ExportReport(fmt)
    ids = None
    if query is not None:
        if not query.strip():
            raise click.UsageError("--query is empty")
        ids = exporting.search_ids(query, report)
    pieces = exporting.export(
        db.session, fmt, ids=ids, with_items=with_items, chunk_size=chunk_size, report=report
    )
    try:
        if output == "-":
            with click.open_file("-", "wb") as stream:
                for piece in pieces:
                    stream.write(piece)
                stream.flush()
        else:
            _write_file(Path(output), pieces)
    finally:
        db.session.rollback()
    click.echo(report.summary(), err=True)


def _write_file(path: Path, pieces) -> None:
    """Write to PATH.part and rename it to PATH when complete, so no half-written file is left."""
    partial = path.with_name(path.name + ".part")
    try:
        handle = open(partial, "wb")  # noqa: SIM115 - closed below, removed on failure
    except OSError as exc:
        raise click.ClickException(f"cannot write to {path}: {exc.strerror or exc}") from None
    try:
        with handle:
            for piece in pieces:
                handle.write(piece)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise click.ClickException(f"cannot write to {path}: {exc.strerror or exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@catalog_cli.command("backfill-iso2709")
@click.option(
    "--batch-size",
    default=exporting.BACKFILL_BATCH,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Records filled and committed at a time.",
)
def backfill_iso2709_command(batch_size: int) -> None:
    """Fill the cached ISO 2709 bytes of records stored before the cache existed (safe to re-run)."""
    todo = exporting.iso2709_missing(db.session)
    db.session.rollback()
    click.echo(f"{todo} records without cached ISO 2709 bytes", err=True)
    filled = done = 0
    skipped: list[int] = []
    last_id = 0
    while True:
        with transaction(db.session):  # one commit per batch: an interruption keeps the batches done
            batch = exporting.backfill_iso2709(db.session, after_id=last_id, batch_size=batch_size)
        if batch.last_id is None:
            break
        last_id = batch.last_id
        filled += batch.filled
        skipped += batch.skipped
        done = filled + len(skipped)
        click.echo(f"  {done}/{todo} records checked, {filled} filled (up to record {last_id})", err=True)
    if skipped:
        shown = ", ".join(str(i) for i in skipped[:20]) + (", …" if len(skipped) > 20 else "")
        click.echo(f"{len(skipped)} records cannot be written as ISO 2709 (too long): {shown}", err=True)
    click.echo(f"filled {filled} records", err=True)
