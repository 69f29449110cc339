"""Acquisitions services: suppliers, intakes and lines, receiving once (races too), withdrawals."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.errors import Conflict, ValidationError
from app.network.models import SiteKind
from catalog import marc
from catalog.acquisitions import services as acq
from catalog.acquisitions.models import Intake, IntakeItem, IntakeStatus, Withdrawal, WithdrawalLine
from catalog.models import AccessionSequence, Item, ItemStatus
from catalog.services import change_item_status, create_record, create_sequence


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


@pytest.fixture
def district(make_site):
    return make_site(code="TVMC", name="Thư viện huyện Mộc Châu", kind=SiteKind.DISTRICT_LIBRARY)


@pytest.fixture
def vn(session, library) -> AccessionSequence:
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    session.commit()
    return seq


@pytest.fixture
def records(session):
    rows = [
        create_record(session, marc.build_record(t, authors=[a], year=2019), actor_id=None)
        for t, a in (("Dế Mèn phiêu lưu ký", "Tô Hoài"), ("Số đỏ", "Vũ Trọng Phụng"))
    ]
    session.commit()
    return rows


def make_intake(session, library, records, vn, copies=(3, 2), price=85_000) -> Intake:
    intake = acq.create_intake(
        session,
        {
            "library_id": library.id,
            "intake_date": date(2026, 11, 2),
            "source": "purchase",
            "document_number": "HĐ 0012",
        },
        actor_id=None,
    )
    for rec, n in zip(records, copies, strict=False):
        acq.add_line(
            session,
            intake.id,
            {"record_id": rec.id, "copies": n, "unit_price_vnd": price, "sequence_id": vn.id},
            actor_id=None,
        )
    session.commit()
    return intake


def test_supplier_names_clash_when_folded(session):
    acq.create_supplier(session, {"name": "Công ty Sách Đông Á", "kind": "supplier"}, actor_id=None)
    session.commit()
    with pytest.raises(Conflict):
        acq.create_supplier(session, {"name": "cong ty sach  dong a"}, actor_id=None)
    session.rollback()
    decomposed = "Công ty Sách Đông Á".replace("ô", "o\u0302")
    with pytest.raises(Conflict):
        acq.create_supplier(session, {"name": decomposed}, actor_id=None)
    session.rollback()
    other = acq.create_supplier(
        session, {"name": "Nhà xuất bản Kim Đồng", "kind": "publisher"}, actor_id=None
    )
    acq.update_supplier(session, other.id, {"phone": "024 3943 4730", "is_active": False}, actor_id=None)
    session.commit()
    assert other.is_active is False and other.phone == "024 3943 4730"
    with pytest.raises(ValidationError):
        acq.create_supplier(session, {"name": "X", "kind": "robot"}, actor_id=None)


def test_bad_lines_are_refused(session, library, district, records, vn):
    intake = make_intake(session, library, records[:1], vn)
    for values, field in (
        ({"record_id": records[1].id, "copies": 0}, "copies"),
        ({"record_id": records[1].id, "copies": -3}, "copies"),
        ({"record_id": records[1].id, "copies": 10_001}, "copies"),
        ({"record_id": records[1].id, "unit_price_vnd": "-5"}, "unit_price_vnd"),
        ({"record_id": records[1].id, "unit_price_vnd": "12 tỷ"}, "unit_price_vnd"),
        ({"record_id": records[1].id, "unit_price_vnd": 5_000_000_000}, "unit_price_vnd"),
        ({"record_id": 999_999}, "record_id"),
    ):
        with pytest.raises(ValidationError) as err:
            acq.add_line(session, intake.id, values, actor_id=None)
        assert err.value.field == field, values
        session.rollback()
    other_seq = create_sequence(session, library_id=district.id, prefix="MC", actor_id=None)
    with pytest.raises(ValidationError) as err:
        acq.add_line(
            session, intake.id, {"record_id": records[1].id, "sequence_id": other_seq.id}, actor_id=None
        )
    assert err.value.field == "sequence_id"
    session.rollback()
    with pytest.raises(ValidationError):
        acq.create_intake(
            session,
            {"library_id": library.id, "intake_date": date.today() + timedelta(days=1)},
            actor_id=None,
        )
    session.rollback()
    with pytest.raises(ValidationError):
        acq.create_intake(session, {"library_id": 12345, "intake_date": date(2026, 1, 1)}, actor_id=None)


def test_totals_and_price_parsing(session, library, records, vn):
    intake = make_intake(session, library, records, vn, copies=(3, 2), price="1.250.000")
    totals = acq.intake_totals(session, intake.id)
    assert (totals.titles, totals.copies, totals.value_vnd) == (2, 5, 6_250_000)
    assert acq.parse_vnd("85 000 ₫") == 85000


def test_receive_creates_numbered_copies_once(session, library, records, vn):
    intake = make_intake(session, library, records, vn)
    result = acq.receive_intake(session, intake.id, None)
    session.commit()
    assert result.register_number == 1
    assert result.accession_numbers == ["VN.00001", "VN.00002", "VN.00003", "VN.00004", "VN.00005"]
    assert [(r.first, r.last, r.count) for r in result.ranges] == [
        ("VN.00001", "VN.00003", 3),
        ("VN.00004", "VN.00005", 2),
    ]
    session.expire_all()
    row = session.get(Intake, intake.id)
    assert row.status == IntakeStatus.RECEIVED and row.register_number == 1 and row.received_at is not None
    items = session.scalars(select(Item).order_by(Item.accession_number)).all()
    assert len(items) == 5
    assert {i.price_vnd for i in items} == {85_000}
    assert {i.source for i in items} == {"purchase"}
    assert {i.status for i in items} == {ItemStatus.AVAILABLE.value}
    assert items[0].record_id == records[0].id and items[4].record_id == records[1].id
    assert session.scalar(select(func.count()).select_from(IntakeItem)) == 5
    assert session.get(AccessionSequence, vn.id).next_number == 6
    assert acq.received_accessions(session, intake.id) == result.accession_numbers
    assert [r.first for r in acq.received_ranges(session, intake.id)] == ["VN.00001", "VN.00004"]
    # A second receive is refused and creates nothing.
    with pytest.raises(Conflict):
        acq.receive_intake(session, intake.id, None)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Item)) == 5
    assert session.get(AccessionSequence, vn.id).next_number == 6
    # Received intakes cannot change.
    with pytest.raises(Conflict):
        acq.add_line(session, intake.id, {"record_id": records[0].id}, actor_id=None)
    session.rollback()
    assert session.scalar(select(func.count()).where(AuditEvent.action == "intake.receive")) == 1
    assert session.scalar(select(func.count()).where(AuditEvent.action == "item.create")) == 5
    event = session.scalar(
        select(AuditEvent).where(AuditEvent.object_type == "item", AuditEvent.object_id == str(items[0].id))
    )
    assert event.action == "item.create" and event.object_label == "VN.00001 Dế Mèn phiêu lưu ký"
    assert event.changes["accession_number"] == [None, "VN.00001"]
    assert event.changes["price_vnd"] == [None, 85_000] and event.changes["intake_id"] == [None, intake.id]


def test_register_numbers_run_per_library_and_never_reset(session, library, district, records, vn):
    mc = create_sequence(session, library_id=district.id, prefix="MC", actor_id=None)
    session.commit()
    a = make_intake(session, library, records[:1], vn, copies=(1,))
    b = make_intake(session, library, records[:1], vn, copies=(1,))
    c = make_intake(session, district, records[:1], mc, copies=(1,))
    assert acq.receive_intake(session, a.id, None).register_number == 1
    assert acq.receive_intake(session, c.id, None).register_number == 1
    draft = make_intake(session, library, records[:1], vn, copies=(1,))
    acq.delete_intake(session, draft.id, actor_id=None)
    acq.set_register_start(session, library.id, 41, actor_id=None)
    assert acq.receive_intake(session, b.id, None).register_number == 41
    session.commit()
    with pytest.raises(ValidationError):
        acq.set_register_start(session, library.id, 10, actor_id=None)


def test_receive_refuses_bad_intakes_and_leaves_nothing(session, library, records, vn):
    empty = acq.create_intake(
        session, {"library_id": library.id, "intake_date": date(2026, 1, 5)}, actor_id=None
    )
    session.commit()
    with pytest.raises(ValidationError):
        acq.receive_intake(session, empty.id, None)
    session.rollback()
    intake = make_intake(session, library, records, vn)
    # Someone typed VN.00004 by hand meanwhile: the whole receive is refused, nothing half done.
    from catalog.services import add_items

    add_items(
        session, records[0], accession_numbers=["VN.00004"], values={"library_id": library.id}, actor_id=None
    )
    session.commit()
    with pytest.raises(Conflict):
        acq.receive_intake(session, intake.id, None)
    session.rollback()
    session.expire_all()
    assert session.get(Intake, intake.id).status == IntakeStatus.DRAFT
    assert session.scalar(select(func.count()).select_from(Item)) == 1
    assert session.get(AccessionSequence, vn.id).next_number == 1


def test_two_sessions_racing_to_receive_create_copies_once(engine, session, library, records, vn):
    intake_id = make_intake(session, library, records, vn).id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def receive() -> None:
        try:
            with Session(engine) as own:
                barrier.wait()
                acq.receive_intake(own, intake_id, None)
                own.commit()
                outcomes.append("received")
        except Conflict:
            outcomes.append("refused")
        except BaseException as exc:  # noqa: BLE001 - shown by the assertion below
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=receive) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["received", "refused"]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Item)) == 5
    assert session.get(AccessionSequence, vn.id).next_number == 6
    assert session.get(Intake, intake_id).register_number == 1


def test_two_intakes_of_one_library_racing_get_different_register_numbers(
    engine, session, library, records, vn
):
    ids = [make_intake(session, library, records[:1], vn, copies=(2,)).id for _ in range(2)]
    barrier = threading.Barrier(2)
    numbers: list[object] = []

    def receive(intake_id: int) -> None:
        try:
            with Session(engine) as own:
                barrier.wait()
                numbers.append(acq.receive_intake(own, intake_id, None).register_number)
                own.commit()
        except BaseException as exc:  # noqa: BLE001
            numbers.append(repr(exc))

    threads = [threading.Thread(target=receive, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(numbers) == [1, 2]
    session.expire_all()
    assert sorted(session.scalars(select(Item.accession_number))) == [
        "VN.00001",
        "VN.00002",
        "VN.00003",
        "VN.00004",
    ]


def test_withdraw_all_or_nothing(session, library, district, records, vn):
    intake = make_intake(session, library, records, vn)
    acq.receive_intake(session, intake.id, None)
    session.commit()
    items = {i.accession_number: i for i in session.scalars(select(Item))}
    change_item_status(session, items["VN.00002"], ItemStatus.IN_ROTATION, actor_id=None)
    session.commit()
    with pytest.raises(acq.WithdrawalRefused) as err:
        acq.withdraw(
            session, library.id, ["VN.00001", "VN.00002", "VN.99999", "vn.00001"], "damaged", "BB 01", None
        )
    problems = {(p.accession_number, p.reason) for p in err.value.problems}
    assert problems == {("VN.00002", "status"), ("VN.99999", "unknown"), ("VN.00001", "repeated")}
    session.rollback()
    session.expire_all()
    assert session.get(Item, items["VN.00001"].id).status == ItemStatus.AVAILABLE
    assert session.scalar(select(func.count()).select_from(Withdrawal)) == 0
    with pytest.raises(acq.WithdrawalRefused) as err:
        acq.withdraw(session, district.id, ["VN.00001"], "lost", "BB 02", None)
    assert err.value.problems[0].reason == "other_library"
    session.rollback()
    with pytest.raises(ValidationError):
        acq.withdraw(session, library.id, ["VN.00001"], "lost", "  ", None)
    session.rollback()

    row = acq.withdraw(
        session,
        library.id,
        acq.parse_accessions("VN.00001, VN.00003\nvn.00004"),
        "outdated",
        "BB 03/2026",
        None,
    )
    session.commit()
    session.expire_all()
    assert {session.get(Item, items[n].id).status for n in ("VN.00001", "VN.00003", "VN.00004")} == {
        "withdrawn"
    }
    lines = session.scalars(select(WithdrawalLine).where(WithdrawalLine.withdrawal_id == row.id)).all()
    assert sorted(line.accession_number for line in lines) == ["VN.00001", "VN.00003", "VN.00004"]
    assert {line.price_vnd for line in lines} == {85_000}
    assert {line.previous_status for line in lines} == {"available"}
    assert lines[0].title in {"Dế Mèn phiêu lưu ký", "Số đỏ"}
    with pytest.raises(acq.WithdrawalRefused) as err:
        acq.withdraw(session, library.id, ["VN.00001"], "lost", "BB 04", None)
    assert err.value.problems[0].reason == "already_withdrawn"
    session.rollback()
    # A copy lost in rotation (status lost) can be withdrawn.
    change_item_status(session, session.get(Item, items["VN.00002"].id), ItemStatus.LOST, actor_id=None)
    acq.withdraw(session, library.id, ["VN.00002"], "lost_in_rotation", "BB 05", None)
    session.commit()
    assert session.get(Item, items["VN.00002"].id).status == "withdrawn"


def test_catalogue_on_the_spot_and_marc_file(session, library, records, vn):
    intake = make_intake(session, library, records[:1], vn)
    line = acq.catalogue_and_add_line(
        session,
        intake.id,
        title="Lịch sử Sơn La",
        author="Nhiều tác giả",
        year="2010",
        classification="959.718",
        line_values={"copies": 4, "unit_price_vnd": "120.000"},
        actor_id=None,
    )
    session.commit()
    assert line.record.title.startswith("Lịch sử Sơn La")
    assert line.copies == 4 and line.unit_price_vnd == 120_000 and line.sequence_id == vn.id
    assert line.class_number == "959.718"
    new = marc.build_record("Truyện cổ Thái", authors=["Cầm Trọng"], year=2012)
    data = marc.record_to_iso2709(new) + marc.record_to_iso2709(
        marc.build_record("Số đỏ", authors=["Vũ Trọng Phụng"], year=2019)
    )
    result = acq.add_lines_from_marc(session, intake.id, data, actor_id=None)
    session.commit()
    assert result.created == 1 and result.matched == 1
    titles = sorted(ln.record.title for ln in result.lines)
    assert titles[0].startswith("Số đỏ") and titles[1].startswith("Truyện cổ Thái")
    assert records[1].id in {ln.record_id for ln in result.lines}
    with pytest.raises(ValidationError):
        acq.add_lines_from_marc(session, intake.id, b"not a marc file at all", actor_id=None)


def test_cli_receive(runner, session, library, records, vn):
    intake = make_intake(session, library, records, vn)
    result = runner.invoke(args=["acquisitions", "receive", str(intake.id)])
    assert result.exit_code == 0, result.output
    assert "VN.00001 – VN.00003" in result.output and "general register number 1" in result.output
    result = runner.invoke(args=["acquisitions", "receive", str(intake.id)])
    assert result.exit_code == 1 and "already been received" in result.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Item)) == 5


def test_two_sessions_withdrawing_the_same_copy_withdraw_it_once(engine, session, library, records, vn):
    intake = make_intake(session, library, records, vn)
    acq.receive_intake(session, intake.id, None)
    session.commit()
    library_id = library.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def withdraw(minutes: str) -> None:
        try:
            with Session(engine) as own:
                barrier.wait()
                acq.withdraw(own, library_id, ["VN.00001", "VN.00002"], "damaged", minutes, None)
                own.commit()
                outcomes.append("withdrawn")
        except acq.WithdrawalRefused:
            outcomes.append("refused")
        except BaseException as exc:  # noqa: BLE001 - shown by the assertion below
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=withdraw, args=(f"BB {n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert "withdrawn" in outcomes and len(outcomes) == 2
    assert outcomes.count("withdrawn") == 1, outcomes
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(WithdrawalLine)) == 2
    assert session.scalar(select(func.count()).select_from(Withdrawal)) == 1
