"""Stock checks: one open per library and location, scans (twice, from two sessions), close, withdraw."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.errors import Conflict, ValidationError
from app.network.models import SiteKind
from catalog import marc
from catalog.acquisitions import services as acq
from catalog.acquisitions import stockcheck as sc
from catalog.acquisitions.models import Withdrawal
from catalog.acquisitions.stockcheck_models import StockCheck, StockCheckFind, StockCheckMissing
from catalog.models import Item, ItemStatus
from catalog.services import change_item_status, create_record, create_sequence


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


@pytest.fixture
def district(make_site):
    return make_site(code="TVMC", name="Thư viện huyện Mộc Châu", kind=SiteKind.DISTRICT_LIBRARY)


def receive(session, library, prefix: str, copies: int, location: str = "") -> list[str]:
    """Receive an intake of one title: return the accession numbers of its copies."""
    seq = create_sequence(session, library_id=library.id, prefix=prefix, width=5, actor_id=None)
    record = create_record(session, marc.build_record(f"Truyện cổ Thái {prefix}", year=2020), actor_id=None)
    intake = acq.create_intake(
        session, {"library_id": library.id, "intake_date": date(2026, 11, 2)}, actor_id=None
    )
    acq.add_line(
        session,
        intake.id,
        {"record_id": record.id, "copies": copies, "sequence_id": seq.id, "location": location},
        actor_id=None,
    )
    session.commit()
    result = acq.receive_intake(session, intake.id, None)
    session.commit()
    return result.accession_numbers


def item(session, number: str) -> Item:
    return session.scalar(select(Item).where(Item.accession_number == number))


def test_a_check_from_start_to_withdrawing_the_missing(session, library, district):
    numbers = receive(session, library, "VN", 6)
    other = receive(session, district, "MC", 1)
    change_item_status(session, item(session, numbers[4]), ItemStatus.IN_ROTATION, actor_id=None)
    change_item_status(session, item(session, numbers[5]), ItemStatus.WITHDRAWN, actor_id=None)
    item(session, numbers[1]).barcode = "8935000000011"
    session.commit()

    check = sc.start_check(session, library.id, actor_id=None)
    session.commit()
    # numbers[0..3] are on the shelves, [4] is away on rotation, [5] is withdrawn.
    assert sc.counts(session, check) == sc.Counts(expected=4, found=0, missing=4, away=1)

    assert sc.record_find(session, check.id, numbers[0].lower(), actor_id=None).outcome == "found"
    assert sc.record_find(session, check.id, "8935000000011", actor_id=None).outcome == "found"
    again = sc.record_find(session, check.id, numbers[0], actor_id=None)
    assert again.outcome == "already" and again.counted
    assert sc.record_find(session, check.id, "KHONG-CO", actor_id=None).outcome == "unknown"
    foreign = sc.record_find(session, check.id, other[0], actor_id=None)
    assert (foreign.outcome, foreign.library_name) == ("other_library", "Thư viện huyện Mộc Châu")
    assert sc.record_find(session, check.id, numbers[5], actor_id=None).outcome == "withdrawn"
    assert sc.record_find(session, check.id, numbers[4], actor_id=None).outcome == "away"
    with pytest.raises(ValidationError):
        sc.record_find(session, check.id, "   ", actor_id=None)
    session.commit()

    assert session.scalar(select(func.count()).select_from(StockCheckFind)) == 3  # [0], [1] and the away [4]
    assert sc.counts(session, check) == sc.Counts(expected=4, found=2, missing=2, away=1)
    assert [m.accession_number for m in sc.missing(session, check)] == [numbers[2], numbers[3]]

    closed = sc.close_check(session, check.id, actor_id=None)
    session.commit()
    assert (closed.expected_count, closed.found_count, closed.missing_count, closed.away_count) == (
        4,
        2,
        2,
        1,
    )
    with pytest.raises(Conflict):
        sc.close_check(session, check.id, actor_id=None)
    session.rollback()
    with pytest.raises(Conflict):
        sc.record_find(session, check.id, numbers[2], actor_id=None)
    session.rollback()

    # The result stays as it was when closed, even when a missing copy changes afterwards.
    change_item_status(session, item(session, numbers[3]), ItemStatus.IN_ROTATION, actor_id=None)
    session.commit()
    assert sc.counts(session, closed) == sc.Counts(4, 2, 2, 1)
    assert [m.accession_number for m in sc.missing(session, closed)] == [numbers[2], numbers[3]]

    withdrawal, left_out = sc.withdraw_missing(session, check.id, minutes_number="BB 07/2026", actor_id=None)
    session.commit()
    assert left_out == [numbers[3]]  # out on rotation now: not withdrawn
    assert [line.accession_number for line in withdrawal.lines] == [numbers[2]]
    assert withdrawal.reason == "lost" and withdrawal.library_id == library.id
    assert item(session, numbers[2]).status == ItemStatus.WITHDRAWN.value
    with pytest.raises(ValidationError):  # nothing left
        sc.withdraw_missing(session, check.id, minutes_number="BB 08/2026", actor_id=None)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Withdrawal)) == 1
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "stock_check")).all()
    assert sorted(actions) == ["stock_check.close", "stock_check.start"]


def test_one_open_check_per_library_and_location(session, library):
    sc.start_check(session, library.id, "Kho mở", actor_id=None)
    session.commit()
    with pytest.raises(Conflict):
        sc.start_check(session, library.id, "  Kho   mở ", actor_id=None)
    session.rollback()
    whole = sc.start_check(session, library.id, "", actor_id=None)  # another location: allowed
    session.commit()
    # The database refuses a second open check too, whoever writes it.
    session.add(StockCheck(library_id=library.id, location="", status="open"))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    sc.close_check(session, whole.id, actor_id=None)
    session.commit()
    assert sc.start_check(session, library.id, "", actor_id=None).is_open
    session.commit()


def test_withdrawing_needs_a_closed_check_and_start_needs_a_library(session, library, make_site):
    check = sc.start_check(session, library.id, actor_id=None)
    session.commit()
    with pytest.raises(Conflict):
        sc.withdraw_missing(session, check.id, minutes_number="BB 1", actor_id=None)
    session.rollback()
    point = make_site(kind=SiteKind.POST_CULTURE_POINT)
    with pytest.raises(ValidationError):
        sc.start_check(session, point.id, actor_id=None)
    session.rollback()


def test_a_location_check_reports_copies_shelved_elsewhere(session, library):
    stacks = receive(session, library, "VV", 2, location="Kho đóng")
    reading_room = receive(session, library, "VL", 1, location="Phòng đọc")
    check = sc.start_check(session, library.id, "Kho đóng", actor_id=None)
    session.commit()
    assert sc.counts(session, check).expected == 2
    elsewhere = sc.record_find(session, check.id, reading_room[0], actor_id=None)
    assert (elsewhere.outcome, elsewhere.location) == ("other_location", "Phòng đọc")
    assert sc.record_find(session, check.id, stacks[1], actor_id=None).outcome == "found"
    session.commit()
    assert sc.counts(session, check) == sc.Counts(2, 1, 1, 0)


def test_two_sessions_scanning_the_same_copy_count_it_once(session, engine, library):
    numbers = receive(session, library, "TN", 2)
    check = sc.start_check(session, library.id, actor_id=None)
    session.commit()
    with Session(engine) as first, Session(engine) as second:
        assert sc.record_find(first, check.id, numbers[0], actor_id=None).outcome == "found"
        first.commit()
        assert sc.record_find(second, check.id, numbers[0], actor_id=None).outcome == "already"
        second.commit()
    assert session.scalar(select(func.count()).select_from(StockCheckFind)) == 1
    # The unique (check, copy) pair is what stops two scanners racing past the "already" check.
    session.add(StockCheckFind(check_id=check.id, item_id=item(session, numbers[0]).id))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    sc.close_check(session, check.id, actor_id=None)
    session.commit()
    assert session.scalars(select(StockCheckMissing.accession_number)).all() == [numbers[1]]
