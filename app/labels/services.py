"""Creating, changing and deleting label printers (calibration offsets); every change is audited."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.errors import N_, Conflict, ValidationError
from app.labels.engine import MAX_OFFSET, fmt_mm
from app.labels.models import LabelPrinter
from app.labels.presets import PRESETS
from app.text import nfc

PRINTER_FIELDS = ("name", "offset_x", "offset_y", "default_template", "notes")
MAX_NAME = 100
MAX_NOTES = 5000


def _offset(values: dict[str, Any], key: str) -> float:
    raw = values.get(key)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return 0.0
    try:
        value = float(str(raw).replace(",", ".")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise ValidationError(
            N_("Enter the offset in millimetres, for example 1.5 or -0.5."), field=key
        ) from None
    if not math.isfinite(value) or abs(value) > MAX_OFFSET:
        raise ValidationError(
            N_("The offset must be between -%(max)s and %(max)s mm."), field=key, max=fmt_mm(MAX_OFFSET)
        )
    return round(value, 2)


def _apply(session: Session, printer: LabelPrinter, values: dict[str, Any]) -> None:
    name = nfc(str(values.get("name", printer.name) or "")).strip()
    if not name:
        raise ValidationError(N_("This field is required."), field="name")
    if len(name) > MAX_NAME:
        raise ValidationError(N_("The name is longer than %(n)d characters."), field="name", n=MAX_NAME)
    clash = session.scalar(
        select(LabelPrinter.id).where(
            func.lower(LabelPrinter.name) == name.lower(), LabelPrinter.id != printer.id
        )
        if printer.id is not None
        else select(LabelPrinter.id).where(func.lower(LabelPrinter.name) == name.lower())
    )
    if clash is not None:
        raise Conflict(N_("A printer named %(name)s already exists."), field="name", name=name)
    template = str(values.get("default_template", printer.default_template) or "").strip()
    if template and template not in PRESETS:
        raise ValidationError(
            N_("Unknown label template %(name)s. Known templates: %(known)s."),
            field="default_template",
            name=template,
            known=", ".join(PRESETS),
        )
    notes = nfc(str(values.get("notes", printer.notes) or "")).strip()
    if len(notes) > MAX_NOTES:
        raise ValidationError(N_("The notes are longer than %(n)d characters."), field="notes", n=MAX_NOTES)
    printer.name = name
    printer.offset_x = _offset(values, "offset_x") if "offset_x" in values else (printer.offset_x or 0.0)
    printer.offset_y = _offset(values, "offset_y") if "offset_y" in values else (printer.offset_y or 0.0)
    printer.default_template = template
    printer.notes = notes


def _state(printer: LabelPrinter) -> dict[str, Any]:
    return {
        "name": printer.name,
        "offset_x": float(printer.offset_x or 0),
        "offset_y": float(printer.offset_y or 0),
        "default_template": printer.default_template,
        "notes": printer.notes,
    }


def create_printer(session: Session, values: dict[str, Any], *, actor_id: int | None) -> LabelPrinter:
    """Stage a new printer from plain values; raise ValidationError or Conflict on bad input."""
    printer = LabelPrinter(name="", offset_x=0.0, offset_y=0.0, default_template="", notes="")
    _apply(session, printer, values)
    session.add(printer)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="label_printer.create",
        object_type="label_printer",
        object_id=printer.id,
        object_label=printer.name,
        changes={k: [None, v] for k, v in _state(printer).items()},
    )
    session.flush()
    return printer


def update_printer(
    session: Session, printer: LabelPrinter, values: dict[str, Any], *, actor_id: int | None
) -> LabelPrinter:
    """Change a printer's name, calibration offset, default template or notes."""
    before = _state(printer)
    _apply(session, printer, values)
    changes = audit.diff(before, _state(printer))
    if changes:
        audit.record(
            session,
            actor_id=actor_id,
            action="label_printer.update",
            object_type="label_printer",
            object_id=printer.id,
            object_label=printer.name,
            changes=changes,
        )
    session.flush()
    return printer


def delete_printer(session: Session, printer: LabelPrinter, *, actor_id: int | None) -> None:
    """Delete a printer (labels already printed are not affected)."""
    audit.record(
        session,
        actor_id=actor_id,
        action="label_printer.delete",
        object_type="label_printer",
        object_id=printer.id,
        object_label=printer.name,
        changes={k: [v, None] for k, v in _state(printer).items()},
    )
    session.delete(printer)
    session.flush()
