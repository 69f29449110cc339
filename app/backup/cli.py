"""`flask backup` and `flask restore`: consistent backups of the database, and restoring one."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.backup.services import default_backup_path, restore_backup, take_backup
from app.cli_util import domain_errors


def _url() -> str:
    return current_app.config["SQLALCHEMY_DATABASE_URI"]


@click.command("backup")
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File to write (default: instance/backups/tramsach-DATE-TIME.db or .dump).",
)
@with_appcontext
def backup_command(output: Path | None) -> None:
    """Back up the database while the app runs (SQLite snapshot or pg_dump custom format)."""
    from app.extensions import db
    from app.migrations_state import migration_state

    with domain_errors():
        engine_name = db.engine.dialect.name
        if output is None:
            output = default_backup_path(Path(current_app.instance_path) / "backups", engine_name)
        revision = migration_state(db.engine).current
        result = take_backup(_url(), output, revision)
    click.echo(
        f"Backup written to {result.path} ({result.size:,} bytes, {result.engine}, schema {revision})."
    )


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(path: Path, yes: bool) -> None:
    """Replace the whole database with a backup, all or nothing (stop the app first)."""
    from app.extensions import db
    from app.migrations_state import migration_state

    if not yes:
        click.confirm(f"Replace everything in the database with {path}?", abort=True)
    with domain_errors():
        db.session.remove()
        db.engine.dispose()
        restore_backup(_url(), path)
        db.engine.dispose()
        state = migration_state(db.engine)
    click.echo(f"Restored {path}; schema {state.current}.")
    if not state.ok:
        click.echo(f"The code expects schema {state.head}: run `{state.command}` next.")
