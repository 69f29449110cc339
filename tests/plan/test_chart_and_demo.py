"""The SVG chart (pure) and the plan's demo data."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from app.plan.chart import ChartTexts, compact, nice_ceiling, render_chart
from app.plan.demo import load_demo_plan
from app.plan.models import MonthlyFigure, PlanTarget

TEXTS = ChartTexts(title="Sách <mới>", desc="12 of 20", actual="Actual", target="Target", pace="Pace")


def test_axis_helpers():
    assert [compact(v) for v in (0, 950, 20_000, 12_500, 1_500_000)] == ["0", "950", "20k", "12.5k", "1.5M"]
    assert [nice_ceiling(v) for v in (0, 7, 21_000, 1_575_000)] == [1.0, 10.0, 25_000.0, 2_000_000.0]


def test_chart_of_a_past_year():
    svg = str(
        render_chart(
            chart_id="c1",
            cumulative=list(range(10, 130, 10)),
            months_shown=12,
            target=100,
            elapsed_fraction=1.0,
            texts=TEXTS,
        )
    )
    assert '<title id="c1-t">Sách &lt;mới&gt;</title>' in svg
    assert 'aria-labelledby="c1-t c1-d"' in svg
    points = re.search(r'class="pp-actual" points="([^"]+)"', svg).group(1).split()
    assert len(points) == 13  # the origin and twelve month ends
    assert "pp-today" not in svg  # the year is over
    assert "style=" not in svg and "<script" not in svg


def test_chart_of_the_current_year_ends_today():
    svg = str(
        render_chart(
            chart_id="c2",
            cumulative=[5, 9, 9, 9] + [9] * 8,
            months_shown=3,
            target=None,
            elapsed_fraction=0.2,
            texts=TEXTS,
        )
    )
    points = re.search(r'class="pp-actual" points="([^"]+)"', svg).group(1).split()
    assert len(points) == 4
    today_x = re.search(r'class="pp-today" x1="([\d.]+)"', svg).group(1)
    assert points[-1].split(",")[0] == today_x  # March, under way, is drawn up to today
    assert "pp-target" not in svg and "pp-pace" not in svg  # no target: no target line, no pace


def test_demo_plan(session, libs):
    summary = load_demo_plan(session, today=date(2026, 4, 15))
    session.commit()
    assert summary and summary.startswith("Plan:")
    targets = session.scalar(select(func.count()).select_from(PlanTarget))
    assert targets == 2 * (9 + 4 + 4)  # two years; provincial library 9 numbers, district ones 4 each
    months = session.scalars(select(MonthlyFigure.month).where(MonthlyFigure.year == 2026).distinct()).all()
    assert sorted(months) == [1, 2, 3]  # this year: the months that are over
    assert load_demo_plan(session, today=date(2026, 4, 15)) is None
