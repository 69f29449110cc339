"""Time helpers: the library works in Vietnam's time zone, the database in UTC."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_today() -> date:
    """Return today's date in Vietnam."""
    return datetime.now(LOCAL_TZ).date()


def to_local(value: datetime | None) -> datetime | None:
    """Return an aware datetime converted to Vietnam time."""
    return value.astimezone(LOCAL_TZ) if value else None
