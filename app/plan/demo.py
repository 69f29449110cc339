"""Demo data of the plan: targets for this year and last from the plan's numbers, and monthly figures."""

from __future__ import annotations

import random
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.plan.models import ENTERED_INDICATORS, MonthlyFigure
from app.plan.services import plan_defaults, plan_libraries, prefill_from_plan, set_monthly_figures
from app.timeutil import local_today

SEED = 20261127


def load_demo_plan(session: Session, today: date | None = None) -> str | None:
    """Stage the plan's targets (this year and last) and hand-entered figures; None when already there."""
    today = today or local_today()
    libraries = plan_libraries(session)
    if not libraries or session.scalar(select(exists().where(MonthlyFigure.id.is_not(None)))):
        return None
    rng = random.Random(SEED)
    targets = 0
    figures = 0
    for year in (today.year - 1, today.year):
        targets += prefill_from_plan(session, year=year, actor_id=None)
        last_month = 12 if year < today.year else today.month - 1
        for site in libraries:
            defaults = plan_defaults(site.kind)
            for month in range(1, last_month + 1):
                values = {}
                for indicator in ENTERED_INDICATORS:
                    yearly = defaults.get(indicator)
                    if not yearly:
                        continue
                    # Around a twelfth of the year's number; small counts come in whole events.
                    values[indicator] = max(int(round(yearly / 12 * rng.uniform(0.6, 1.3))), 0)
                if values:
                    set_monthly_figures(
                        session,
                        library_id=site.id,
                        year=year,
                        month=month,
                        values=values,
                        actor_id=None,
                        today=today,
                    )
                    figures += len(values)
    return f"Plan: {targets} targets, {figures} monthly figures."
