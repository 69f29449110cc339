"""`flask rotation batches` (every batch with status, holder, copy count) and `flask rotation fill`."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from app.db import transaction
from app.extensions import db
from app.network.models import Site
from rotation import filling, queries
from rotation.cli import rotation_cli
from rotation.services import batches as batch_services
from rotation.services import filling as fill_services


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


def _mix(value: str, kind: str) -> dict:
    try:
        return filling.parse_mix(value or "", kind=kind)
    except filling.MixError as err:
        raise click.BadParameter(f"cannot read {err.part!r}") from None


@rotation_cli.command("fill")
@click.argument("code")
@click.option("--size", type=click.IntRange(1, fill_services.MAX_SIZE), default=None, help="Copies to add.")
@click.option("--destination", default="", help="Code of the point the batch is meant for.")
@click.option(
    "--last",
    "last_rotations",
    type=click.IntRange(0, 50),
    default=3,
    show_default=True,
    help="Leave out titles the destination had in its last N rotations.",
)
@click.option("--classes", default="", help='DDC main classes with percentages ("8:40,3:30"), or "even".')
@click.option("--languages", default="vie", show_default=True, help='Languages, e.g. "vie:80,tha:10,hmn:10".')
@click.option("--children", type=click.IntRange(0, 100), default=None, help="Share of children's books (%).")
@click.option("--allow-duplicates", is_flag=True, help="Allow two copies of the same title.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same choice).")
@click.option("--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def fill_command(
    code,
    size,
    destination,
    last_rotations,
    classes,
    languages,
    children,
    allow_duplicates,
    seed,
    dry_run,
    as_json,
) -> None:
    """Fill an assembling batch automatically by rules (size defaults to the target minus its copies)."""
    destination_id = None
    if destination:
        site = db.session.scalar(select(Site).where(Site.code == destination.strip().upper()))
        if site is None:
            raise click.BadParameter(f"no site has the code {destination!r}", param_hint="--destination")
        destination_id = site.id
    settings = fill_services.FillSettings(
        size=size,
        class_shares={} if classes.strip().lower() == "even" else _mix(classes, "class"),
        even_classes=classes.strip().lower() == "even",
        language_shares=_mix(languages, "language"),
        children_percent=children,
        destination_id=destination_id,
        last_rotations=last_rotations,
        allow_duplicate_titles=allow_duplicates,
        seed=seed,
    )
    with transaction(db.session):
        batch = batch_services.get_batch(db.session, code)
        plan, report = fill_services.fill(db.session, batch, settings, actor_id=None, dry_run=dry_run)
        added = [i.accession_number for i in report.added]
    refused = [
        {"number": n, "reasons": [m % p if p else m for m, p in reasons]} for n, reasons in report.refused
    ]
    if as_json:
        click.echo(
            json.dumps(
                {**plan.as_json(), "dry_run": dry_run, "added": added, "refused": refused},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    b = plan.result.breakdown()
    click.echo(f"{batch.code}: {len(plan.result.chosen)} of {plan.request.size} copies chosen")
    click.echo("classes: " + ", ".join(f"{k}: {n}" for k, n in b["class"].items()))
    click.echo("languages: " + ", ".join(f"{k}: {n}" for k, n in b["language"].items()))
    click.echo(f"children's books: {b['children']['children']}, other: {b['children']['other']}")
    for s in plan.result.shortfalls:
        click.echo(f"short: {s.dimension} {s.bucket}: {s.got} of {s.wanted}")
    if plan.destination:
        click.echo(
            f"left out {len(plan.request.excluded_titles)} titles {plan.destination.code} had recently"
        )
    if dry_run:
        click.echo("dry run: nothing added")
        return
    click.echo(f"added {len(added)}; refused {len(refused)}")
    for row in refused:
        click.echo(f"  {row['number']}: {'; '.join(row['reasons'])}")
