"""Bibliographic records (kept as MARC21), their match keys, copies and accession-number sequences."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy import select as sa_select
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from app.errors import N_
from catalog import marc as marc_io


class ItemStatus(StrEnum):
    """Where a copy is in its life."""

    IN_PROCESSING = "in_processing"
    AVAILABLE = "available"
    IN_ROTATION = "in_rotation"
    IN_TRANSIT = "in_transit"
    AT_POINT = "at_point"
    LOST = "lost"
    DAMAGED = "damaged"
    WITHDRAWN = "withdrawn"


ITEM_STATUS_LABELS = {
    ItemStatus.IN_PROCESSING: N_("In processing"),
    ItemStatus.AVAILABLE: N_("Available"),
    ItemStatus.IN_ROTATION: N_("In rotation"),
    ItemStatus.IN_TRANSIT: N_("In transit"),
    ItemStatus.AT_POINT: N_("At a rotation point"),
    ItemStatus.LOST: N_("Lost"),
    ItemStatus.DAMAGED: N_("Damaged"),
    ItemStatus.WITHDRAWN: N_("Withdrawn"),
}

# The one place that says which status may follow which.
ITEM_TRANSITIONS: dict[ItemStatus, frozenset[ItemStatus]] = {
    ItemStatus.IN_PROCESSING: frozenset(
        {ItemStatus.AVAILABLE, ItemStatus.DAMAGED, ItemStatus.LOST, ItemStatus.WITHDRAWN}
    ),
    ItemStatus.AVAILABLE: frozenset(
        {
            ItemStatus.IN_PROCESSING,
            ItemStatus.IN_ROTATION,
            ItemStatus.IN_TRANSIT,
            ItemStatus.LOST,
            ItemStatus.DAMAGED,
            ItemStatus.WITHDRAWN,
        }
    ),
    ItemStatus.IN_ROTATION: frozenset(
        {ItemStatus.AVAILABLE, ItemStatus.IN_TRANSIT, ItemStatus.LOST, ItemStatus.DAMAGED}
    ),
    ItemStatus.IN_TRANSIT: frozenset(
        {
            ItemStatus.AT_POINT,
            ItemStatus.AVAILABLE,
            ItemStatus.IN_ROTATION,
            ItemStatus.LOST,
            ItemStatus.DAMAGED,
        }
    ),
    ItemStatus.AT_POINT: frozenset({ItemStatus.IN_TRANSIT, ItemStatus.LOST, ItemStatus.DAMAGED}),
    ItemStatus.LOST: frozenset({ItemStatus.AVAILABLE, ItemStatus.WITHDRAWN}),
    ItemStatus.DAMAGED: frozenset({ItemStatus.AVAILABLE, ItemStatus.IN_PROCESSING, ItemStatus.WITHDRAWN}),
    ItemStatus.WITHDRAWN: frozenset(),
}


def can_change_status(old: ItemStatus | str, new: ItemStatus | str) -> bool:
    """Return True when a copy may go from status `old` to status `new`."""
    return ItemStatus(new) in ITEM_TRANSITIONS[ItemStatus(old)]


def iso2709_or_none(marc_json: str) -> bytes | None:
    """Return a stored record's ISO 2709 bytes, or None when ISO 2709 cannot hold it."""
    try:
        return marc_io.iso2709_from_json(marc_json)
    except marc_io.MarcWriteError:
        return None


class RecordMarc(Base):
    """A record's MARC data, kept apart from `records` so that searching and sorting read narrow rows."""

    __tablename__ = "record_marc"

    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    # The whole record, every tag (880, 9XX) kept, text exactly as received until edited.
    marc: Mapped[str] = mapped_column(Text)
    # The same record as ISO 2709 bytes, cached for export; NULL when ISO 2709 cannot hold it.
    iso2709: Mapped[bytes | None] = mapped_column(LargeBinary)


class Record(Base):
    """A bibliographic record: extracted columns; its MARC21 data (MARC-in-JSON) is in `record_marc`."""

    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_title_sort", "title_sort"),
        Index("ix_records_year_id", "year", "id"),  # year order, newest first: see catalog/search.py
        Index("ix_records_language", "language"),
        Index("ix_records_classification", "classification"),
        Index("ix_records_created_at", "created_at"),  # the plan's "records catalogued" per month
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    title_sort: Mapped[str] = mapped_column(String(1000), default="")
    responsibility: Mapped[str] = mapped_column(Text, default="")
    main_author: Mapped[str] = mapped_column(String(500), default="")
    authors: Mapped[str] = mapped_column(Text, default="")  # "; "-joined, NFC
    isbn: Mapped[str | None] = mapped_column(String(20))
    publisher: Mapped[str] = mapped_column(String(500), default="")
    place: Mapped[str] = mapped_column(String(300), default="")
    year: Mapped[int | None] = mapped_column(Integer)
    edition: Mapped[str] = mapped_column(String(300), default="")
    language: Mapped[str | None] = mapped_column(String(3))
    classification: Mapped[str | None] = mapped_column(String(100))
    classification_scheme: Mapped[str | None] = mapped_column(String(10))
    subjects: Mapped[str] = mapped_column(Text, default="")  # "; "-joined
    physical_description: Mapped[str] = mapped_column(String(500), default="")
    series: Mapped[str] = mapped_column(Text, default="")
    control_number: Mapped[str | None] = mapped_column(String(64))
    control_number_source: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(200), default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    items = relationship("Item", back_populates="record", order_by="Item.accession_number")
    keys = relationship("RecordKey", cascade="all, delete-orphan", passive_deletes=True)
    # Loaded on first use (record pages ask for it with joinedload): lists and searches never need it.
    marc_data: Mapped[RecordMarc | None] = relationship(
        RecordMarc, uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}

    @hybrid_property
    def marc(self) -> str | None:
        """The record as MARC-in-JSON text (every tag kept, text as received until edited)."""
        return self.marc_data.marc if self.marc_data is not None else None

    @marc.inplace.setter
    def _marc_setter(self, value: str) -> None:
        """Store new MARC data and its ISO 2709 bytes; the record's version goes up on the next flush."""
        data = self.marc_data
        if data is None:
            self.marc_data = RecordMarc(marc=value, iso2709=iso2709_or_none(value))
        elif data.marc != value:
            data.marc = value
            data.iso2709 = iso2709_or_none(value)
        else:
            return
        if self.id is not None:
            # The MARC data lives in another table: touch the row so that its version changes too.
            self.updated_at = utcnow()

    @marc.inplace.expression
    @classmethod
    def _marc_expression(cls):
        """In SQL: the record's MARC text as a correlated subquery (prefer joining RecordMarc)."""
        return sa_select(RecordMarc.marc).where(RecordMarc.record_id == cls.id).scalar_subquery()

    def __repr__(self) -> str:
        return f"<Record {self.id} {self.title[:40]!r}>"


class RecordKey(Base):
    """A key on which records match as duplicates: ISBN-13, LCCN, 003+001, 035, title+author+year."""

    __tablename__ = "record_keys"
    __table_args__ = (
        Index("ix_record_keys_kind_value", "kind", "value"),
        Index("ix_record_keys_record_id", "record_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    value: Mapped[str] = mapped_column(String(400))


class AccessionSequence(Base):
    """A library's accession-number series: prefix, zero-padded width, the next running number."""

    __tablename__ = "accession_sequences"
    __table_args__ = (
        CheckConstraint("width BETWEEN 1 AND 12", name="width_range"),
        CheckConstraint("next_number >= 1", name="next_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    width: Mapped[int] = mapped_column(Integer, default=5)
    next_number: Mapped[int] = mapped_column(Integer, default=1)
    description: Mapped[str] = mapped_column(String(200), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    library = relationship("Site", lazy="joined")

    def format(self, number: int) -> str:
        """Return the accession number for a running number, e.g. VN.00123."""
        return f"{self.prefix}.{number:0{self.width}d}"


class Item(Base):
    """A physical copy: accession number, call number, where it is and in what state."""

    __tablename__ = "items"
    __table_args__ = (
        Index("ix_items_record_id", "record_id"),
        # Search filters: the ids of the records with a copy in a library (and status), or in a
        # status, read from an index in record order (no row read): see catalog/search.py.
        Index("ix_items_library_record_status", "library_id", "record_id", "status"),
        Index("ix_items_status_record", "status", "record_id"),
        Index("ix_items_call_number", "call_number"),
        Index("ix_items_library_created_at", "library_id", "created_at"),  # copies acquired per month
        CheckConstraint("price_vnd IS NULL OR price_vnd >= 0", name="price_non_negative"),
        UniqueConstraint("accession_number", name="uq_items_accession_number"),
        UniqueConstraint("barcode", name="uq_items_barcode"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="RESTRICT"))
    accession_number: Mapped[str] = mapped_column(String(40))
    barcode: Mapped[str | None] = mapped_column(String(64))
    class_number: Mapped[str] = mapped_column(String(60), default="")
    author_mark: Mapped[str] = mapped_column(String(30), default="")
    call_number: Mapped[str] = mapped_column(String(120), default="")
    library_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    location: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(20), default=ItemStatus.IN_PROCESSING.value)
    price_vnd: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(120), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    is_rare: Mapped[bool] = mapped_column(Boolean, default=False)
    # Local-studies material (tài liệu địa chí): kept in the local-studies collection, never rotates.
    # The server default lets raw INSERTs that do not name the column (bulk intake, import) keep working.
    is_local_studies: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    record = relationship("Record", back_populates="items")
    library = relationship("Site", lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def status_enum(self) -> ItemStatus:
        return ItemStatus(self.status)

    def __repr__(self) -> str:
        return f"<Item {self.accession_number}>"
