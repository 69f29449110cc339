"""Yearly targets and monthly figures entered for the plan's indicators."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow
from app.errors import N_


class Indicator(StrEnum):
    """An indicator of the plan (the order is the order of the progress page)."""

    COPIES_ACQUIRED = "copies_acquired"
    PERIODICALS = "periodicals"
    RECORDS_CATALOGUED = "records_catalogued"
    READER_VISITS = "reader_visits"
    PAGES_DIGITISED = "pages_digitised"
    TALKS = "talks"
    CONTESTS = "contests"
    TRAINING_COURSES = "training_courses"
    LOOKUPS = "lookups"
    ROTATIONS = "rotations"

    @property
    def label(self) -> str:
        """English msgid of the indicator's name."""
        return INDICATOR_LABELS[self]

    @property
    def unit(self) -> str:
        """English msgid of the unit the indicator counts."""
        return INDICATOR_UNITS[self]

    @property
    def is_computed(self) -> bool:
        """True when the software counts it (no hand entry)."""
        return self in COMPUTED_INDICATORS


INDICATOR_LABELS: dict[Indicator, str] = {
    Indicator.COPIES_ACQUIRED: N_("New book copies acquired"),
    Indicator.PERIODICALS: N_("Newspaper and magazine items acquired"),
    Indicator.RECORDS_CATALOGUED: N_("Catalogue records created"),
    Indicator.READER_VISITS: N_("Reader visits served"),
    Indicator.PAGES_DIGITISED: N_("Pages digitised"),
    Indicator.TALKS: N_("Talks and book introductions"),
    Indicator.CONTESTS: N_("Reading contests and book festivals"),
    Indicator.TRAINING_COURSES: N_("Reader seminars and staff training courses"),
    Indicator.LOOKUPS: N_("Catalogue look-ups and accesses"),
    Indicator.ROTATIONS: N_("Rotation batches dispatched"),
}

INDICATOR_UNITS: dict[Indicator, str] = {
    Indicator.COPIES_ACQUIRED: N_("copies"),
    Indicator.PERIODICALS: N_("items"),
    Indicator.RECORDS_CATALOGUED: N_("records"),
    Indicator.READER_VISITS: N_("visits"),
    Indicator.PAGES_DIGITISED: N_("pages"),
    Indicator.TALKS: N_("talks"),
    Indicator.CONTESTS: N_("events"),
    Indicator.TRAINING_COURSES: N_("courses"),
    Indicator.LOOKUPS: N_("look-ups"),
    Indicator.ROTATIONS: N_("batches"),
}

# Counted by the software from the catalogue and the rotation (providers registered by the factory).
COMPUTED_INDICATORS = frozenset(
    {Indicator.COPIES_ACQUIRED, Indicator.RECORDS_CATALOGUED, Indicator.ROTATIONS}
)
# Entered by hand, per library and month.
ENTERED_INDICATORS = tuple(i for i in Indicator if i not in COMPUTED_INDICATORS)

# Upper bound of one value (the plan's largest yearly number is 1.5 million look-ups).
MAX_VALUE = 100_000_000


class PlanTarget(Base):
    """The target of one indicator for one year, for a library or (library NULL) the province."""

    __tablename__ = "plan_targets"
    __table_args__ = (
        UniqueConstraint("library_id", "year", "indicator"),
        # NULL never equals NULL in a unique constraint: the province's own targets need their own.
        Index(
            "uq_plan_targets_province_year_indicator",
            "year",
            "indicator",
            unique=True,
            sqlite_where=text("library_id IS NULL"),
            postgresql_where=text("library_id IS NULL"),
        ),
        Index("ix_plan_targets_year", "year"),
        CheckConstraint("value >= 0", name="value_non_negative"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    year: Mapped[int] = mapped_column(Integer)
    indicator: Mapped[str] = mapped_column(String(32))
    value: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    library = relationship("Site", lazy="joined")

    def __repr__(self) -> str:
        return f"<PlanTarget {self.library_id} {self.year} {self.indicator}={self.value}>"


class MonthlyFigure(Base):
    """A hand-entered figure of one indicator for one library and month."""

    __tablename__ = "plan_monthly_figures"
    __table_args__ = (
        UniqueConstraint("library_id", "year", "month", "indicator"),
        Index("ix_plan_monthly_figures_year_indicator", "year", "indicator"),
        CheckConstraint("value >= 0", name="value_non_negative"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month_range"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    indicator: Mapped[str] = mapped_column(String(32))
    value: Mapped[int] = mapped_column(BigInteger)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<MonthlyFigure {self.library_id} {self.year}-{self.month:02d} {self.indicator}={self.value}>"
