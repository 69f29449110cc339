"""`flask rotation batches`: every batch with its status, holder and copy count."""

from __future__ import annotations

import json

import click

from app.extensions import db
from rotation import queries
from rotation.cli import rotation_cli


@rotation_cli.command("batches")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def batches_command(as_json: bool) -> None:
    """List the batches: code, status, holder (site code; empty while in transit), copy count."""
    rows = queries.batches_summary(db.session)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("No batches.")
        return
    click.echo(f"{'code':<16} {'status':<12} {'holder':<12} {'copies':>6}  home library")
    for row in rows:
        click.echo(
            f"{row['code']:<16} {row['status']:<12} {row['holder'] or '-':<12} {row['copies']:>6}  "
            f"{row['home_library']}"
        )
    click.echo(f"{len(rows)} batches")
