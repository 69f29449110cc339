"""`flask labels …`: print labels from the terminal (catalogue and rotation add their commands)."""

from __future__ import annotations

import json

import click

from app.cli_util import AppCommandGroup
from app.labels.engine import fmt_mm
from app.labels.presets import PRESETS

labels_cli = AppCommandGroup("labels", help="Print labels as PDF.")


@labels_cli.command("templates")
@click.option("--json", "as_json", is_flag=True, help="Print the templates as JSON.")
def templates_command(as_json: bool) -> None:
    """List the label templates: name, title, label size and labels per sheet."""
    rows = [
        {
            "name": t.name,
            "title": t.title,
            "label_width_mm": t.label_width,
            "label_height_mm": t.label_height,
            "page_width_mm": t.page_width,
            "page_height_mm": t.page_height,
            "columns": t.columns,
            "rows": t.rows,
            "per_page": t.per_page,
            "roll": t.roll,
        }
        for t in PRESETS.values()
    ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        size = f"{fmt_mm(row['label_width_mm'])} × {fmt_mm(row['label_height_mm'])} mm"
        click.echo(f"{row['name']:<14} {size:<20} {row['per_page']:>3} per sheet   {row['title']}")
