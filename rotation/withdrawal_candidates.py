"""Copies written off at a return count, handed over to acquisitions for their withdrawal minutes.

A copy settled as written off (lost or damaged) or charged to the point at the library's return count
becomes lost or damaged (rotation/services/shipments.py `resolve`). Until acquisitions withdraw it,
it waits here. The application factory registers `written_off_copies` with
catalog.acquisitions.handover, which the catalogue reads without importing the rotation.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.network.models import Site
from catalog.acquisitions.handover import WAITING_STATUSES, WithdrawalCandidate
from catalog.acquisitions.models import WithdrawalReason
from catalog.models import Item, ItemStatus, Record
from rotation.models import Batch, Resolution, Shipment, ShipmentLine

# Resolutions after which the copy leaves the stock.
WRITE_OFF_RESOLUTIONS = (
    Resolution.WRITTEN_OFF_LOST.value,
    Resolution.WRITTEN_OFF_DAMAGED.value,
    Resolution.CHARGED_TO_POINT.value,
)


def written_off_copies(
    session: Session, library_id: int | None = None, *, shipment_id: int | None = None
) -> list[WithdrawalCandidate]:
    """Return the copies written off at a return count and not withdrawn yet (one query).

    The query starts from the few copies that are lost or damaged (indexed by status) and joins their
    shipment lines; only a copy whose latest line was written off counts (a copy found later and lost
    again elsewhere, e.g. at a stock check, is not the rotation's).
    """
    query = (
        select(
            Item.id,
            Item.accession_number,
            Item.status,
            Item.library_id,
            Record.title,
            ShipmentLine.resolution,
            ShipmentLine.resolved_at,
            Shipment.id,
            Batch.code,
            Site.name,
        )
        .join(ShipmentLine, ShipmentLine.item_id == Item.id)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(Batch, Batch.id == Shipment.batch_id)
        .join(Site, Site.id == Shipment.from_site_id)
        .join(Record, Record.id == Item.record_id)
        .where(Item.status.in_(WAITING_STATUSES))
        .order_by(ShipmentLine.id.desc())
    )
    if library_id is not None:
        query = query.where(Item.library_id == library_id)
    if shipment_id is not None:  # only the copies of this count (their later lines still decide)
        query = query.where(
            Item.id.in_(select(ShipmentLine.item_id).where(ShipmentLine.shipment_id == shipment_id))
        )
    seen: set[int] = set()
    result = []
    rows = session.execute(query)
    for item_id, number, status, item_library, title, resolution, resolved_at, ship_id, code, site in rows:
        if item_id in seen:
            continue
        seen.add(item_id)  # the latest line of the copy decides
        if resolution not in WRITE_OFF_RESOLUTIONS or (shipment_id is not None and ship_id != shipment_id):
            continue
        reason = (
            WithdrawalReason.DAMAGED
            if status == ItemStatus.DAMAGED.value
            else WithdrawalReason.LOST_IN_ROTATION
        )
        result.append(
            WithdrawalCandidate(
                item_id=item_id,
                accession_number=number,
                title=title or "",
                library_id=item_library,
                reason=reason.value,
                source_key=f"shipment:{ship_id}",
                source_label=f"{code} · {site}",
                resolved_at=resolved_at,
            )
        )
    return result


def provider(session: Session, library_id: int | None) -> list[WithdrawalCandidate]:
    """The handover provider: every copy written off in rotation that waits for minutes."""
    return written_off_copies(session, library_id)
