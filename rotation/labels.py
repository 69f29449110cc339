"""Box labels of a rotation batch: one per box, with the QR code of the batch's short address.

Pure domain code: it reads the batch, its copies and where it goes with a SQLAlchemy session and
returns label drawing functions for the label engine (app/labels/engine.py); no Flask. Texts come
through the `gettext(msgid, **params)` function the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.errors import N_, NotFound
from app.network.models import Site
from app.timeutil import to_local
from rotation.models import (
    Batch,
    BatchItem,
    BatchStatus,
    PlanAssignment,
    PlanStatus,
    RotationPlan,
    Shipment,
    ShipmentStatus,
)

if TYPE_CHECKING:
    from app.labels.engine import LabelCanvas

Label = Callable[["LabelCanvas"], None]
Gettext = Callable[..., str]


def english(msgid: str, **params: Any) -> str:
    """Return the English text of a message (the default when no translation function is given)."""
    return msgid % params if params else msgid


@dataclass(frozen=True)
class Destination:
    """Where a batch goes next and when: from its shipment on the way, or from an approved plan."""

    site_code: str
    site_name: str
    district: str
    first_day: date | None
    last_day: date | None
    source: str  # "shipment", "plan" or "point" (the point holding it, nothing planned next)


@dataclass(frozen=True)
class BatchLabelInfo:
    """What the box labels of a batch show."""

    code: str
    address: str
    box_count: int
    copies: int
    destination: Destination | None


def batch_address(base_url: str, code: str) -> str:
    """Return the short stable address a box label's QR code holds: BASE_URL/b/<batch code>."""
    return f"{base_url.rstrip('/')}/b/{quote(code, safe='.-_')}"


def _district(site: Site) -> str:
    unit = site.admin_unit
    if unit is None:
        return ""
    return (unit.district or unit).name


def _month_end(year: int, month: int) -> date:
    if month == 12:
        return date(year, 12, 31)
    return date.fromordinal(date(year, month + 1, 1).toordinal() - 1)


def plan_period_days(year: int, period: int, period_months: int) -> tuple[date, date]:
    """Return the first and last day of a plan cell (period 0-based within the plan's year)."""
    first_month = period * period_months + 1
    last_month = first_month + period_months - 1
    return date(year, first_month, 1), _month_end(year, last_month)


def destination(session: Session, batch: Batch, *, today: date) -> Destination | None:
    """Return the batch's current or next destination, or None when nobody has decided it yet.

    A shipment on its way wins (its destination, from the dispatch day to the batch's due-back day);
    then the earliest cell of an approved plan that has not ended by `today`; then, for a batch at a
    point with nothing planned, that point (from the day it received the batch).
    """
    shipment = session.scalar(
        select(Shipment).where(
            Shipment.batch_id == batch.id, Shipment.status == ShipmentStatus.DISPATCHED.value
        )
    )
    if shipment is not None:
        site = shipment.to_site
        return Destination(
            site.code,
            site.name,
            _district(site),
            to_local(shipment.dispatched_at).date() if shipment.dispatched_at else None,
            batch.due_back_on,
            "shipment",
        )
    rows = session.execute(
        select(PlanAssignment.point_id, PlanAssignment.period, RotationPlan.year, RotationPlan.period_months)
        .join(RotationPlan, RotationPlan.id == PlanAssignment.plan_id)
        .where(
            PlanAssignment.batch_id == batch.id,
            RotationPlan.status == PlanStatus.APPROVED.value,
            RotationPlan.year >= today.year - 1,
        )
    ).all()
    cells = []
    for point_id, period, year, months in rows:
        first, last = plan_period_days(year, period, months)
        if last >= today:
            cells.append((first, last, point_id))
    if cells:
        first, last, point_id = min(cells)
        site = session.get(Site, point_id)
        if site is not None:
            return Destination(site.code, site.name, _district(site), first, last, "plan")
    if batch.status == BatchStatus.AT_POINT.value and batch.holder_site_id is not None:
        # Nothing planned after this stay: the point that holds the batch, since it received it.
        received = session.scalar(
            select(Shipment)
            .where(
                Shipment.batch_id == batch.id,
                Shipment.status == ShipmentStatus.RECEIVED.value,
                Shipment.to_site_id == batch.holder_site_id,
            )
            .order_by(Shipment.received_at.desc())
            .limit(1)
        )
        site = session.get(Site, batch.holder_site_id)
        if site is not None:
            since = (
                to_local(received.received_at).date()
                if received is not None and received.received_at
                else None
            )
            return Destination(site.code, site.name, _district(site), since, batch.due_back_on, "point")
    return None


def batch_label_info(session: Session, code: str, *, base_url: str, today: date) -> BatchLabelInfo:
    """Return what the box labels of batch `code` show; raise NotFound for an unknown code."""
    batch = session.scalar(select(Batch).where(Batch.code == (code or "").strip()))
    if batch is None:
        raise NotFound(N_("No batch with code %(code)s."), field="code", code=code)
    copies = session.scalar(
        select(func.count()).select_from(BatchItem).where(BatchItem.batch_id == batch.id, BatchItem.is_open)
    )
    if not copies:  # a closed batch: count what it held
        copies = session.scalar(
            select(func.count()).select_from(BatchItem).where(BatchItem.batch_id == batch.id)
        )
    return BatchLabelInfo(
        code=batch.code,
        address=batch_address(base_url, batch.code),
        box_count=max(batch.box_count or 1, 1),
        copies=copies or 0,
        destination=destination(session, batch, today=today),
    )


def period_text(dest: Destination, gettext: Gettext = english) -> str:
    """Return the period of a destination as text (dd/mm/yyyy – dd/mm/yyyy), or say it is not set."""
    if dest.first_day and dest.last_day:
        return gettext(
            "%(first)s – %(last)s",
            first=dest.first_day.strftime("%d/%m/%Y"),
            last=dest.last_day.strftime("%d/%m/%Y"),
        )
    if dest.first_day:
        return gettext("from %(first)s", first=dest.first_day.strftime("%d/%m/%Y"))
    return gettext("period not set")


def label_lines(info: BatchLabelInfo, box: int, gettext: Gettext = english) -> dict[str, str]:
    """Return the texts of box `box` (1-based): destination, district, period, copies, box n of m."""
    dest = info.destination
    return {
        "code": info.code,
        "destination": f"{dest.site_code} — {dest.site_name}" if dest else gettext("destination not set"),
        "district": (dest.district or gettext("district not set")) if dest else "",
        "period": period_text(dest, gettext) if dest else gettext("period not set"),
        "copies": gettext("Copies: %(n)d", n=info.copies),
        "box": gettext("Box %(n)d of %(m)d", n=box, m=info.box_count),
    }


def batch_labels(info: BatchLabelInfo, gettext: Gettext = english) -> list[Label]:
    """Return one label per box of the batch."""
    return [box_label(info.address, label_lines(info, n, gettext)) for n in range(1, info.box_count + 1)]


def box_label(address: str, lines: dict[str, str]) -> Label:
    """Return the drawing function of one box label (QR code on the left, texts on the right)."""

    def draw(c: LabelCanvas) -> None:
        p = c.padding
        inner_w, inner_h = c.width - 2 * p, c.height - 2 * p
        size = min(inner_h, inner_w * 0.42)
        c.qr(address, p, p + (inner_h - size) / 2, size)
        x = p + size + 1.0
        w = c.width - p - x
        unit = inner_h / 10
        y = p
        c.text(lines["code"], x, y, w, unit * 2.2, size=18, min_size=6, bold=True, max_lines=1)
        y += unit * 2.2
        c.text(lines["destination"], x, y, w, unit * 2.6, size=10, min_size=5, bold=True, max_lines=2)
        y += unit * 2.6
        if lines["district"]:
            c.text(lines["district"], x, y, w, unit * 1.2, size=8, min_size=4.5, max_lines=1)
        y += unit * 1.2
        c.text(lines["period"], x, y, w, unit * 1.2, size=8, min_size=4.5, max_lines=1)
        y += unit * 1.3
        half = w / 2
        c.text(lines["copies"], x, y, half, unit * 1.5, size=9, min_size=4.5, max_lines=1)
        c.text(
            lines["box"],
            x + half,
            y,
            w - half,
            unit * 1.5,
            size=10,
            min_size=4.5,
            bold=True,
            align="right",
            max_lines=1,
        )

    return draw
