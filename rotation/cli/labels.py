"""`flask labels batch CODE …`: the box labels of a rotation batch as a PDF file."""

from __future__ import annotations

import click
from flask import current_app
from flask_babel import force_locale, gettext

from app.extensions import db
from app.labels.cli import labels_cli
from app.timeutil import local_today
from rotation import labels as batch_labels_domain


@labels_cli.command("batch")
@click.argument("code")
@click.option(
    "--template",
    "template_name",
    default=None,
    help="Label template name (default: the printer's usual one, else a4-3x8).",
)
@click.option(
    "--start", default=1, show_default=True, type=int, help="First free label on the sheet (1-based)."
)
@click.option("--printer", default=None, help="A saved printer whose calibration offset to apply.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="The PDF file to write.")
def batch_command(code: str, template_name: str | None, start: int, printer: str | None, output: str) -> None:
    """Write the box labels of batch CODE (one per box) to a PDF file."""
    from catalog.cli.labels import write_pdf

    info = batch_labels_domain.batch_label_info(
        db.session, code, base_url=str(current_app.config["BASE_URL"]), today=local_today()
    )
    # Labels are read at the points: their texts are in the app's default language (Vietnamese).
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        labels = batch_labels_domain.batch_labels(info, gettext=gettext)
    report = write_pdf(
        labels,
        output,
        template_name=template_name,
        default_template="a4-3x8",
        start=start,
        printer=printer,
        title=info.code,
    )
    where = info.destination.site_code if info.destination else "destination not set"
    click.echo(f"batch {info.code} ({where}): labels: {report.count}, pages: {report.pages}, file: {output}")
