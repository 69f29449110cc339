"""rotation/services/filling.py and add_items_by_id: loading candidates in SQL, filling, concurrency."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.errors import Conflict
from app.network.models import SiteKind
from catalog import marc
from catalog.models import Item
from catalog.services import add_items, create_record
from rotation import filling
from rotation.models import BatchItem, Shipment, ShipmentKind, ShipmentLine
from rotation.services import batches as svc
from rotation.services import filling as fill_svc

_numbers = itertools.count(1)


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


@pytest.fixture
def point(make_site):
    return make_site(code="BDVH-01", name="Điểm Bưu điện – Văn hóa xã Chiềng Cơi")


def title(session, library, *, copies=1, lang="vie", cls="895.922", subjects=(), prefix="VN", **values):
    """A new title with `copies` available copies at `library` (committed); returns the copies."""
    record = create_record(
        session,
        marc.build_record(
            f"Sách {next(_numbers)}", language=lang, classification=cls, subjects=list(subjects)
        ),
        actor_id=None,
    )
    numbers = [f"{prefix}.{next(_numbers) + 20000:05d}" for _ in range(copies)]
    items = add_items(
        session,
        record,
        accession_numbers=numbers,
        values={"library_id": library.id, "status": values.pop("status", "available"), **values},
        actor_id=None,
    )
    session.commit()
    return items


def new_batch(session, library, **kwargs):
    batch = svc.create_batch(session, home_library_id=library.id, actor_id=None, **kwargs)
    session.commit()
    return batch


def test_fill_adds_eligible_copies_one_per_title_and_never_the_forbidden(session, library, make_site):
    other_library = make_site(code="TVMC", name="Thư viện Mộc Châu", kind=SiteKind.DISTRICT_LIBRARY)
    good = [title(session, library, copies=2)[0].record_id for _ in range(6)]
    rare = title(session, library, is_rare=True)
    local = title(session, library, copies=3, is_local_studies=True)
    lost = title(session, library, status="lost")
    elsewhere = title(session, other_library)
    english = title(session, library, lang="eng")
    taken = title(session, library)
    holder = new_batch(session, library)
    svc.add_copy(session, holder, taken[0].accession_number, None)
    session.commit()
    batch = new_batch(session, library, target_size=10)

    plan, report = fill_svc.fill(session, batch, fill_svc.FillSettings(seed=1), actor_id=None)
    session.commit()
    added_records = sorted(i.record_id for i in report.added)
    assert added_records == sorted(good)  # one copy of each of the 6 good titles, nothing else
    forbidden = {x.id for x in rare + local + lost + elsewhere + english + taken}
    assert not forbidden & {i.id for i in report.added}
    assert not forbidden & {c.item_id for c in plan.result.chosen}  # not even proposed
    assert plan.request.size == 10
    assert svc.copy_count(session, batch.id) == 6
    # Every added copy is in rotation and audited; one summary event for the fill.
    assert {i.status for i in report.added} == {"in_rotation"}
    assert session.scalar(select(func.count()).where(AuditEvent.action == "batch.fill")) == 1


def test_dry_run_changes_nothing_and_size_defaults_to_what_is_missing(session, library):
    for _ in range(5):
        title(session, library)
    batch = new_batch(session, library, target_size=3)
    svc.add_copy(session, batch, title(session, library)[0].accession_number, None)
    session.commit()
    plan, report = fill_svc.fill(session, batch, fill_svc.FillSettings(), actor_id=None, dry_run=True)
    assert plan.request.size == 2 and len(plan.result.chosen) == 2
    assert report.added == [] and svc.copy_count(session, batch.id) == 1


def test_destination_history_leaves_out_recent_titles_only(session, library, point):
    old_titles = [title(session, library, copies=2) for _ in range(3)]
    fresh = [title(session, library)[0].record_id for _ in range(3)]
    # The point received the first title 4 shipments ago, the other two in its last 3 shipments.
    for copies in [old_titles[0], old_titles[1], old_titles[2], []]:
        past = new_batch(session, library)
        shipment = Shipment(
            batch_id=past.id,
            kind=ShipmentKind.LIBRARY_TO_POINT.value,
            from_site_id=library.id,
            to_site_id=point.id,
            expected_count=1,
            status="received",
        )
        session.add(shipment)
        session.flush()
        if copies:
            session.add(ShipmentLine(shipment_id=shipment.id, item_id=copies[1].id))
        session.commit()
    recent = fill_svc.recent_titles(session, point.id, 3)
    assert recent == {old_titles[1][0].record_id, old_titles[2][0].record_id}
    batch = new_batch(session, library, target_size=20)
    plan = fill_svc.plan_fill(
        session, batch, fill_svc.FillSettings(destination_id=point.id, last_rotations=3, seed=5)
    )
    chosen = {c.record_id for c in plan.result.chosen}
    assert chosen == set(fresh) | {old_titles[0][0].record_id}
    assert plan.result.skipped.get(filling.EXCLUDED_TITLE, 0) == 0  # filtered in SQL already
    assert plan.request.excluded_titles == recent


def test_languages_and_children_shares(session, library):
    for _ in range(8):
        title(session, library, lang="vie", cls="335.4")
        title(session, library, lang="tha", cls="895.91")
        title(session, library, lang="hmn", cls="398.2", prefix="TN")
    title(session, library, lang="eng")
    batch = new_batch(session, library, target_size=10)
    settings = fill_svc.FillSettings(
        size=10,
        language_shares={"vie": 40, "tha": 30, "hmn": 30},
        children_percent=30,
        seed=2,
    )
    plan = fill_svc.plan_fill(session, batch, settings)
    b = plan.result.breakdown()
    assert b["language"] == {"hmn": 3, "tha": 3, "vie": 4}
    assert b["children"] == {"children": 3, "other": 7}
    assert plan.result.shortfalls == []


def test_class_mix_is_sampled_per_class(session, library):
    for _ in range(6):
        title(session, library, cls="895.922")
        title(session, library, cls="335.4")
        title(session, library, cls="959.7")
    batch = new_batch(session, library)
    plan = fill_svc.plan_fill(
        session, batch, fill_svc.FillSettings(size=6, class_shares={"8": 50, "3": 50}, seed=9)
    )
    assert plan.result.breakdown()["class"] == {"3": 3, "8": 3}
    even = fill_svc.plan_fill(session, batch, fill_svc.FillSettings(size=9, even_classes=True, seed=9))
    assert even.result.breakdown()["class"] == {"3": 3, "8": 3, "9": 3}


def test_same_seed_same_choice(session, library):
    for _ in range(30):
        title(session, library)
    batch = new_batch(session, library)
    first = fill_svc.plan_fill(session, batch, fill_svc.FillSettings(size=10, seed=7))
    again = fill_svc.plan_fill(session, batch, fill_svc.FillSettings(size=10, seed=7))
    assert [c.item_id for c in first.result.chosen] == [c.item_id for c in again.result.chosen]


def test_a_copy_taken_by_another_batch_meanwhile_is_reported_not_an_error(session, library):
    copies = [title(session, library)[0] for _ in range(4)]
    batch = new_batch(session, library)
    plan = fill_svc.plan_fill(session, batch, fill_svc.FillSettings(size=4, seed=1))
    assert len(plan.result.chosen) == 4
    # Between the preview and the commit, another batch takes one of the chosen copies.
    other = new_batch(session, library)
    svc.add_copy(session, other, copies[2].accession_number, None)
    session.commit()
    report = svc.add_items_by_id(session, batch, [c.item_id for c in plan.result.chosen], None)
    session.commit()
    assert len(report.added) == 3
    assert [number for number, _ in report.refused] == [copies[2].accession_number]
    assert "already in batch" in report.refused[0][1][0][0]
    rows = session.scalars(
        select(BatchItem).where(BatchItem.item_id == copies[2].id, BatchItem.is_open)
    ).all()
    assert [r.batch_id for r in rows] == [other.id]


def test_fill_refuses_a_batch_not_being_assembled(session, library):
    title(session, library)
    batch = new_batch(session, library)
    svc.add_copy(session, batch, title(session, library)[0].accession_number, None)
    svc.mark_ready(session, batch, seal_number="S1", box_count=1, actor_id=None)
    session.commit()
    with pytest.raises(Conflict):
        fill_svc.plan_fill(session, batch, fill_svc.FillSettings(size=1))


def test_loading_reads_a_sample_not_the_whole_stock(session, library):
    # 300 eligible copies; a fill of 5 loads a bounded sample (MIN_SAMPLE per bucket), not all 300.
    record = create_record(session, marc.build_record("Nhiều bản"), actor_id=None)
    add_items(
        session,
        record,
        accession_numbers=[f"VV.{n:05d}" for n in range(1, 301)],
        values={"library_id": library.id, "status": "available"},
        actor_id=None,
    )
    session.commit()
    batch = new_batch(session, library)
    plan = fill_svc.plan_fill(
        session, batch, fill_svc.FillSettings(size=5, allow_duplicate_titles=True, seed=3)
    )
    assert len(plan.result.chosen) == 5
    assert plan.sampled <= fill_svc.MIN_SAMPLE + fill_svc.WINDOWS * 10
    assert session.scalar(select(func.count()).select_from(Item)) == 300
