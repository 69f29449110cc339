"""CLI helpers: command groups that check the database and turn errors into one-line messages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
from flask import current_app
from flask.cli import AppGroup, ScriptInfo
from sqlalchemy.exc import OperationalError, ProgrammingError

from app.errors import DomainError


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """Report a DomainError or an unreachable/unmigrated database as `Error: …`, exit status 1."""
    try:
        yield
    except DomainError as err:
        raise click.ClickException(str(err)) from None
    except (OperationalError, ProgrammingError) as err:
        first = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
        raise click.ClickException(
            f"database error: {first} (is DATABASE_URL right, and has `flask --app wsgi db upgrade` run?)"
        ) from None


class AppCommandGroup(AppGroup):
    """A `flask` command group whose commands need a migrated database and never print tracebacks."""

    def invoke(self, ctx: click.Context):
        if not current_app:
            ctx.with_resource(ctx.ensure_object(ScriptInfo).load_app().app_context())
        with domain_errors():
            _require_migrated()
            return super().invoke(ctx)


def _require_migrated() -> None:
    from app.migrations_state import migration_state

    state = migration_state()
    if not state.ok:
        raise click.ClickException(
            f"the database is at revision {state.current or 'none (empty)'}, the code needs {state.head}: "
            f"run `{state.command}` first"
        )
