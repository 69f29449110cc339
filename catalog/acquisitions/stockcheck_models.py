"""Stock checks ("kiểm kê"): a count of a library's (or one location's) copies and what was found.

While a check is open its finds are recorded one scan at a time; closing it freezes the result
(expected, found, missing, away) and the list of the missing copies, which Part III of the general
register and "withdraw the missing" read.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from app.errors import N_


class StockCheckStatus(StrEnum):
    """A stock check is open while copies are scanned, then closed once (its result is frozen)."""

    OPEN = "open"
    CLOSED = "closed"


STOCK_CHECK_STATUS_LABELS = {
    StockCheckStatus.OPEN: N_("Open"),
    StockCheckStatus.CLOSED: N_("Closed"),
}


class StockCheck(Base):
    """One stock check of a library, or of one location ("kho") of it."""

    __tablename__ = "stock_checks"
    __table_args__ = (
        # One open check per library and location: a second "start" fails in the database too.
        Index(
            "uq_stock_checks_open_library_location",
            "library_id",
            "location",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_stock_checks_library_started", "library_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    location: Mapped[str] = mapped_column(String(120), default="")  # "" = the whole library
    status: Mapped[str] = mapped_column(String(20), default=StockCheckStatus.OPEN.value)
    notes: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The frozen result, written when the check is closed.
    expected_count: Mapped[int | None] = mapped_column(Integer)
    found_count: Mapped[int | None] = mapped_column(Integer)
    missing_count: Mapped[int | None] = mapped_column(Integer)
    away_count: Mapped[int | None] = mapped_column(Integer)

    library = relationship("Site", lazy="joined")

    @property
    def is_open(self) -> bool:
        return self.status == StockCheckStatus.OPEN.value

    def __repr__(self) -> str:
        return f"<StockCheck {self.id} {self.status}>"


class StockCheckFind(Base):
    """A copy found (scanned or ticked) during a check; scanning it again changes nothing."""

    __tablename__ = "stock_check_finds"
    __table_args__ = (
        UniqueConstraint("check_id", "item_id", name="uq_stock_check_finds_check_id_item_id"),
        Index("ix_stock_check_finds_item_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("stock_checks.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    found_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    found_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class StockCheckMissing(Base):
    """A copy that was expected but not found when its check was closed (frozen with the result)."""

    __tablename__ = "stock_check_missing"
    __table_args__ = (
        UniqueConstraint("check_id", "item_id", name="uq_stock_check_missing_check_id_item_id"),
        Index("ix_stock_check_missing_item_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("stock_checks.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    accession_number: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="")  # the copy's status at closing
