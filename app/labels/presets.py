"""Preset label templates: the A4 label sheets sold in stationery shops and the common roll sizes."""

from __future__ import annotations

from app.errors import N_
from app.labels.engine import LabelError, Template

A4 = (210.0, 297.0)


def _sheet(name: str, title: str, columns: int, rows: int, width: float, height: float, **layout) -> Template:
    return Template(name, title, A4[0], A4[1], columns, rows, width, height, **layout)


def _roll(name: str, title: str, width: float, height: float, padding: float = 1.5) -> Template:
    return Template(name, title, width, height, 1, 1, width, height, roll=True, padding=padding)


_ALL = (
    # 3 × 8 of 70 × 37 mm, edge to edge (Avery 3474, Tomy 136 style): 8 × 37 = 296 mm, 0.5 mm top margin.
    _sheet("a4-3x8", N_("A4, 3 × 8 labels of 70 × 37 mm"), 3, 8, 70.0, 37.0, margin_top=0.5),
    # 2 × 7 of 99.1 × 38.1 mm (Avery L7163 layout).
    _sheet(
        "a4-2x7",
        N_("A4, 2 × 7 labels of 99.1 × 38.1 mm"),
        2,
        7,
        99.1,
        38.1,
        margin_left=4.65,
        margin_top=15.15,
        gap_x=2.5,
    ),
    # 4 × 10 of 48.5 × 25.4 mm (Avery 3657 layout).
    _sheet(
        "a4-4x10",
        N_("A4, 4 × 10 labels of 48.5 × 25.4 mm"),
        4,
        10,
        48.5,
        25.4,
        margin_left=8.0,
        margin_top=21.5,
        padding=1.2,
    ),
    # 5 × 13 of 38.1 × 21.2 mm (Avery L7651 layout).
    _sheet(
        "a4-5x13",
        N_("A4, 5 × 13 labels of 38.1 × 21.2 mm"),
        5,
        13,
        38.1,
        21.2,
        margin_left=4.75,
        margin_top=10.7,
        gap_x=2.5,
        padding=1.0,
    ),
    _roll("roll-50x30", N_("Roll printer, labels of 50 × 30 mm"), 50.0, 30.0, padding=1.5),
    _roll("roll-100x50", N_("Roll printer, labels of 100 × 50 mm"), 100.0, 50.0, padding=2.0),
)

PRESETS: dict[str, Template] = {template.name: template for template in _ALL}


def get_template(name: str) -> Template:
    """Return the preset of that name, or raise LabelError listing the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise LabelError(
            N_("Unknown label template %(name)s. Known templates: %(known)s."),
            field="template",
            name=name,
            known=", ".join(PRESETS),
        ) from None
