"""Helpers for CLI commands: turn domain and database errors into one-line messages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
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
        first = str(err.orig).splitlines()[0] if err.orig else str(err)
        raise click.ClickException(
            f"database error: {first} (is DATABASE_URL right, and has `flask --app wsgi db upgrade` run?)"
        ) from None
