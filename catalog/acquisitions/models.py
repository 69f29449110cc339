"""Suppliers, intakes and their lines, withdrawals and stock checks."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from app.errors import N_


class SupplierKind(StrEnum):
    """Who a supplier is."""

    SUPPLIER = "supplier"
    DONOR = "donor"
    PUBLISHER = "publisher"
    OTHER = "other"


SUPPLIER_KIND_LABELS = {
    SupplierKind.SUPPLIER: N_("Supplier"),
    SupplierKind.DONOR: N_("Donor"),
    SupplierKind.PUBLISHER: N_("Publisher"),
    SupplierKind.OTHER: N_("Other"),
}


class IntakeSource(StrEnum):
    """How the books of an intake came to the library (the same codes as a copy's source)."""

    PURCHASE = "purchase"
    DONATION = "donation"
    LEGAL_DEPOSIT = "legal_deposit"
    EXCHANGE = "exchange"
    PROGRAMME = "programme"


INTAKE_SOURCE_LABELS = {
    IntakeSource.PURCHASE: N_("Purchase"),
    IntakeSource.DONATION: N_("Donation"),
    IntakeSource.LEGAL_DEPOSIT: N_("Legal deposit"),
    IntakeSource.EXCHANGE: N_("Exchange"),
    IntakeSource.PROGRAMME: N_("Programme funds"),
}


class IntakeStatus(StrEnum):
    """An intake is prepared as a draft, then received once (its copies exist from then on)."""

    DRAFT = "draft"
    RECEIVED = "received"


INTAKE_STATUS_LABELS = {
    IntakeStatus.DRAFT: N_("Draft"),
    IntakeStatus.RECEIVED: N_("Received"),
}

# The one place that says which status may follow which.
INTAKE_TRANSITIONS: dict[IntakeStatus, frozenset[IntakeStatus]] = {
    IntakeStatus.DRAFT: frozenset({IntakeStatus.RECEIVED}),
    IntakeStatus.RECEIVED: frozenset(),
}


class WithdrawalReason(StrEnum):
    """Why copies leave the stock."""

    LOST = "lost"
    DAMAGED = "damaged"
    OUTDATED = "outdated"
    LOST_IN_ROTATION = "lost_in_rotation"
    OTHER = "other"


WITHDRAWAL_REASON_LABELS = {
    WithdrawalReason.LOST: N_("Lost"),
    WithdrawalReason.DAMAGED: N_("Damaged"),
    WithdrawalReason.OUTDATED: N_("Outdated"),
    WithdrawalReason.LOST_IN_ROTATION: N_("Lost in rotation"),
    WithdrawalReason.OTHER: N_("Other"),
}


class Supplier(Base):
    """A bookseller, publisher or donor that intakes come from."""

    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("name_key", name="uq_suppliers_name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    # The name NFC-normalised, folded (no marks, đ→d) and lower-cased: two spellings of one name clash.
    name_key: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20), default=SupplierKind.SUPPLIER.value)
    address: Mapped[str] = mapped_column(String(500), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    tax_code: Mapped[str] = mapped_column(String(20), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Supplier {self.id} {self.name[:40]!r}>"


class IntakeRegisterCounter(Base):
    """The next running number of a library's general register (Part I); it never goes back."""

    __tablename__ = "intake_register_counters"
    __table_args__ = (CheckConstraint("next_number >= 1", name="next_positive"),)

    library_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), primary_key=True)
    next_number: Mapped[int] = mapped_column(Integer, default=1)


class Intake(Base):
    """An intake ("đợt bổ sung"): books that came to a library together, on one invoice or decision."""

    __tablename__ = "intakes"
    __table_args__ = (
        UniqueConstraint("library_id", "register_number", name="uq_intakes_library_id_register_number"),
        Index("ix_intakes_library_date", "library_id", "intake_date"),
        CheckConstraint("register_number IS NULL OR register_number >= 1", name="register_positive"),
        CheckConstraint(
            "(status = 'received') = (register_number IS NOT NULL)", name="register_number_when_received"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    intake_date: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(20), default=IntakeSource.PURCHASE.value)
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id", ondelete="RESTRICT"), index=True
    )
    document_number: Mapped[str] = mapped_column(String(100), default="")  # invoice or decision number
    fund: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default=IntakeStatus.DRAFT.value, index=True)
    # The running number in the library's general register, given when the intake is received.
    register_number: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    library = relationship("Site", lazy="joined")
    supplier = relationship(Supplier, lazy="joined")
    lines = relationship(
        "IntakeLine",
        back_populates="intake",
        order_by="IntakeLine.position, IntakeLine.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def is_draft(self) -> bool:
        return self.status == IntakeStatus.DRAFT.value

    def __repr__(self) -> str:
        return f"<Intake {self.id} {self.status}>"


class IntakeLine(Base):
    """One title of an intake: how many copies, at what price, numbered from which series."""

    __tablename__ = "intake_lines"
    __table_args__ = (
        CheckConstraint("copies > 0", name="copies_positive"),
        CheckConstraint("unit_price_vnd IS NULL OR unit_price_vnd >= 0", name="price_non_negative"),
        Index("ix_intake_lines_intake_id", "intake_id"),
        Index("ix_intake_lines_record_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    intake_id: Mapped[int] = mapped_column(ForeignKey("intakes.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="RESTRICT"))
    copies: Mapped[int] = mapped_column(Integer, default=1)
    unit_price_vnd: Mapped[int | None] = mapped_column(BigInteger)
    sequence_id: Mapped[int | None] = mapped_column(ForeignKey("accession_sequences.id", ondelete="RESTRICT"))
    class_number: Mapped[str] = mapped_column(String(60), default="")
    author_mark: Mapped[str] = mapped_column(String(30), default="")
    call_number: Mapped[str] = mapped_column(String(120), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    intake = relationship(Intake, back_populates="lines")
    record = relationship("Record", lazy="joined")
    sequence = relationship("AccessionSequence", lazy="joined")

    @property
    def total_vnd(self) -> int:
        return (self.unit_price_vnd or 0) * self.copies


class IntakeItem(Base):
    """A copy created by receiving an intake line (a copy comes from at most one line)."""

    __tablename__ = "intake_items"

    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    intake_line_id: Mapped[int] = mapped_column(ForeignKey("intake_lines.id", ondelete="CASCADE"), index=True)


class Withdrawal(Base):
    """Withdrawal minutes ("biên bản xuất kho / thanh lý"): copies that left a library's stock."""

    __tablename__ = "withdrawals"
    __table_args__ = (Index("ix_withdrawals_library_date", "library_id", "withdrawal_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    withdrawal_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(20))
    minutes_number: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    library = relationship("Site", lazy="joined")
    lines = relationship(
        "WithdrawalLine",
        back_populates="withdrawal",
        order_by="WithdrawalLine.accession_number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class WithdrawalLine(Base):
    """One withdrawn copy, with what it was when it left (the copy row stays, status withdrawn)."""

    __tablename__ = "withdrawal_lines"
    __table_args__ = (
        UniqueConstraint("item_id", name="uq_withdrawal_lines_item_id"),  # a copy leaves once
        Index("ix_withdrawal_lines_withdrawal_id", "withdrawal_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    withdrawal_id: Mapped[int] = mapped_column(ForeignKey("withdrawals.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="RESTRICT"))
    accession_number: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(500), default="")
    price_vnd: Mapped[int | None] = mapped_column(BigInteger)
    previous_status: Mapped[str] = mapped_column(String(20), default="")

    withdrawal = relationship(Withdrawal, back_populates="lines")
