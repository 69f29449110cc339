"""Rotation plans from the database: solve and save, dry run, JSON, infeasible inputs, hand edits, grid."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from sqlalchemy import func, select

from app.auth.models import Role
from app.errors import Conflict
from app.network.models import SiteKind, UnitLevel
from app.network.services import create_unit
from catalog import marc
from catalog.services import add_items, create_record
from rotation import planning
from rotation.models import Batch, BatchItem, PlanAssignment, PlanStatus, RotationPlan
from rotation.services import plans as services
from tests.conftest import csrf_from, post_form

YEAR = 2025  # before the reform: points group by their old districts


@pytest.fixture
def network(session, make_site):
    """Two districts with a commune each, a library, and two Post-Culture points per district."""
    units = {}
    for code, name in (("D1", "Mường La"), ("D2", "Mai Sơn")):
        district = create_unit(
            session, code=code, name=name, level=UnitLevel.DISTRICT, valid_from=date(2000, 1, 1)
        )
        units[code] = create_unit(
            session,
            code=f"{code}C",
            name=f"Xã {name}",
            level=UnitLevel.COMMUNE,
            valid_from=date(2000, 1, 1),
            parent=district,
        )
    session.commit()
    library = make_site(code="TVT", name="Thư viện tỉnh", kind=SiteKind.PROVINCIAL_LIBRARY)
    points = [
        make_site(
            code=f"P{i}", name=f"Điểm {i}", admin_unit_id=units["D1" if i < 3 else "D2"].id, capacity=300
        )
        for i in range(1, 5)
    ]
    return {"library": library, "points": points, "units": units}


_records = iter(range(1, 10_000))


@pytest.fixture
def make_batch(session, network):
    """Return a function that makes a ready batch of `copies` copies of new titles."""

    def make(code: str, copies: int = 3) -> Batch:
        batch = Batch(code=code, home_library_id=network["library"].id, status="ready")
        session.add(batch)
        session.flush()
        for _ in range(copies):
            n = next(_records)
            record = create_record(session, marc.build_record(f"Sách {code} {n}", year=2020), actor_id=None)
            (item,) = add_items(
                session,
                record,
                accession_numbers=[f"VN.{code[-2:]}{n:05d}"],
                values={"library_id": network["library"].id, "status": "available"},
                actor_id=None,
            )
            session.add(BatchItem(batch_id=batch.id, item_id=item.id))
        session.commit()
        return batch

    return make


@pytest.fixture
def four_batches(make_batch):
    return [make_batch(f"LC-2025-000{i}") for i in range(1, 5)]


def plans_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count(RotationPlan.id)))


def test_context_groups_points_by_district_and_counts_copies(session, network, four_batches):
    ctx = services.build_context(session, YEAR, 1)
    assert {p.id for p in ctx.inputs.points} == {s.id for s in network["points"]}
    assert {ctx.district_of[s.id] for s in network["points"]} == {"Mường La", "Mai Sơn"}
    assert {b.size for b in ctx.inputs.batches} == {3}
    assert all(len(b.title_ids) == 3 for b in ctx.inputs.batches)


def test_saved_plan_keeps_every_rule(session, network, four_batches):
    result = services.solve_plan(session, year=YEAR, period_months=1, actor_id=None)
    session.commit()
    row = result.plan_row
    assert row.status == PlanStatus.DRAFT.value
    cells = session.scalars(select(PlanAssignment).where(PlanAssignment.plan_id == row.id)).all()
    assert len(cells) == len(result.plan.cells()) > 0
    assert {c.period for c in cells} <= set(range(12))
    review = services.review_plan(session, row)
    assert review.violations == []
    assert planning.check(review.stays, review.context.inputs) == []


def test_school_library_gets_nothing_in_summer(session, network, four_batches, make_site):
    school = make_site(code="TH1", name="Trường TH", kind=SiteKind.SCHOOL_LIBRARY, capacity=300)
    result = services.solve_plan(session, year=YEAR, period_months=1, actor_id=None, save=False)
    summer = {p for (point, p) in result.plan.cells() if point == school.id} & {6, 7, 8}
    assert summer == set()
    reasons = {u.reason for u in result.plan.unassigned if u.point_id == school.id and u.period in (6, 7, 8)}
    assert reasons == {planning.Reason.UNAVAILABLE}


def test_cli_dry_run_saves_nothing(runner, session, network, four_batches):
    result = runner.invoke(args=["rotation", "plan", "--year", str(YEAR), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "violations: none" in result.output
    assert "dry run: nothing saved" in result.output
    assert plans_count(session) == 0


def test_cli_saves_a_draft(runner, session, network, four_batches):
    result = runner.invoke(args=["rotation", "plan", "--year", str(YEAR), "--period", "quarter"])
    assert result.exit_code == 0, result.output
    assert plans_count(session) == 1
    plan = session.scalar(select(RotationPlan))
    assert plan.period_months == 3 and plan.year == YEAR
    assert f"saved draft plan {plan.id}" in result.output


def test_cli_json_shape(runner, session, network, four_batches):
    result = runner.invoke(args=["rotation", "plan", "--year", str(YEAR), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"year", "period", "served", "trips", "unassigned", "violations", "plan_id"} <= set(data)
    assert data["year"] == YEAR and data["period"] == "month"
    assert data["violations"] == []
    assert data["served"] > 0 and data["trips"] > 0
    assert data["plan_id"] == session.scalar(select(RotationPlan.id))
    dry = json.loads(
        runner.invoke(args=["rotation", "plan", "--year", str(YEAR), "--json", "--dry-run"]).output
    )
    assert dry["plan_id"] is None


def test_more_points_than_batches_says_why(runner, session, network, make_batch):
    make_batch("LC-2025-0001")
    make_batch("LC-2025-0002")
    data = json.loads(runner.invoke(args=["rotation", "plan", "--year", str(YEAR), "--json"]).output)
    reasons = {u["reason"] for u in data["unassigned"]}
    assert "no-batch-free" in reasons
    assert {u["point"] for u in data["unassigned"]} <= {"P1", "P2", "P3", "P4"}
    assert data["violations"] == []


def test_capacity_too_small_says_why(session, network, four_batches, make_site):
    tiny = make_site(code="NHO", name="Điểm nhỏ", capacity=2)
    result = services.solve_plan(session, year=YEAR, actor_id=None, save=False)
    mine = [u for u in result.plan.unassigned if u.point_id == tiny.id]
    assert len(mine) == 12
    assert {u.reason for u in mine} == {planning.Reason.CAPACITY}
    assert "capacity 2" in mine[0].message


def _batch_busy(session, row, batch_id: int, period: int) -> int | None:
    """Return the point holding the batch in a 1-based period of the plan, if any."""
    return session.scalar(
        select(PlanAssignment.point_id).where(
            PlanAssignment.plan_id == row.id,
            PlanAssignment.batch_id == batch_id,
            PlanAssignment.period == period - 1,
        )
    )


def place(session, row, point_id: int, period: int, batch_id: int) -> list[planning.Violation]:
    """Put a batch at a point by hand (pinned), first clearing the cell that holds it in that period."""
    busy = _batch_busy(session, row, batch_id, period)
    if busy is not None and busy != point_id:
        services.edit_cell(
            session, row, point_id=busy, period=period, batch_id=None, pinned=False, actor_id=None
        )
    return services.edit_cell(
        session, row, point_id=point_id, period=period, batch_id=batch_id, pinned=True, actor_id=None
    )


def test_hand_edit_breaking_capacity_is_saved_and_flagged(session, network, four_batches, make_site):
    tiny = make_site(code="NHO", name="Điểm nhỏ", capacity=2)
    row = services.solve_plan(session, year=YEAR, actor_id=None).plan_row
    session.commit()
    violations = place(session, row, tiny.id, 3, four_batches[0].id)
    session.commit()
    flagged = [v for v in violations if v.point_id == tiny.id]
    assert [v.constraint for v in flagged] == [planning.Constraint.CAPACITY]
    cell = session.scalar(
        select(PlanAssignment).where(PlanAssignment.plan_id == row.id, PlanAssignment.point_id == tiny.id)
    )
    assert cell.is_pinned and cell.period == 2


def test_same_batch_in_two_places_is_refused(session, network, four_batches):
    row = services.solve_plan(session, year=YEAR, actor_id=None).plan_row
    session.commit()
    cell = session.scalars(select(PlanAssignment).where(PlanAssignment.plan_id == row.id)).first()
    other = next(p for p in network["points"] if p.id != cell.point_id)
    with pytest.raises(Conflict):
        services.edit_cell(
            session,
            row,
            point_id=other.id,
            period=cell.period + 1,
            batch_id=cell.batch_id,
            pinned=True,
            actor_id=None,
        )


def test_resolve_keeps_pins(session, network, four_batches):
    row = services.solve_plan(session, year=YEAR, actor_id=None).plan_row
    session.commit()
    point = network["points"][0]
    place(session, row, point.id, 12, four_batches[3].id)
    session.commit()
    services.resolve_plan(session, row, actor_id=None)
    session.commit()
    cell = session.scalar(
        select(PlanAssignment).where(
            PlanAssignment.plan_id == row.id, PlanAssignment.point_id == point.id, PlanAssignment.period == 11
        )
    )
    assert cell.batch_id == four_batches[3].id and cell.is_pinned


def test_approve_needs_consent_with_conflicts(session, network, four_batches, make_site):
    tiny = make_site(code="NHO", name="Điểm nhỏ", capacity=2)
    row = services.solve_plan(session, year=YEAR, actor_id=None).plan_row
    place(session, row, tiny.id, 1, four_batches[0].id)
    with pytest.raises(Conflict):
        services.approve_plan(session, row, actor_id=None)
    services.approve_plan(session, row, actor_id=None, accept_conflicts=True)
    assert row.status == PlanStatus.APPROVED.value
    with pytest.raises(Conflict):
        services.edit_cell(
            session, row, point_id=tiny.id, period=1, batch_id=None, pinned=False, actor_id=None
        )


# --- web ---------------------------------------------------------------------------------------


def test_grid_renders_for_staff_and_is_refused_to_point_operators(
    client, session, network, four_batches, logged_in
):
    row = services.solve_plan(session, year=YEAR, actor_id=None).plan_row
    session.commit()
    logged_in(Role.VIEWER)
    html = client.get(f"/rotation/plans/{row.id}").get_data(as_text=True)
    assert 'id="plan-grid"' in html and 'id="plan-list"' in html
    assert "LC-2025-0001" in html
    assert "Mường La" in html and "Mai Sơn" in html
    assert ">P1 <" in html
    assert 'id="cell-form"' not in html  # a viewer sees, does not change
    filtered = client.get(f"/rotation/plans/{row.id}?district=Mai Sơn").get_data(as_text=True)
    assert "P3" in filtered and ">P1 <" not in filtered


def test_point_operator_gets_403(client, session, network, four_batches, logged_in):
    row = services.solve_plan(session, year=YEAR, actor_id=None).plan_row
    session.commit()
    logged_in(Role.POINT_OPERATOR, sites=[network["points"][0]])
    assert client.get(f"/rotation/plans/{row.id}").status_code == 403
    assert client.get("/rotation/plans").status_code == 403


def test_new_plan_form_and_cell_edit_flag_conflict(
    client, session, network, four_batches, make_site, logged_in
):
    tiny = make_site(code="NHO", name="Điểm nhỏ", capacity=2)
    logged_in(Role.ROTATION)
    response = post_form(
        client,
        "/rotation/plans",
        {"year": str(YEAR), "period": "month", "group_by_district": "y", "school_closed": "6, 7, 8"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    plan_id = int(re.search(r"/rotation/plans/(\d+)", response.headers["Location"])[1])
    row = session.get(RotationPlan, plan_id)
    batch = four_batches[1]
    busy = _batch_busy(session, row, batch.id, 4)
    if busy is not None:
        post_form(
            client,
            f"/rotation/plans/{plan_id}/cell",
            {"point_id": str(busy), "period": "4", "batch_id": ""},
            page=f"/rotation/plans/{plan_id}",
        )
    response = post_form(
        client,
        f"/rotation/plans/{plan_id}/cell",
        {"point_id": str(tiny.id), "period": "4", "batch_id": str(batch.id), "is_pinned": "y"},
        page=f"/rotation/plans/{plan_id}",
    )
    assert response.status_code == 302
    client.get("/lang/en")
    html = client.get(f"/rotation/plans/{plan_id}").get_data(as_text=True)
    assert 'data-constraint="capacity"' in html
    assert re.search(rf'class="conflict\s+pinned\s*"\s+data-point="{tiny.id}" data-period="4"', html)
    session.expire_all()
    assert session.get(RotationPlan, plan_id).status == PlanStatus.DRAFT.value


def test_viewer_cannot_edit_or_approve(client, session, network, four_batches, logged_in):
    row = services.solve_plan(session, year=YEAR, actor_id=None).plan_row
    session.commit()
    logged_in(Role.VIEWER)
    page = f"/rotation/plans/{row.id}"
    html = client.get("/rotation/plans").get_data(as_text=True)
    assert 'id="plan-form"' not in html
    token = csrf_from(client.get(page).get_data(as_text=True))
    assert client.post(f"{page}/approve", data={"csrf_token": token}).status_code == 403
    assert client.post(f"{page}/cell", data={"csrf_token": token}).status_code == 403
