"""`flask rotation` commands: plans."""

from __future__ import annotations

import json
from collections import Counter

import click

from app.db import transaction
from app.extensions import db
from rotation import planning
from rotation.cli import rotation_cli
from rotation.services import plans as services


def _violation_json(v: planning.Violation, ctx: services.PlanContext) -> dict:
    return {
        "constraint": str(v.constraint),
        "message": v.message,
        "point": ctx.points[v.point_id].code if v.point_id in ctx.points else v.point_id,
        "batch": ctx.batches[v.batch_id].code if v.batch_id in ctx.batches else v.batch_id,
        "period": v.period,
    }


def _unassigned_json(u: planning.Unassigned, ctx: services.PlanContext) -> dict:
    return {
        "point": ctx.points[u.point_id].code if u.point_id in ctx.points else u.point_id,
        "period": u.period,
        "reason": str(u.reason),
        "message": u.message,
    }


@rotation_cli.command("plan")
@click.option("--year", type=int, required=True, help="The year to plan.")
@click.option(
    "--period",
    type=click.Choice(["month", "quarter"]),
    default="month",
    show_default=True,
    help="Plan periods.",
)
@click.option(
    "--stay", type=int, default=None, help="Periods a batch stays at a point (default: up to 6 months)."
)
@click.option("--no-repeat", type=int, default=None, help="Periods within which a point gets no batch again.")
@click.option("--avoid-titles", is_flag=True, help="Also avoid titles a point has had recently.")
@click.option("--no-grouping", is_flag=True, help="Do not group deliveries by district.")
@click.option("--dry-run", is_flag=True, help="Solve and report; save nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def plan_command(year, period, stay, no_repeat, avoid_titles, no_grouping, dry_run, as_json) -> None:
    """Make a rotation plan for a year from the points and batches in the database (a draft)."""
    settings = {
        "stay_periods": stay,
        "no_repeat_batch_within": no_repeat,
        "avoid_repeat_titles": avoid_titles,
        "group_by_district": not no_grouping,
    }
    period_months = 3 if period == "quarter" else 1
    with transaction(db.session):
        result = services.solve_plan(
            db.session,
            year=year,
            period_months=period_months,
            settings=settings,
            actor_id=None,
            save=not dry_run,
        )
        plan_id = result.plan_row.id if result.plan_row is not None else None
    ctx, plan = result.context, result.plan
    served = len(plan.cells())
    if as_json:
        click.echo(
            json.dumps(
                {
                    "year": year,
                    "period": period,
                    "points": len(ctx.inputs.points),
                    "batches": len(ctx.inputs.batches),
                    "periods": ctx.inputs.settings.periods,
                    "served": served,
                    "trips": len(plan.trips),
                    "unassigned": [_unassigned_json(u, ctx) for u in plan.unassigned],
                    "violations": [_violation_json(v, ctx) for v in plan.problems],
                    "plan_id": plan_id,
                },
                ensure_ascii=False,
            )
        )
        return
    total = len(ctx.inputs.points) * ctx.inputs.settings.periods
    click.echo(
        f"{year} in {ctx.inputs.settings.periods} {period}s: {len(ctx.inputs.points)} points, "
        f"{len(ctx.inputs.batches)} batches"
    )
    click.echo(f"cells served: {served} of {total}; trips: {len(plan.trips)}")
    reasons = Counter(str(u.reason) for u in plan.unassigned)
    if reasons:
        click.echo("unassigned: " + ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items())))
        for u in plan.unassigned[:20]:
            click.echo(f"  {ctx.point_label(u.point_id)}, period {u.period}: {u.reason} ({u.message})")
        if len(plan.unassigned) > 20:
            click.echo(f"  … and {len(plan.unassigned) - 20} more")
    if plan.problems:
        click.echo(f"violations: {len(plan.problems)}")
        for v in plan.problems:
            where = ", ".join(
                x
                for x in (
                    ctx.point_label(v.point_id) if v.point_id is not None else "",
                    ctx.batch_label(v.batch_id) if v.batch_id is not None else "",
                    f"period {v.period}" if v.period is not None else "",
                )
                if x
            )
            click.echo(f"  {v.constraint}: {where}: {v.message}")
    else:
        click.echo("violations: none")
    click.echo("dry run: nothing saved" if plan_id is None else f"saved draft plan {plan_id}")
