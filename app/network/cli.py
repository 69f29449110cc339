"""`flask sites …`: import and export the network's sites as CSV."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.cli_util import domain_errors
from app.extensions import db
from app.network import services
from app.network.csvio import DELIMITERS, ENCODING_NAMES
from app.network.models import Site

sites_cli = AppGroup("sites", help="Import and export sites.")

_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise click.ClickException(f"cannot read {path}: {err.strerror or err}") from None


def _print_report(report: services.ImportReport) -> None:
    encoding = ENCODING_NAMES.get(report.encoding, report.encoding)
    separator = _SEPARATOR_NAMES.get(report.delimiter, report.delimiter)
    click.echo(f"read {report.rows} rows ({encoding}, {separator}-separated)")
    for row in report.bad_rows:
        reasons = "; ".join(str(err).rstrip(".") for err in row.errors)
        click.echo(f"line {row.line}: {reasons}")


@sites_cli.command("import")
@click.argument("path", metavar="FILE.csv")
@click.option(
    "--mode",
    type=click.Choice(services.IMPORT_MODES),
    default="upsert",
    show_default=True,
    help="upsert: a code that exists updates that site; create: such a row is bad.",
)
@click.option("--skip-bad", is_flag=True, help="Import the good rows and skip the bad ones.")
@click.option("--dry-run", is_flag=True, help="Check the file and report; save nothing.")
@click.option(
    "--unit-since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Date (YYYY-MM-DD) from which a changed administrative unit applies; default today.",
)
def import_sites(path: str, mode: str, skip_bad: bool, dry_run: bool, unit_since) -> None:
    """Import sites from a CSV file (UTF-8, UTF-8 with BOM or Windows-1258; , ; or tab)."""
    from app.timeutil import local_today

    data = _read_input(path)
    try:
        with domain_errors():
            try:
                report = services.import_sites(
                    db.session,
                    data,
                    mode=mode,
                    skip_bad=skip_bad,
                    actor_id=None,
                    unit_since=unit_since.date() if unit_since else local_today(),
                )
            except services.ImportAborted as err:
                raise click.ClickException(f"line {err.line}: {err.cause} Nothing was imported.") from None
        _print_report(report)
        if report.bad_rows and not skip_bad:
            click.echo(report.summary())
            raise click.ClickException(
                f"{len(report.bad_rows)} bad row(s); nothing imported "
                "(fix them, or use --skip-bad to import the good rows)"
            )
        if dry_run:
            db.session.rollback()
            click.echo(f"dry run, nothing saved: would have {report.summary()}")
            return
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    click.echo(report.summary())


@sites_cli.command("export")
@click.option(
    "--output",
    "-o",
    default="-",
    show_default=True,
    metavar="PATH|-",
    help="File to write (UTF-8 with BOM), or - for standard output (no BOM).",
)
@click.option(
    "--delimiter",
    type=click.Choice(sorted(DELIMITERS)),
    default="comma",
    show_default=True,
    help="Field separator; Excel set to Vietnamese expects semicolon.",
)
def export_sites(output: str, delimiter: str) -> None:
    """Export every site as CSV: a header row, then one site per row, sorted by code."""
    with domain_errors():
        text = services.export_sites_csv(db.session, delimiter=DELIMITERS[delimiter])
        count = db.session.scalar(select(func.count()).select_from(Site)) or 0
    if output == "-":
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_bytes(("\ufeff" + text).encode("utf-8"))
    except OSError as err:
        raise click.ClickException(f"cannot write {output}: {err.strerror or err}") from None
    click.echo(f"exported {count} sites to {output}", err=True)
