"""Demo acquisitions: suppliers and donors, one received and one draft intake of the demo catalogue."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from app.network.models import Site, SiteKind
from catalog.acquisitions import services as acq
from catalog.acquisitions.models import IntakeItem, IntakeLine, Supplier
from catalog.models import AccessionSequence, Item, Record

SUPPLIERS = (
    (
        "Công ty Cổ phần Phát hành sách Sơn La",
        "supplier",
        "Đường Tô Hiệu, TP Sơn La",
        "0212 385 2345",
        "5500123456",
    ),
    ("Nhà xuất bản Kim Đồng", "publisher", "55 Quang Trung, Hà Nội", "024 3943 4730", "0100108712"),
    ("Công ty Sách Phương Nam", "supplier", "940 Ba Tháng Hai, TP Hồ Chí Minh", "028 3866 3447", ""),
    ("Quỹ Sách cho vùng cao", "donor", "", "", ""),
)


def load_demo_acquisitions(session: Session, today: date | None = None) -> str | None:
    """Stage demo suppliers and intakes unless they exist already (needs the demo catalogue)."""
    if session.scalar(select(exists().where(Supplier.is_demo.is_(True)))):
        return None
    library = session.scalar(
        select(Site).where(Site.kind == SiteKind.PROVINCIAL_LIBRARY.value).order_by(Site.id).limit(1)
    )
    if library is None:
        return None
    series = {
        s.prefix: s
        for s in session.scalars(select(AccessionSequence).where(AccessionSequence.library_id == library.id))
    }
    records = list(
        session.scalars(select(Record).where(Record.is_demo.is_(True)).order_by(Record.id).limit(8))
    )
    if len(records) < 6 or not series:
        return None
    suppliers = []
    for name, kind, address, phone, tax_code in SUPPLIERS:
        row = acq.create_supplier(
            session,
            {"name": name, "kind": kind, "address": address, "phone": phone, "tax_code": tax_code},
            actor_id=None,
        )
        row.is_demo = True
        suppliers.append(row)
    today = today or date.today()
    first_series = series.get("VN") or next(iter(series.values()))
    big_series = series.get("VV") or first_series

    received = acq.create_intake(
        session,
        {
            "library_id": library.id,
            "intake_date": today - timedelta(days=20),
            "source": "purchase",
            "supplier_id": suppliers[0].id,
            "document_number": "HĐ 0000231",
            "fund": "Kinh phí bổ sung sách năm " + str(today.year),
            "notes": "Sách mua theo kế hoạch bổ sung quý.",
        },
        actor_id=None,
    )
    received.is_demo = True
    for record, copies, price, seq in zip(
        records[:4],
        (3, 5, 2, 4),
        (85_000, 120_000, 1_250_000, 60_000),
        (first_series, big_series) * 2,
        strict=True,
    ):
        acq.add_line(
            session,
            received.id,
            {"record_id": record.id, "copies": copies, "unit_price_vnd": price, "sequence_id": seq.id},
            actor_id=None,
        )
    result = acq.receive_intake(session, received.id, None)
    _mark_demo_items(session, received.id)  # demo data, as the demo catalogue's copies are

    draft = acq.create_intake(
        session,
        {
            "library_id": library.id,
            "intake_date": today - timedelta(days=2),
            "source": "donation",
            "supplier_id": suppliers[3].id,
            "document_number": "QĐ 45/QĐ-TV",
            "notes": "Sách tặng cho kho luân chuyển.",
        },
        actor_id=None,
    )
    draft.is_demo = True
    for record, copies in zip(records[4:6], (3, 6), strict=True):
        acq.add_line(
            session,
            draft.id,
            {"record_id": record.id, "copies": copies, "unit_price_vnd": 0, "sequence_id": first_series.id},
            actor_id=None,
        )
    session.flush()
    return (
        f"Demo acquisitions: {len(suppliers)} suppliers and donors, intake #{received.id} received "
        f"({result.copies} copies, register number {result.register_number}), intake #{draft.id} draft."
    )


def _mark_demo_items(session: Session, intake_id: int) -> None:
    ids = (
        select(IntakeItem.item_id)
        .join(IntakeLine, IntakeLine.id == IntakeItem.intake_line_id)
        .where(IntakeLine.intake_id == intake_id)
    )
    session.execute(
        update(Item).where(Item.id.in_(ids)).values(is_demo=True).execution_options(synchronize_session=False)
    )
