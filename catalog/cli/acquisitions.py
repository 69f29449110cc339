"""`flask acquisitions …`: registers and intakes from the terminal."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from sqlalchemy import select

from app.auth.models import User
from app.cli_util import AppCommandGroup
from app.db import transaction
from app.errors import N_, ValidationError
from app.extensions import db
from catalog.acquisitions import registers
from catalog.acquisitions import services as acq

acquisitions_cli = AppCommandGroup("acquisitions", help="Intakes, registers and stock checks.")


@acquisitions_cli.command("receive")
@click.argument("intake_id", type=int)
@click.option("--user", "username", default=None, help="Record the receiving under this user name.")
@click.option(
    "--status",
    type=click.Choice(["available", "in_processing"]),
    default="available",
    show_default=True,
    help="Status of the new copies.",
)
def receive(intake_id: int, username: str | None, status: str) -> None:
    """Receive a draft intake: number its copies and give it its general-register number."""
    actor_id = None
    if username:
        actor_id = db.session.scalar(select(User.id).where(User.username == username))
        if actor_id is None:
            raise ValidationError(N_("No user named %(name)s."), name=username)
    with transaction(db.session):
        result = acq.receive_intake(db.session, intake_id, actor_id, item_status=status)
    click.echo(
        f"Intake {intake_id} received: {result.copies} copies, "
        f"general register number {result.register_number}."
    )
    for r in result.ranges:
        numbers = r.first if r.count == 1 else f"{r.first} – {r.last}"
        click.echo(f"  {numbers}  ({r.count})  {r.title[:70]}")


def _cli_date(value: str, option: str) -> date:
    """Read an ISO date given on the command line (a bad one is a one-line error, exit status 1)."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise click.ClickException(f"{option}: not a date (YYYY-MM-DD): {value!r}") from None


@acquisitions_cli.command("register")
@click.option("--library", "library_code", required=True, help="Code of the library.")
@click.option("--kind", type=click.Choice(registers.KINDS), required=True, help="Which register.")
@click.option(
    "--from", "date_from", required=True, metavar="DATE", help="First day of the period (YYYY-MM-DD)."
)
@click.option("--to", "date_to", required=True, metavar="DATE", help="Last day of the period (YYYY-MM-DD).")
@click.option("--format", "fmt", type=click.Choice(registers.FORMATS), default="pdf", show_default=True)
@click.option(
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="File to write ('-' for standard output).",
)
def register(library_code: str, kind: str, date_from: str, date_to: str, fmt: str, output: str) -> None:
    """Write the general or the individual register of a library for a period as PDF or XLSX."""
    start, end = _cli_date(date_from, "--from"), _cli_date(date_to, "--to")
    registers.check_period(start, end)
    library = registers.find_library(db.session, library_code)
    book = registers.build_register(db.session, library.id, kind, start, end)
    if output == "-":
        registers.write_register(book, fmt, click.get_binary_stream("stdout"))
        return
    target = Path(output)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as out:
            registers.write_register(book, fmt, out)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    lines = sum(section.row_count for section in book.sections)
    click.echo(
        f"{book.title.capitalize()} of {library.code}, {start} to {end}: {lines} lines written to {target}.",
        err=True,
    )
