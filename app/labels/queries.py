"""Reading label printers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import N_, NotFound
from app.labels.models import LabelPrinter
from app.text import sort_key_str


def list_printers(session: Session) -> list[LabelPrinter]:
    """All printers in Vietnamese name order."""
    return sorted(session.scalars(select(LabelPrinter)), key=lambda p: sort_key_str(p.name))


def get_printer(session: Session, printer_id: int) -> LabelPrinter:
    """The printer with that id, or NotFound."""
    printer = session.get(LabelPrinter, printer_id)
    if printer is None:
        raise NotFound(N_("This printer does not exist."), field="printer")
    return printer


def printer_by_name(session: Session, name: str) -> LabelPrinter:
    """The printer with that name (as saved, surrounding spaces ignored), or NotFound."""
    printer = session.scalar(select(LabelPrinter).where(LabelPrinter.name == name.strip()))
    if printer is None:
        raise NotFound(N_("No saved printer named %(name)s."), field="printer", name=name)
    return printer


def printer_offset(session: Session, printer_id: int | None) -> tuple[float, float]:
    """The calibration offset of a printer, (0, 0) without one."""
    if not printer_id:
        return (0.0, 0.0)
    return get_printer(session, printer_id).offset
