"""Fixtures of the plan tests: a provincial library, two district libraries, a rotation point."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest

from app.network.models import SiteKind

_n = itertools.count(1)


@pytest.fixture
def libs(make_site):
    """The provincial library, two district libraries and a rotation point."""
    return {
        "prov": make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY),
        "d1": make_site(code="TVMC", name="Thư viện huyện Mộc Châu", kind=SiteKind.DISTRICT_LIBRARY),
        "d2": make_site(code="TVYC", name="Thư viện huyện Yên Châu", kind=SiteKind.DISTRICT_LIBRARY),
        "point": make_site(code="BDVH1", name="Điểm BĐVH xã Chiềng Sơn", kind=SiteKind.POST_CULTURE_POINT),
    }


@pytest.fixture
def add_copies(session):
    """Return a function adding n copies to a library, created at a given UTC time."""
    from catalog.models import Item, Record

    def add(library_id: int, created_at: datetime, n: int = 1, *, record_created_at: datetime | None = None):
        record = Record(title=f"Sách {next(_n)}", created_at=record_created_at or created_at)
        session.add(record)
        session.flush()
        for _ in range(n):
            session.add(
                Item(
                    record_id=record.id,
                    accession_number=f"VN.{next(_n):06d}",
                    library_id=library_id,
                    created_at=created_at,
                )
            )
        session.commit()
        return record

    return add


@pytest.fixture
def add_shipment(session):
    """Return a function adding a shipment of a new batch, dispatched at a given UTC time."""
    from rotation.models import Batch, Shipment

    def add(from_id: int, to_id: int, at: datetime, *, kind="library_to_point", status="received"):
        batch = Batch(code=f"LC-{next(_n):05d}", home_library_id=from_id, status="at_point")
        session.add(batch)
        session.flush()
        session.add(
            Shipment(
                batch_id=batch.id,
                kind=kind,
                from_site_id=from_id,
                to_site_id=to_id,
                status=status,
                expected_count=200,
                dispatched_at=at,
            )
        )
        session.commit()

    return add
