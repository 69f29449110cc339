"""The computed indicators: copies acquired, records catalogued, rotations, by month in Vietnam time."""

from __future__ import annotations

from datetime import UTC, date, datetime

from app.plan.indicators import computed_figures, provider_for, register_provider
from app.plan.models import Indicator
from app.plan.progress import progress


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_factory_registers_the_three_providers(app):
    for indicator in (Indicator.COPIES_ACQUIRED, Indicator.RECORDS_CATALOGUED, Indicator.ROTATIONS):
        assert provider_for(indicator) is not None


def test_hand_entered_indicators_take_no_provider():
    import pytest

    with pytest.raises(ValueError):
        register_provider(Indicator.TALKS, lambda *a: {})


def test_copies_acquired_by_library_and_local_month(session, libs, add_copies):
    prov, d1 = libs["prov"].id, libs["d1"].id
    add_copies(prov, utc(2025, 12, 31, 16, 59), 4)  # 23:59 on 31 Dec in Vietnam: last year
    add_copies(prov, utc(2025, 12, 31, 17, 0), 3)  # 00:00 on 1 Jan in Vietnam: January
    add_copies(prov, utc(2026, 1, 31, 16, 59), 2)  # 23:59 on 31 Jan: January
    add_copies(prov, utc(2026, 1, 31, 17, 0), 5)  # 00:00 on 1 Feb: February
    add_copies(d1, utc(2026, 6, 15, 3, 0), 7)
    add_copies(d1, utc(2026, 12, 31, 17, 0), 9)  # 1 Jan 2027 in Vietnam: next year

    counts = provider_for(Indicator.COPIES_ACQUIRED)(session, 2026, None)
    assert counts == {(prov, 1): 5, (prov, 2): 5, (d1, 6): 7}
    assert provider_for(Indicator.COPIES_ACQUIRED)(session, 2026, [d1]) == {(d1, 6): 7}
    assert provider_for(Indicator.COPIES_ACQUIRED)(session, 2025, None) == {(prov, 12): 4}


def test_records_count_for_the_provincial_library(session, libs, add_copies):
    prov = libs["prov"].id
    add_copies(libs["d1"].id, utc(2026, 3, 2), 1, record_created_at=utc(2026, 3, 2))
    add_copies(prov, utc(2026, 3, 5), 1, record_created_at=utc(2026, 2, 28, 18, 0))  # 1 Mar local
    add_copies(prov, utc(2026, 5, 5), 1, record_created_at=utc(2025, 5, 5))

    fn = provider_for(Indicator.RECORDS_CATALOGUED)
    assert fn(session, 2026, None) == {(prov, 3): 2}
    assert fn(session, 2026, [prov]) == {(prov, 3): 2}
    assert fn(session, 2026, [libs["d1"].id]) == {}


def test_rotations_count_batches_sent_from_a_library(session, libs, add_shipment):
    prov, d1, point = libs["prov"].id, libs["d1"].id, libs["point"].id
    add_shipment(prov, point, utc(2026, 2, 3))
    add_shipment(prov, point, utc(2026, 2, 20), status="dispatched")
    add_shipment(prov, point, utc(2026, 2, 21), status="cancelled")  # not counted
    add_shipment(d1, point, utc(2026, 4, 30, 17, 30))  # 1 May local
    add_shipment(point, d1, utc(2026, 6, 1), kind="point_to_library")  # not counted

    fn = provider_for(Indicator.ROTATIONS)
    assert fn(session, 2026, None) == {(prov, 2): 2, (d1, 5): 1}
    assert fn(session, 2026, [d1]) == {(d1, 5): 1}


def test_progress_uses_the_providers(session, libs, add_copies, add_shipment):
    from app.plan.services import set_targets

    d1 = libs["d1"]
    set_targets(session, library_id=d1.id, year=2026, values={"copies_acquired": 1000}, actor_id=None)
    session.commit()
    add_copies(d1.id, utc(2026, 1, 10), 120)
    add_copies(d1.id, utc(2026, 3, 10), 80)
    add_copies(libs["prov"].id, utc(2026, 3, 10), 50)

    row = progress(session, 2026, d1.id, today=date(2026, 4, 1)).row("copies_acquired")
    assert row.monthly[:4] == [120, 0, 80, 0]
    assert row.percent == 20.0
    province = progress(session, 2026, None, today=date(2026, 4, 1)).row("copies_acquired")
    assert province.total == 250
    assert set(computed_figures(session, 2026, None)) == {
        Indicator.COPIES_ACQUIRED,
        Indicator.RECORDS_CATALOGUED,
        Indicator.ROTATIONS,
    }
