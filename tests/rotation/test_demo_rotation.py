"""The rotation demo: batches and shipments in every state, a checked draft plan, usage; loaded once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.models import User
from app.demo import load_demo
from app.timeutil import local_today
from catalog.demo import load_demo_catalogue
from catalog.models import Item, ItemStatus
from rotation import shipment_queries
from rotation.demo import load_demo_rotation
from rotation.models import (
    Batch,
    BatchStatus,
    LineState,
    PlanStatus,
    PointUsage,
    RotationPlan,
    Shipment,
    ShipmentKind,
    ShipmentLine,
    ShipmentStatus,
)
from rotation.services.plans import review_plan
from rotation.services.shipments import count_summary


@pytest.fixture
def demo(session):
    """The whole demo loaded and committed; returns the rotation loader's description."""
    load_demo(session)
    load_demo_catalogue(session)
    description = load_demo_rotation(session)
    session.commit()
    session.expire_all()
    return description


def counts(session) -> tuple[int, ...]:
    return tuple(
        session.scalar(select(func.count()).select_from(model))
        for model in (Batch, Shipment, ShipmentLine, RotationPlan, PointUsage, Item)
    )


def test_batches_and_shipments_in_every_state(session, demo):
    assert demo and demo.startswith("Demo rotation:")
    batches = session.scalars(select(Batch)).all()
    assert batches and all(b.is_demo for b in batches)
    assert {b.status for b in batches} == {s.value for s in BatchStatus}

    today = local_today()
    overdue = shipment_queries.overdue(session, today)
    unconfirmed = [o for o in overdue if o.kind == shipment_queries.UNCONFIRMED]
    assert len(unconfirmed) == 1
    operator = session.scalar(select(User).where(User.username == "point"))
    assert len(operator.site_ids) == 2
    pending = shipment_queries.pending_for_sites(session, operator.site_ids)
    assert {s.batch_id for s in pending} >= {unconfirmed[0].batch_id}
    assert all(s.status == ShipmentStatus.DISPATCHED.value for s in pending)

    at_point = session.scalar(select(Batch).where(Batch.status == BatchStatus.AT_POINT.value))
    (received,) = shipment_queries.batch_history(session, at_point.id)
    assert received.received_count == received.expected_count - 1
    states = [line.state for line in shipment_queries.lines_of(session, received.id)]
    assert states.count(LineState.MISSING.value) == 1

    returned = session.scalar(select(Batch).where(Batch.status == BatchStatus.RETURNED.value))
    back = shipment_queries.batch_history(session, returned.id)[-1]
    assert back.kind == ShipmentKind.POINT_TO_LIBRARY.value
    summary = count_summary(session, back.id)
    assert summary.returned > 0 and summary.pending > 0

    closed = session.scalar(select(Batch).where(Batch.status == BatchStatus.CLOSED.value))
    statuses = session.scalars(
        select(Item.status)
        .join(ShipmentLine, ShipmentLine.item_id == Item.id)
        .join(Shipment)
        .where(Shipment.batch_id == closed.id, Shipment.kind == ShipmentKind.POINT_TO_LIBRARY.value)
    ).all()
    assert sorted(set(statuses)) == [ItemStatus.AVAILABLE.value, ItemStatus.LOST.value]
    assert statuses.count(ItemStatus.LOST.value) == 1


def test_draft_plan_passes_the_checks_and_operator_points_have_usage(session, demo):
    (plan,) = session.scalars(select(RotationPlan)).all()
    assert plan.status == PlanStatus.DRAFT.value
    assert (plan.year, plan.period_months) == (local_today().year, 1)
    review = review_plan(session, plan)
    assert review.cells
    assert review.violations == []

    operator = session.scalar(select(User).where(User.username == "point"))
    sites = set(session.scalars(select(PointUsage.site_id)))
    assert sites == operator.site_ids
    assert session.scalar(select(func.count()).select_from(PointUsage)) == 12


def test_loading_twice_adds_nothing(session, demo):
    before = counts(session)
    assert load_demo_rotation(session) is None
    session.commit()
    assert counts(session) == before


def test_nothing_without_the_catalogue(session):
    load_demo(session)
    assert load_demo_rotation(session) is None
    assert session.scalar(select(func.count()).select_from(Batch)) == 0


def test_too_few_available_copies_are_topped_up(session):
    load_demo(session)
    load_demo_catalogue(session)
    items = session.scalars(select(Item).order_by(Item.id)).all()
    for item in items[10:]:
        item.status = ItemStatus.LOST.value
    session.flush()
    assert load_demo_rotation(session)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Item)) > len(items)
    assert {b.status for b in session.scalars(select(Batch))} == {s.value for s in BatchStatus}
