"""`flask rotation` commands: shipments (overdue shipments and batches)."""

from __future__ import annotations

import json

import click

from app.extensions import db
from app.timeutil import local_today
from rotation import shipment_queries as q
from rotation.cli import rotation_cli


@rotation_cli.command("overdue")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=7,
    show_default=True,
    help="A shipment not received this many days after dispatch is overdue.",
)
def overdue(as_json: bool, days: int) -> None:
    """List shipments nobody confirmed and batches kept at a point past their due date."""
    rows = q.overdue(db.session, local_today(), unconfirmed_after_days=days)
    if as_json:
        click.echo(json.dumps([row.as_json() for row in rows], ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("nothing overdue")
        return
    for row in rows:
        click.echo(f"{row.batch_code}\t{row.kind}\t{row.site_name}\tsince {row.since.isoformat()}")
