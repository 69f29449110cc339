"""Administrative units (with validity dates) and sites: libraries and rotation points."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from app.errors import N_


class UnitLevel(StrEnum):
    """Level of an administrative unit."""

    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


UNIT_LEVEL_LABELS = {
    UnitLevel.PROVINCE: N_("Province"),
    UnitLevel.DISTRICT: N_("District / city"),
    UnitLevel.COMMUNE: N_("Commune / ward"),
}


class SiteKind(StrEnum):
    """What a site is; the first three are libraries, the rest rotation points."""

    PROVINCIAL_LIBRARY = "provincial_library"
    DISTRICT_LIBRARY = "district_library"
    BRANCH = "branch"
    POST_CULTURE_POINT = "post_culture_point"
    SCHOOL_LIBRARY = "school_library"
    OTHER_POINT = "other_point"


SITE_KIND_LABELS = {
    SiteKind.PROVINCIAL_LIBRARY: N_("Provincial library"),
    SiteKind.DISTRICT_LIBRARY: N_("District / city library"),
    SiteKind.BRANCH: N_("Branch, station or book point"),
    SiteKind.POST_CULTURE_POINT: N_("Commune Post-Culture point"),
    SiteKind.SCHOOL_LIBRARY: N_("School library"),
    SiteKind.OTHER_POINT: N_("Other rotation point"),
}

LIBRARY_KINDS = frozenset({SiteKind.PROVINCIAL_LIBRARY, SiteKind.DISTRICT_LIBRARY, SiteKind.BRANCH})
POINT_KINDS = frozenset(set(SiteKind) - LIBRARY_KINDS)


class AdminUnit(Base):
    """A province, district or commune, valid between two dates (open-ended when still in force)."""

    __tablename__ = "admin_units"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
        Index("ix_admin_units_parent_id", "parent_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    parent = relationship("AdminUnit", remote_side=[id], lazy="joined", join_depth=2)

    def is_valid_on(self, day: date) -> bool:
        """Return True when the unit was in force on `day`."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @property
    def district(self) -> AdminUnit | None:
        """Return the district this unit lies in (itself for a district, None after 2025)."""
        unit: AdminUnit | None = self
        while unit is not None:
            if unit.level == UnitLevel.DISTRICT:
                return unit
            unit = unit.parent
        return None

    def __repr__(self) -> str:
        return f"<AdminUnit {self.code} {self.name}>"


class Site(Base):
    """A library or a rotation point of the network."""

    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_non_negative"),
        Index("ix_sites_kind_active", "kind", "is_active"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    sort_key: Mapped[str] = mapped_column(String(800), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    admin_unit_id: Mapped[int | None] = mapped_column(ForeignKey("admin_units.id"), index=True)
    served_by_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    contact_person: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    admin_unit = relationship("AdminUnit", lazy="joined")
    served_by = relationship("Site", remote_side=[id], lazy="joined", join_depth=1)
    unit_history = relationship(
        "SiteUnitPeriod",
        back_populates="site",
        order_by="SiteUnitPeriod.valid_from",
        cascade="all, delete-orphan",
    )

    @property
    def kind_enum(self) -> SiteKind:
        return SiteKind(self.kind)

    @property
    def is_library(self) -> bool:
        return self.kind in LIBRARY_KINDS

    def __repr__(self) -> str:
        return f"<Site {self.code} {self.name}>"


class SiteUnitPeriod(Base):
    """Which administrative unit a site belonged to between two dates: its history across reforms."""

    __tablename__ = "site_unit_periods"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
        Index("ix_site_unit_periods_site_from", "site_id", "valid_from", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    admin_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_units.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    site = relationship("Site", back_populates="unit_history")
    admin_unit = relationship("AdminUnit", lazy="joined")
