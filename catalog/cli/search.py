"""`flask catalog search`: search the catalogue from the terminal, as a table or as JSON."""

from __future__ import annotations

import json

import click

from app.extensions import db
from catalog.cli import catalog_cli
from catalog.search import COUNT_LIMIT, SearchQuery, search


def _cell(text: str | None, width: int) -> str:
    value = " ".join(str(text or "").split())
    return value if len(value) <= width else value[: width - 1] + "…"


@catalog_cli.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option(
    "--limit",
    type=click.IntRange(1, COUNT_LIMIT),
    default=20,
    show_default=True,
    help="How many records to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of records.")
def search_command(query: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Search the catalogue like the search box: words with or without diacritics, ISBN, accession number."""
    text = " ".join(query)
    hits = []
    page = 1
    # The search serves pages of at most 100; gather as many pages as --limit asks for.
    while len(hits) < limit:
        result = search(db.session, SearchQuery(q=text, per_page=min(limit, 100), page=page))
        hits += result.hits
        if len(result.hits) < result.query.per_page or page >= result.pages:
            break
        page += 1
    hits = hits[:limit]
    if as_json:
        click.echo(json.dumps([h.as_dict() for h in hits], ensure_ascii=False, indent=1))
        return
    if not hits:
        click.echo("No record matches.")
        return
    more = "more than " if result.total_is_lower_bound else ""
    click.echo(f"{more}{result.total} record(s); showing {len(hits)}")
    header = f"{'id':>7}  {'year':4}  {'title':50}  {'author':28}  {'call number':18}  copies"
    click.echo(header)
    click.echo("-" * len(header))
    for h in hits:
        click.echo(
            f"{h.id:>7}  {h.year or '':4}  {_cell(h.title, 50):50}  {_cell(h.main_author, 28):28}  "
            f"{_cell(', '.join(h.call_numbers), 18):18}  {h.available}/{h.copies}"
        )
