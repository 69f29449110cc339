"""Fault drills: the app's work in a real process, SIGKILLed at chosen moments; the data is all there or none.

Each drill starts the work as an operator would (`flask catalog import`, `flask acquisitions
receive`, a dispatch through the rotation service, `flask rotation plan`), kills the process right
after it starts, as soon as it holds a write transaction, and a moment later (progress is seen by
polling the database for an open write transaction), checks the invariants after every kill, then
lets the work run to the end and checks that it is complete. Runs on SQLite and PostgreSQL
(`--db postgresql`).
"""

from __future__ import annotations

import json
import random
from datetime import date

import pytest
from sqlalchemy import func, select, text

from app.audit.models import AuditEvent
from app.network.models import SiteKind
from catalog import marc
from catalog.acquisitions import services as acq
from catalog.acquisitions.models import Intake, IntakeItem, IntakeStatus
from catalog.models import AccessionSequence, Item, ItemStatus, Record, RecordMarc
from catalog.services import create_record, create_sequence
from rotation.models import (
    Batch,
    BatchItem,
    BatchStatus,
    PlanAssignment,
    PlanStatus,
    RotationPlan,
    Shipment,
    ShipmentLine,
)
from tests.faults import procs
from tests.fuzz.mutators import DATA

KILLS = ("start", "writing", "late")


@pytest.fixture
def database_url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


@pytest.fixture
def env(database_url, tmp_path):
    return procs.env_for(database_url, tmp_path / "instance")


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


# --- import -------------------------------------------------------------------------------------


def test_a_killed_import_leaves_all_of_the_file_or_none(session, database_url, env, tmp_path):
    # 1,500 real records (≈ 1.4 MB: big enough for the forked reader process to be used).
    raw = (DATA / "loc/loc_booksall2016_part01_first10000.mrc").read_bytes()
    end = 0
    for _ in range(1500):
        end = raw.index(b"\x1d", end) + 1
    path = tmp_path / "big.mrc"
    path.write_bytes(raw[:end])
    rng = random.Random(7)
    outcomes = []
    for moment in (*KILLS, "never"):
        proc = procs.start_flask(["catalog", "import", str(path)], env)
        kill = procs.run_and_kill(proc, database_url, moment=moment, rng=rng)
        session.rollback()
        records = count(session, Record)
        outcomes.append((moment, kill.killed, kill.was_writing, kill.orphans, records))
        imports = session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "catalog.import")
        )
        assert records in (0, 1500), (moment, records)
        assert count(session, RecordMarc) == records
        assert session.execute(text("SELECT count(*) FROM record_search")).scalar() == records
        assert imports >= 1 if records else imports == 0  # the audit event commits with the records
        if moment == "never":
            assert not kill.killed and kill.returncode == 0, kill.stderr[-2000:]
            assert records == 1500
    print("import kills (moment, killed, was writing, reader processes left, records):", outcomes)
    # The drill really killed a writer at least once (else it proves nothing).
    assert any(killed and writing for _m, killed, writing, _o, _r in outcomes), outcomes
    # No reader process outlives a killed import (catalog.importing._leave_when_orphaned).
    assert all(orphans == 0 for _m, _k, _w, orphans, _r in outcomes), outcomes


# --- receiving ----------------------------------------------------------------------------------


@pytest.fixture
def intakes(session, library) -> list[int]:
    """One draft intake of 1,000 copies (4 titles × 250) per moment: each kill gets a fresh one."""
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=6, actor_id=None)
    records = [
        create_record(session, marc.build_record(f"Sách nhập {n}", year=2025), actor_id=None)
        for n in range(4)
    ]
    ids = []
    for _ in (*KILLS, "never"):
        intake = acq.create_intake(
            session,
            {"library_id": library.id, "intake_date": date(2026, 11, 2), "source": "purchase"},
            actor_id=None,
        )
        for record in records:
            acq.add_line(
                session,
                intake.id,
                {"record_id": record.id, "copies": 250, "unit_price_vnd": "85000", "sequence_id": seq.id},
                actor_id=None,
            )
        ids.append(intake.id)
    session.commit()
    return ids


def test_a_killed_receiving_leaves_the_intake_received_whole_or_draft(session, database_url, env, intakes):
    rng = random.Random(11)
    outcomes = []
    received = 0
    for moment, intake_id in zip((*KILLS, "never"), intakes, strict=True):
        seq_next = session.scalar(select(AccessionSequence.next_number))
        items_before = count(session, Item)
        session.rollback()
        proc = procs.start_flask(["acquisitions", "receive", str(intake_id)], env)
        kill = procs.run_and_kill(proc, database_url, moment=moment, rng=rng)
        session.rollback()
        intake = session.get(Intake, intake_id)
        session.refresh(intake)
        new_items = count(session, Item) - items_before
        links = session.scalar(
            select(func.count()).select_from(IntakeItem).join(Item).where(Item.id == IntakeItem.item_id)
        )
        if intake.status == IntakeStatus.RECEIVED:
            received += 1
            assert intake.register_number == received  # numbers without gaps, none lost to a kill
            assert new_items == 1000
            assert session.scalar(select(AccessionSequence.next_number)) == seq_next + 1000
        else:
            assert intake.register_number is None and new_items == 0
            assert session.scalar(select(AccessionSequence.next_number)) == seq_next
        assert links == count(session, Item)  # every copy belongs to its intake
        outcomes.append((moment, kill.killed, kill.was_writing, intake.status, new_items))
        if moment == "never":
            assert intake.status == IntakeStatus.RECEIVED, kill.stderr[-2000:]
    print("receive kills (moment, killed, was writing, status, copies):", outcomes)
    assert any(killed and writing for _m, killed, writing, _s, _n in outcomes), outcomes


# --- dispatch -----------------------------------------------------------------------------------


@pytest.fixture
def batches(session, library, make_site, make_ready_batch) -> tuple[list[int], int]:
    """One ready batch of 250 copies per moment, and a point to send them to."""
    point = make_site(code="BDVH1", name="Điểm BĐVHX Chiềng Cơi")
    seq = create_sequence(session, library_id=library.id, prefix="LC", width=6, actor_id=None)
    ids = []
    for n, _moment in enumerate((*KILLS, "never")):
        batch = make_ready_batch(
            library_id=library.id,
            sequence_id=seq.id,
            code=f"LC-2026-{n + 1:04d}",
            title=f"Sách luân chuyển {n}",
            copies=250,
        )
        ids.append(batch.id)
    session.commit()
    return ids, point.id


def test_a_killed_dispatch_sends_the_whole_batch_or_nothing(session, database_url, env, batches):
    batch_ids, point_id = batches
    rng = random.Random(13)
    outcomes = []
    for moment, batch_id in zip((*KILLS, "never"), batch_ids, strict=True):
        proc = procs.start_worker(["dispatch", str(batch_id), str(point_id)], env)
        kill = procs.run_and_kill(proc, database_url, moment=moment, rng=rng)
        session.rollback()
        batch = session.get(Batch, batch_id)
        session.refresh(batch)
        statuses = dict(
            session.execute(
                select(Item.status, func.count())
                .join(BatchItem, BatchItem.item_id == Item.id)
                .where(BatchItem.batch_id == batch_id)
                .group_by(Item.status)
            ).all()
        )
        shipment = session.scalar(select(Shipment).where(Shipment.batch_id == batch_id))
        if shipment is not None:
            assert batch.status == BatchStatus.IN_TRANSIT.value
            assert statuses == {ItemStatus.IN_TRANSIT.value: 250}
            lines = (
                select(func.count()).select_from(ShipmentLine).where(ShipmentLine.shipment_id == shipment.id)
            )
            assert session.scalar(lines) == 250
        else:
            assert batch.status == BatchStatus.READY.value and batch.holder_site_id is not None
            assert statuses == {ItemStatus.IN_ROTATION.value: 250}
        # Every copy is in at most one batch, and no shipment line is left without its shipment.
        assert session.scalar(select(func.count(func.distinct(BatchItem.item_id)))) == count(
            session, BatchItem
        )
        assert count(session, ShipmentLine) == 250 * count(session, Shipment)
        outcomes.append((moment, kill.killed, kill.was_writing, shipment is not None))
        if moment == "never":
            assert shipment is not None, kill.stderr[-2000:]
    print("dispatch kills (moment, killed, was writing, shipped):", outcomes)
    assert any(killed and writing for _m, killed, writing, _s in outcomes), outcomes


# --- plan save ----------------------------------------------------------------------------------

PLAN_POINTS = 40  # × 12 months = 480 cells, written in one transaction after the solve
PLAN_YEARS = {"start": 2027, "writing": 2028, "late": 2029, "never": 2030}  # one year per run


@pytest.fixture
def plan_network(session, library, make_site, make_ready_batch) -> int:
    """40 Post-Culture points and 60 ready batches of 3 copies (more batches than points)."""
    for n in range(PLAN_POINTS):
        make_site(code=f"KH{n:02d}", name=f"Điểm kế hoạch {n}")
    seq = create_sequence(session, library_id=library.id, prefix="KH", width=6, actor_id=None)
    for n in range(60):
        make_ready_batch(
            library_id=library.id,
            sequence_id=seq.id,
            code=f"KH-{n + 1:04d}",
            title=f"Sách kế hoạch {n}",
            copies=3,
        )
    session.commit()
    return PLAN_POINTS


def test_a_killed_plan_save_leaves_no_plan_or_one_whole_plan(session, database_url, env, plan_network):
    rng = random.Random(17)
    outcomes = []
    for moment, year in PLAN_YEARS.items():
        proc = procs.start_flask(["rotation", "plan", "--year", str(year), "--json"], env)
        if moment == "never":
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
            report = json.loads(out)
            kill = procs.Kill(False, 0.0, False, proc.returncode, "")
        else:
            kill = procs.run_and_kill(proc, database_url, moment=moment, rng=rng)
        session.rollback()
        plans = session.scalars(select(RotationPlan).where(RotationPlan.year == year)).all()
        assert len(plans) in (0, 1), (moment, len(plans))
        cells = 0
        if plans:
            plan = plans[0]
            assert (plan.status, plan.period_months, plan.version) == (PlanStatus.DRAFT.value, 1, 1)
            cells = session.scalar(
                select(func.count()).select_from(PlanAssignment).where(PlanAssignment.plan_id == plan.id)
            )
            # Every point has a batch in every month (there are more batches than points).
            assert cells == plan_network * 12, (moment, cells)
            events = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "plan.create", AuditEvent.object_id == str(plan.id)
                )
            ).all()
            assert len(events) == 1 and events[0].changes["cells"] == [None, cells]
        # No assignment without its plan (the foreign key is not trusted: SQLite may not enforce it).
        orphans = session.scalar(
            select(func.count())
            .select_from(PlanAssignment)
            .outerjoin(RotationPlan, RotationPlan.id == PlanAssignment.plan_id)
            .where(RotationPlan.id.is_(None))
        )
        assert orphans == 0
        assert count(session, PlanAssignment) == plan_network * 12 * count(session, RotationPlan)
        outcomes.append((moment, kill.killed, kill.was_writing, len(plans), cells))
        if moment == "never":
            assert len(plans) == 1 and report["plan_id"] == plans[0].id
            assert report["served"] == cells == plan_network * 12
            assert report["points"] == plan_network and report["batches"] == 60
    print("plan kills (moment, killed, was writing, plans, cells):", outcomes)
    assert any(killed and writing for _m, killed, writing, _p, _c in outcomes), outcomes
