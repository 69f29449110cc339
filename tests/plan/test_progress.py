"""Targets, monthly figures and the progress arithmetic, with hand-computed expectations."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit.models import AuditEvent
from app.errors import NotFound, ValidationError
from app.plan.models import Indicator, MonthlyFigure, PlanTarget
from app.plan.progress import progress, year_position
from app.plan.services import (
    prefill_from_plan,
    set_monthly_figures,
    set_targets,
    targets_for,
)

APRIL_1 = date(2026, 4, 1)  # day 91 of 365: Jan 31 + Feb 28 + Mar 31 = 90 days before it


def enter(session, library, month, year=2026, today=APRIL_1, **values):
    set_monthly_figures(
        session, library_id=library.id, year=year, month=month, values=values, actor_id=None, today=today
    )
    session.commit()


def test_indicators_have_labels_units_and_the_computed_three():
    assert len(Indicator) == 10
    assert {i for i in Indicator if i.is_computed} == {
        Indicator.COPIES_ACQUIRED,
        Indicator.RECORDS_CATALOGUED,
        Indicator.ROTATIONS,
    }
    assert Indicator.COPIES_ACQUIRED.label == "New book copies acquired"
    assert Indicator.COPIES_ACQUIRED.unit == "copies"
    assert all(i.label and i.unit for i in Indicator)


def test_year_position():
    assert year_position(2026, APRIL_1) == (4, 91 / 365)
    assert year_position(2025, APRIL_1) == (12, 1.0)
    assert year_position(2027, APRIL_1) == (0, 0.0)
    assert year_position(2024, date(2024, 12, 31)) == (12, 1.0)  # leap year: day 366 of 366


def test_library_progress_arithmetic(session, libs):
    prov = libs["prov"]
    set_targets(session, library_id=prov.id, year=2026, values={"reader_visits": 7300}, actor_id=None)
    session.commit()
    enter(session, prov, 1, reader_visits=100)
    enter(session, prov, 2, reader_visits=200)
    enter(session, prov, 3, reader_visits=300)
    enter(session, libs["d1"], 1, reader_visits=5000)  # another library: not counted here

    row = progress(session, 2026, prov.id, today=APRIL_1).row("reader_visits")
    assert row.target == 7300
    assert row.monthly == [100, 200, 300] + [0] * 9
    assert row.cumulative[:4] == [100, 300, 600, 600]
    assert row.total == 600
    assert row.percent == pytest.approx(600 * 100 / 7300)
    assert row.expected_now == pytest.approx(1820.0)  # 7300 × 91 / 365
    assert row.ahead is False
    assert row.needed_per_month == pytest.approx(6700 / 9)  # April to December: 9 months
    assert row.closed is False


def test_past_and_future_years(session, libs):
    prov = libs["prov"]
    for year in (2025, 2027):
        set_targets(session, library_id=prov.id, year=year, values={"talks": 120}, actor_id=None)
    session.commit()
    enter(session, prov, 11, year=2025, talks=130)

    past = progress(session, 2025, prov.id, today=APRIL_1).row("talks")
    assert past.closed and past.needed_per_month is None
    assert past.expected_now == 120
    assert past.percent == pytest.approx(130 * 100 / 120)

    future = progress(session, 2027, prov.id, today=APRIL_1).row("talks")
    assert future.expected_now == 0
    assert future.needed_per_month == 10  # 120 / 12


def test_target_reached_needs_nothing_more(session, libs):
    d1 = libs["d1"]
    set_targets(session, library_id=d1.id, year=2026, values={"talks": 6}, actor_id=None)
    session.commit()
    enter(session, d1, 2, talks=7)
    row = progress(session, 2026, d1.id, today=APRIL_1).row("talks")
    assert row.needed_per_month == 0
    assert row.ahead is True


def test_province_sums_libraries_or_uses_its_own_target(session, libs):
    prov, d1, d2 = libs["prov"], libs["d1"], libs["d2"]
    set_targets(session, library_id=prov.id, year=2026, values={"talks": 100}, actor_id=None)
    set_targets(session, library_id=d1.id, year=2026, values={"talks": 6}, actor_id=None)
    set_targets(session, library_id=d2.id, year=2026, values={"talks": 8}, actor_id=None)
    session.commit()
    enter(session, prov, 1, talks=10)
    enter(session, d1, 1, talks=2)
    enter(session, d2, 3, talks=1)

    row = progress(session, 2026, None, today=APRIL_1).row("talks")
    assert (row.target, row.target_source) == (114, "sum")
    assert row.monthly[:3] == [12, 0, 1]

    set_targets(session, library_id=None, year=2026, values={"talks": 150}, actor_id=None)
    session.commit()
    row = progress(session, 2026, None, today=APRIL_1).row("talks")
    assert (row.target, row.target_source) == (150, "own")
    assert row.total == 13
    # The library's own view is unchanged by the province's target.
    assert progress(session, 2026, d1.id, today=APRIL_1).row("talks").target == 6


def test_set_targets_changes_removes_and_audits(session, libs):
    d1 = libs["d1"]
    assert (
        set_targets(session, library_id=d1.id, year=2026, values={"talks": 6, "contests": 1}, actor_id=None)
        == 2
    )
    session.commit()
    assert (
        set_targets(
            session, library_id=d1.id, year=2026, values={"talks": 6, "contests": None}, actor_id=None
        )
        == 1
    )
    session.commit()
    assert targets_for(session, 2026, d1.id) == {Indicator.TALKS: 6}
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "plan_target")).all()
    assert actions == ["plan.targets_set", "plan.targets_set"]


@pytest.mark.parametrize("value", [-1, 100_000_001])
def test_absurd_targets_refused(session, libs, value):
    with pytest.raises(ValidationError):
        set_targets(session, library_id=libs["d1"].id, year=2026, values={"talks": value}, actor_id=None)


def test_targets_only_for_libraries_and_sane_years(session, libs):
    with pytest.raises(NotFound):
        set_targets(session, library_id=libs["point"].id, year=2026, values={"talks": 1}, actor_id=None)
    with pytest.raises(ValidationError):
        set_targets(session, library_id=libs["d1"].id, year=1999, values={"talks": 1}, actor_id=None)


def test_province_target_is_unique_in_the_database(session, libs):
    session.add(PlanTarget(library_id=None, year=2026, indicator="talks", value=1))
    session.add(PlanTarget(library_id=None, year=2026, indicator="talks", value=2))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_prefill_from_the_plan(session, libs):
    prov, d1 = libs["prov"], libs["d1"]
    set_targets(session, library_id=d1.id, year=2026, values={"copies_acquired": 1500}, actor_id=None)
    session.commit()
    added = prefill_from_plan(session, year=2026, actor_id=None)
    session.commit()
    # Provincial library: 9 numbers of the plan; each district library 4, one of d1's already set.
    assert added == 9 + 3 + 4
    assert targets_for(session, 2026, prov.id)[Indicator.COPIES_ACQUIRED] == 20_000
    assert targets_for(session, 2026, prov.id)[Indicator.LOOKUPS] == 1_500_000
    assert targets_for(session, 2026, d1.id)[Indicator.COPIES_ACQUIRED] == 1500  # kept
    assert targets_for(session, 2026, libs["d2"].id)[Indicator.COPIES_ACQUIRED] == 1000
    assert targets_for(session, 2026, libs["point"].id) == {}
    assert prefill_from_plan(session, year=2026, actor_id=None) == 0  # a second click adds nothing


def test_monthly_figures_replace_and_remove(session, libs):
    d1 = libs["d1"]
    enter(session, d1, 3, reader_visits=1400, talks=1)
    enter(session, d1, 3, reader_visits=1450, talks=None)
    rows = session.execute(select(MonthlyFigure.indicator, MonthlyFigure.value)).all()
    assert rows == [("reader_visits", 1450)]


def test_monthly_figures_bad_input(session, libs):
    d1 = libs["d1"]
    with pytest.raises(ValidationError):
        enter(session, d1, 4, reader_visits=-5)
    with pytest.raises(ValidationError):  # May has not begun on 1 April
        enter(session, d1, 5, reader_visits=10)
    with pytest.raises(ValidationError):
        enter(session, d1, 13, reader_visits=10)
    with pytest.raises(ValidationError):  # counted by the software
        enter(session, d1, 3, copies_acquired=10)
    with pytest.raises(NotFound):
        enter(session, libs["point"], 3, reader_visits=10)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(MonthlyFigure)) == 0
    enter(session, d1, 4, reader_visits=10)  # the current month is allowed
