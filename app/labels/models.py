"""Saved label printers and their calibration offsets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow

OFFSET_TYPE = Numeric(5, 2, asdecimal=False)


class LabelPrinter(Base):
    """A printer staff print labels on, with the offset (mm) that makes its prints land true."""

    __tablename__ = "label_printers"
    __table_args__ = (
        CheckConstraint("offset_x BETWEEN -20 AND 20", name="offset_x_range"),
        CheckConstraint("offset_y BETWEEN -20 AND 20", name="offset_y_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    offset_x: Mapped[float] = mapped_column(OFFSET_TYPE, default=0.0)
    offset_y: Mapped[float] = mapped_column(OFFSET_TYPE, default=0.0)
    default_template: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def offset(self) -> tuple[float, float]:
        """The calibration offset (x, y) in mm for `render_pdf`."""
        return (float(self.offset_x or 0), float(self.offset_y or 0))

    def __repr__(self) -> str:
        return f"<LabelPrinter {self.name!r} ({self.offset_x}, {self.offset_y})>"
