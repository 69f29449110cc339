"""Reading the audit log with filters, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.timeutil import LOCAL_TZ


@dataclass
class AuditFilter:
    """What the admin asked to see."""

    actor_id: int | None = None
    object_type: str | None = None
    object_id: str | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def _filtered(flt: AuditFilter) -> Select:
    stmt = select(AuditEvent)
    if flt.actor_id:
        stmt = stmt.where(AuditEvent.actor_id == flt.actor_id)
    if flt.object_type:
        stmt = stmt.where(AuditEvent.object_type == flt.object_type)
    if flt.object_id:
        stmt = stmt.where(AuditEvent.object_id == flt.object_id)
    if flt.action:
        stmt = stmt.where(AuditEvent.action == flt.action)
    if flt.date_from:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(flt.date_from, time.min, LOCAL_TZ))
    if flt.date_to:
        end = datetime.combine(flt.date_to + timedelta(days=1), time.min, LOCAL_TZ)
        stmt = stmt.where(AuditEvent.at < end)
    return stmt


def list_events(
    session: Session, flt: AuditFilter, *, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEvent], int]:
    """Return one page of matching events (newest first) and the total count."""
    stmt = _filtered(flt)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset(max(page - 1, 0) * per_page)
    ).all()
    return list(rows), total


def object_types(session: Session) -> list[str]:
    """Return the object types that appear in the log."""
    return list(session.scalars(select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)))


def actions(session: Session) -> list[str]:
    """Return the actions that appear in the log."""
    return list(session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
