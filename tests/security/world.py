"""A small but complete data set for the security tests: every kind of object a URL can name.

Built with each package's services (as the application builds them), so every route of the URL map
can be opened with real identifiers: a record and its copies, batches shipped to the operator's point
and to another point, an open batch, an intake with a line, a supplier, a withdrawal, a label
printer, a rotation plan, usage figures, and one user per role.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from unittest.mock import patch

from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app.auth.models import Role, User
from app.auth.services import create_user
from app.network.models import Site, SiteKind
from app.network.services import create_site
from catalog import marc
from catalog.models import Item, ItemStatus, Record
from catalog.services import add_items, create_record, create_sequence
from rotation.models import Batch, BatchItem, BatchStatus, Shipment

PASSWORD = "mat-khau-bao-mat-1"
RETURN_ENDPOINTS = (
    "rotation.returns",
    "rotation.return_arrived",
    "rotation.return_close",
    "rotation.return_finish",
    "rotation.return_pdf",
    "rotation.return_resolve",
    "rotation.return_scan",
)
ROLES = ("anonymous", *(r.value for r in Role))

_n = itertools.count(1)
TEXTS = {
    "title": "Nỗi buồn chiến tranh",
    "author": "Bảo Ninh",
    "note": "Giải thưởng Hội Nhà văn 1991",
    "point": "Điểm BĐVHX Chiềng Cơi",
    "supplier": "Công ty Sách Sơn La",
    "batch_note": "Thùng có dán tem",
}


@cache
def _fast_hash(password: str) -> str:
    """A cheap salted hash for the test users (scrypt costs 0.6 s a user; hashing is tested elsewhere)."""
    return generate_password_hash(password, method="pbkdf2:sha256:1000")


@dataclass
class World:
    """Identifiers of the objects built, and the user name of each role."""

    library: Site
    point: Site  # the operator's point
    other_point: Site  # a point the operator does not run
    record: Record
    item: Item
    batch: Batch  # shipped to `point`, waiting for receipt
    other_batch: Batch  # shipped to `other_point`
    open_batch: Batch  # assembling at the library
    shipment: Shipment
    other_shipment: Shipment
    other_item: Item  # a copy inside other_batch
    users: dict[str, User] = field(default_factory=dict)
    ids: dict[str, object] = field(default_factory=dict)


def _copies(
    session: Session,
    library: Site,
    seq_id: int,
    title: str,
    n: int,
    status: ItemStatus,
    author: str = "Bảo Ninh",
    note: str = "",
) -> list[Item]:
    record = create_record(
        session,
        marc.build_record(
            title, authors=[author], year=2011, classification="895.9223", notes=[note] if note else []
        ),
        actor_id=None,
    )
    return add_items(
        session,
        record,
        count=n,
        sequence_id=seq_id,
        values={"library_id": library.id, "status": status.value},
        actor_id=None,
    )


def _ready_batch(session: Session, library: Site, items: list[Item], notes: str = "") -> Batch:
    batch = Batch(
        code=f"LC-2026-{9000 + next(_n):04d}",
        home_library_id=library.id,
        holder_site_id=library.id,
        status=BatchStatus.READY.value,
        notes=notes,
    )
    session.add(batch)
    session.flush()
    for item in items:
        session.add(BatchItem(batch_id=batch.id, item_id=item.id))
    session.flush()
    return batch


def build_world(session: Session, texts: dict[str, str] | None = None) -> World:
    """Create the data set in `session` and commit it; `texts` replaces some names (see TEXTS)."""
    texts = {**TEXTS, **(texts or {})}
    from app.labels import services as label_services
    from catalog.acquisitions import services as acq
    from catalog.acquisitions import stockcheck
    from rotation import usage
    from rotation.services import batches as batch_svc
    from rotation.services import plans as plan_svc
    from rotation.services import shipments as ship_svc

    library = create_site(
        session,
        {"code": "TVT", "name": "Thư viện tỉnh Sơn La", "kind": SiteKind.PROVINCIAL_LIBRARY},
        actor_id=None,
    )
    point = create_site(
        session,
        {"code": "BDA", "name": texts["point"], "kind": SiteKind.POST_CULTURE_POINT},
        actor_id=None,
    )
    other = create_site(
        session,
        {"code": "BDB", "name": "Điểm BĐVHX Mường Bú", "kind": SiteKind.POST_CULTURE_POINT},
        actor_id=None,
    )
    session.flush()
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    session.flush()
    free = _copies(
        session, library, seq.id, texts["title"], 3, ItemStatus.AVAILABLE, texts["author"], texts["note"]
    )
    mine = _copies(session, library, seq.id, "Số đỏ", 2, ItemStatus.IN_ROTATION)
    theirs = _copies(session, library, seq.id, "Dế mèn phiêu lưu ký", 2, ItemStatus.IN_ROTATION)
    batch = _ready_batch(session, library, mine, texts["batch_note"])
    other_batch = _ready_batch(session, library, theirs)
    shipment = ship_svc.dispatch(session, batch, to_site_id=point.id, actor_id=None)
    other_shipment = ship_svc.dispatch(session, other_batch, to_site_id=other.id, actor_id=None)
    # A batch back on its way from the other point: the return count pages need one.
    back = _copies(session, library, seq.id, "Tắt đèn", 2, ItemStatus.IN_ROTATION)
    back_batch = _ready_batch(session, library, back)
    out = ship_svc.dispatch(session, back_batch, to_site_id=other.id, actor_id=None)
    ship_svc.receive(
        session, out, actor_id=None, actor_site_ids=None, received_count=2, received_by_name="Lò Văn Tâm"
    )
    return_shipment = ship_svc.dispatch(session, back_batch, to_site_id=library.id, actor_id=None)
    open_batch = batch_svc.create_batch(session, home_library_id=library.id, actor_id=None)
    session.flush()

    supplier = acq.create_supplier(session, {"name": texts["supplier"]}, actor_id=None)
    intake = acq.create_intake(
        session,
        {"library_id": library.id, "intake_date": date(2026, 10, 1), "supplier_id": supplier.id},
        actor_id=None,
    )
    line = acq.add_line(
        session,
        intake.id,
        {"record_id": free[0].record_id, "copies": 2, "unit_price_vnd": 95_000},
        actor_id=None,
    )
    withdrawal = acq.withdraw(session, library.id, [free[2].accession_number], "damaged", "BB 01/2026", None)
    check = stockcheck.start_check(session, library.id, "Kho mở", actor_id=None)
    printer = label_services.create_printer(session, {"name": "Máy in nhãn"}, actor_id=None)
    plan = plan_svc.solve_plan(session, year=2027, period_months=3, actor_id=None).plan_row
    usage.record_usage(session, point.id, date(2026, 9, 1), 12, 30, 2, actor_id=None, actor_site_ids=None)
    usage.record_usage(session, other.id, date(2026, 9, 1), 40, 99, 7, actor_id=None, actor_site_ids=None)
    session.flush()

    users: dict[str, User] = {}
    for role in Role:
        with patch("app.auth.services.generate_password_hash", _fast_hash):
            users[role.value] = create_user(
                session,
                username=f"sec{role.value.replace('_', '')}{next(_n)}",
                password=PASSWORD,
                role=role,
                site_ids=[point.id] if role == Role.POINT_OPERATOR else [],
            )
    session.commit()
    world = World(
        library=library,
        point=point,
        other_point=other,
        record=session.get(Record, free[0].record_id),
        item=free[1],
        batch=batch,
        other_batch=other_batch,
        open_batch=open_batch,
        shipment=shipment,
        other_shipment=other_shipment,
        other_item=theirs[0],
        users=users,
    )
    world.ids = {
        "record_id": free[0].record_id,
        "item_id": free[1].id,
        "intake_id": intake.id,
        "line_id": line.id,
        "supplier_id": supplier.id,
        "withdrawal_id": withdrawal.id,
        "printer_id": printer.id,
        "check_id": check.id,
        "site_id": point.id,
        "plan_id": plan.id,
        "shipment_id": {"*": shipment.id, **dict.fromkeys(RETURN_ENDPOINTS, return_shipment.id)},
        "code": batch.code,
        "accession": mine[0].accession_number,
        "user_id": users[Role.VIEWER.value].id,
        "fmt": {"catalog.export_record": "xml", "plan.export_progress": "csv"},
        "name": "a4-3x8",
        "filename": {"static": "app.css", "rotation.static": "rotation/scan.js"},
    }
    return world
