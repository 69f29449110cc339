"""`flask labels copies …`: copy and spine labels for accession numbers, as a PDF file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask_babel import force_locale, gettext

from app.extensions import db
from app.labels.cli import labels_cli
from app.labels.engine import RenderReport, render_pdf
from app.labels.models import LabelPrinter
from app.labels.presets import get_template
from app.labels.queries import printer_by_name
from catalog import labels as copy_labels_domain


def saved_printer(name: str | None) -> LabelPrinter | None:
    """The saved printer called `name` (None without a name); NotFound for an unknown name."""
    return printer_by_name(db.session, name) if name else None


def write_pdf(
    labels,
    output: str,
    *,
    template_name: str | None,
    default_template: str,
    start: int,
    printer: str | None,
    title: str,
) -> RenderReport:
    """Render labels to the PDF file `output` (written whole or not at all); return the engine's report.

    The template is `template_name`, else the printer's usual template, else `default_template`; the
    printer's calibration offset moves every label. The report keeps no placements (a summary).
    """
    saved = saved_printer(printer)
    name = template_name or (saved.default_template if saved is not None else "") or default_template
    template = get_template(name)
    offset = saved.offset if saved is not None else (0.0, 0.0)
    target = Path(output)
    folder = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=".labels-", suffix=".pdf", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            report = render_pdf(
                template, labels, out, start_position=start, offset=offset, title=title, report_pages=0
            )
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return report


@labels_cli.command("copies")
@click.option("--accession", "-a", "accessions", multiple=True, help="An accession number (repeatable).")
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A .txt file of accession numbers, or a .csv file with an accession number column.",
)
@click.option("--kind", type=click.Choice(copy_labels_domain.KINDS), default="copy", show_default=True)
@click.option("--code", type=click.Choice(copy_labels_domain.CODES), default="qr", show_default=True)
@click.option(
    "--template",
    "template_name",
    default=None,
    help="Label template (default: the printer's usual one, else a4-3x8; a4-5x13 for spines).",
)
@click.option(
    "--start", default=1, show_default=True, type=int, help="First free label on the sheet (1-based)."
)
@click.option("--printer", default=None, help="A saved printer whose calibration offset to apply.")
@click.option(
    "--on-unknown",
    type=click.Choice(copy_labels_domain.ON_UNKNOWN),
    default="skip",
    show_default=True,
    help="skip: list unknown numbers and print the others; refuse: print nothing.",
)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="The PDF file to write.")
def copies_command(
    accessions: tuple[str, ...],
    from_file: str | None,
    kind: str,
    code: str,
    template_name: str | None,
    start: int,
    printer: str | None,
    on_unknown: str,
    output: str,
) -> None:
    """Write copy labels (QR code or barcode) or spine labels for accession numbers to a PDF file."""
    if accessions and from_file:
        raise click.UsageError("--accession and --from-file cannot be used together")
    if not accessions and not from_file:
        raise click.UsageError("give --accession NUMBER (one or more) or --from-file FILE")
    if from_file:
        numbers = copy_labels_domain.parse_accession_file(Path(from_file).read_bytes(), from_file)
    else:
        numbers = [n for a in accessions for n in copy_labels_domain.parse_accessions(a)]
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):  # label texts in the app's language
        labels, unknown = copy_labels_domain.copy_labels(
            db.session,
            numbers,
            base_url=str(current_app.config["BASE_URL"]),
            kind=kind,
            code=code,
            on_unknown=on_unknown,
            gettext=gettext,
        )
    report = write_pdf(
        labels,
        output,
        template_name=template_name,
        default_template="a4-5x13" if kind == "spine" else "a4-3x8",
        start=start,
        printer=printer,
        title=f"{kind} labels",
    )
    if unknown:
        click.echo(f"not in the catalogue, skipped: {copy_labels_domain.unknown_text(unknown)}", err=True)
    click.echo(f"{kind} labels: {report.count}, pages: {report.pages}, file: {output}")
