"""Rotation: batches of copies, their shipments and receipts, return counts, plans and point usage."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from app.errors import N_


class BatchStatus(StrEnum):
    """Where a batch is in its journey."""

    ASSEMBLING = "assembling"  # open: copies are being added
    READY = "ready"  # packed and sealed, waiting to be sent
    IN_TRANSIT = "in_transit"
    AT_POINT = "at_point"
    RETURNED = "returned"  # back at its library, being counted
    CLOSED = "closed"  # counted and reconciled; its copies are free again


BATCH_STATUS_LABELS = {
    BatchStatus.ASSEMBLING: N_("Being assembled"),
    BatchStatus.READY: N_("Ready to send"),
    BatchStatus.IN_TRANSIT: N_("In transit"),
    BatchStatus.AT_POINT: N_("At a rotation point"),
    BatchStatus.RETURNED: N_("Returned, being counted"),
    BatchStatus.CLOSED: N_("Closed"),
}

# The one place that says which batch status may follow which.
BATCH_TRANSITIONS: dict[BatchStatus, frozenset[BatchStatus]] = {
    BatchStatus.ASSEMBLING: frozenset({BatchStatus.READY, BatchStatus.CLOSED}),
    BatchStatus.READY: frozenset({BatchStatus.ASSEMBLING, BatchStatus.IN_TRANSIT}),
    BatchStatus.IN_TRANSIT: frozenset({BatchStatus.AT_POINT, BatchStatus.RETURNED, BatchStatus.READY}),
    BatchStatus.AT_POINT: frozenset({BatchStatus.IN_TRANSIT}),
    BatchStatus.RETURNED: frozenset({BatchStatus.CLOSED, BatchStatus.READY}),
    BatchStatus.CLOSED: frozenset(),
}
OPEN_BATCH_STATUSES = frozenset(set(BatchStatus) - {BatchStatus.CLOSED})


def can_change_batch_status(old: BatchStatus | str, new: BatchStatus | str) -> bool:
    """Return True when a batch may go from status `old` to status `new`."""
    return BatchStatus(new) in BATCH_TRANSITIONS[BatchStatus(old)]


class Batch(Base):
    """A coded set of copies that travels from point to point in one or more sealed boxes."""

    __tablename__ = "batches"
    __table_args__ = (
        CheckConstraint("target_size > 0", name="target_positive"),
        CheckConstraint("box_count > 0", name="boxes_positive"),
        Index("ix_batches_status", "status"),
        Index("ix_batches_holder_site_id", "holder_site_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # LC-2026-0042
    home_library_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    holder_site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))  # None while in transit
    status: Mapped[str] = mapped_column(String(20), default=BatchStatus.ASSEMBLING.value)
    target_size: Mapped[int] = mapped_column(Integer, default=200)
    box_count: Mapped[int] = mapped_column(Integer, default=1)
    seal_number: Mapped[str] = mapped_column(String(64), default="")
    due_back_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    parent_batch_id: Mapped[int | None] = mapped_column(ForeignKey("batches.id"))  # split from
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    home_library = relationship("Site", foreign_keys=[home_library_id], lazy="joined")
    holder = relationship("Site", foreign_keys=[holder_site_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return f"<Batch {self.code} {self.status}>"


class BatchItem(Base):
    """A copy's membership of a batch; `is_open` while the batch is not closed.

    The partial unique index makes "a copy is in at most one open batch" a database rule, so two
    people adding the same copy to two batches at the same moment cannot both succeed.
    """

    __tablename__ = "batch_items"
    __table_args__ = (
        Index(
            "uq_batch_items_open_item",
            "item_id",
            unique=True,
            sqlite_where=text("is_open"),
            postgresql_where=text("is_open"),
        ),
        UniqueConstraint("batch_id", "item_id", name="uq_batch_items_batch_item"),
        Index("ix_batch_items_batch_id", "batch_id"),
        # Any membership of a copy (open or closed): its history, and the partial index above is
        # only usable for the predicate `is_open`.
        Index("ix_batch_items_item_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    batch = relationship("Batch")
    item = relationship("Item", lazy="joined")


class ShipmentKind(StrEnum):
    """Which way a shipment goes."""

    LIBRARY_TO_POINT = "library_to_point"
    POINT_TO_POINT = "point_to_point"
    POINT_TO_LIBRARY = "point_to_library"


class ShipmentStatus(StrEnum):
    """A shipment is dispatched, then received (or cancelled before it arrives)."""

    DISPATCHED = "dispatched"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class Shipment(Base):
    """One move of a batch from one site to another: the chain of custody, step by step."""

    __tablename__ = "shipments"
    __table_args__ = (
        # At most one shipment of a batch is on its way at any time.
        Index(
            "uq_shipments_open_batch",
            "batch_id",
            unique=True,
            sqlite_where=text("status = 'dispatched'"),
            postgresql_where=text("status = 'dispatched'"),
        ),
        Index("ix_shipments_to_site_status", "to_site_id", "status"),
        Index("ix_shipments_batch_id", "batch_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    kind: Mapped[str] = mapped_column(String(20))
    from_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    to_site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    status: Mapped[str] = mapped_column(String(12), default=ShipmentStatus.DISPATCHED.value)
    expected_count: Mapped[int] = mapped_column(Integer)
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    received_by_name: Mapped[str] = mapped_column(String(200), default="")  # typed by the receiver
    received_count: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)

    batch = relationship("Batch", lazy="joined")
    from_site = relationship("Site", foreign_keys=[from_site_id], lazy="joined")
    to_site = relationship("Site", foreign_keys=[to_site_id], lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class LineState(StrEnum):
    """What happened to one copy at a receipt or a return count."""

    EXPECTED = "expected"
    RECEIVED = "received"
    MISSING = "missing"
    DAMAGED = "damaged"
    EXTRA = "extra"  # scanned but not in the batch


class Resolution(StrEnum):
    """How a difference found at a return count was settled."""

    FOUND_LATER = "found_later"
    CHARGED_TO_POINT = "charged_to_point"
    WRITTEN_OFF_LOST = "written_off_lost"
    WRITTEN_OFF_DAMAGED = "written_off_damaged"
    RETURNED_TO_OWNER = "returned_to_owner"  # an extra copy sent back where it belongs


class ShipmentLine(Base):
    """One copy of a shipment: expected, then received, missing, damaged or extra."""

    __tablename__ = "shipment_lines"
    __table_args__ = (
        UniqueConstraint("shipment_id", "item_id", name="uq_shipment_lines_shipment_item"),
        Index("ix_shipment_lines_item_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    state: Mapped[str] = mapped_column(String(12), default=LineState.EXPECTED.value)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(String(24))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(300), default="")

    item = relationship("Item", lazy="joined")


class PlanStatus(StrEnum):
    """A plan is drafted, then approved."""

    DRAFT = "draft"
    APPROVED = "approved"


class RotationPlan(Base):
    """Which batch goes to which point in which period of a year."""

    __tablename__ = "rotation_plans"
    __table_args__ = (CheckConstraint("period_months IN (1, 3)", name="period_months"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    period_months: Mapped[int] = mapped_column(Integer, default=1)  # 1: months, 3: quarters
    name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default=PlanStatus.DRAFT.value)
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    assignments = relationship("PlanAssignment", cascade="all, delete-orphan", passive_deletes=True)

    __mapper_args__ = {"version_id_col": version}


class PlanAssignment(Base):
    """One cell of the plan grid: a batch at a point in a period (pinned when staff fixed it)."""

    __tablename__ = "plan_assignments"
    __table_args__ = (
        UniqueConstraint("plan_id", "point_id", "period", name="uq_plan_assignments_point_period"),
        UniqueConstraint("plan_id", "batch_id", "period", name="uq_plan_assignments_batch_period"),
        CheckConstraint("period >= 0", name="period_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("rotation_plans.id", ondelete="CASCADE"))
    point_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"))
    period: Mapped[int] = mapped_column(Integer)  # 0-based within the plan's year
    is_pinned: Mapped[bool] = mapped_column(Boolean, default=False)


class PointUsage(Base):
    """A point's month: visitors, item uses and readers' requests (Circular 33/2018)."""

    __tablename__ = "point_usage"
    __table_args__ = (
        UniqueConstraint("site_id", "month", name="uq_point_usage_site_month"),
        CheckConstraint("visitors >= 0 AND item_uses >= 0 AND reader_requests >= 0", name="non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    visitors: Mapped[int] = mapped_column(Integer, default=0)
    item_uses: Mapped[int] = mapped_column(Integer, default=0)
    reader_requests: Mapped[int] = mapped_column(Integer, default=0)
    notes: Mapped[str] = mapped_column(String(500), default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
