"""Rotation stock rules (Circular 33/2018, Art. 6): which copies may rotate, which titles are thin.

Pure functions over plain values: no database, no Flask. The settings come in as a `StockRules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.errors import N_
from catalog.models import ITEM_STATUS_LABELS, ItemStatus

Reason = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class StockRules:
    """Settings of the rotation stock rules."""

    # Only copies held by the batch's own library may go into it.
    require_home_library: bool = True
    # Rare and precious items never rotate (Circular 33/2018); a library may not relax it lightly.
    allow_rare: bool = False
    # Local-studies material (tài liệu địa chí) stays in the library's local-studies collection.
    allow_local_studies: bool = False
    # The rotation stock should hold at least this many copies of each title (a warning, not a refusal).
    min_copies_per_title: int = 3


DEFAULT_RULES = StockRules()


def refusals(
    *,
    number: str,
    status: str,
    is_rare: bool,
    is_local_studies: bool = False,
    library_id: int,
    library_name: str,
    home_library_id: int,
    home_library_name: str,
    rules: StockRules = DEFAULT_RULES,
) -> list[Reason]:
    """Return every reason (msgid, params) why this copy may not rotate; empty when it may."""
    reasons: list[Reason] = []
    if status != ItemStatus.AVAILABLE:
        label = ITEM_STATUS_LABELS.get(ItemStatus(status), status) if status in set(ItemStatus) else status
        reasons.append(
            (
                N_("Copy %(number)s is not available (its status is: %(status_label)s)."),
                {"number": number, "status_label": label},
            )
        )
    if is_rare and not rules.allow_rare:
        reasons.append((N_("Copy %(number)s is rare or precious and may not rotate."), {"number": number}))
    if is_local_studies and not rules.allow_local_studies:
        reasons.append(
            (N_("Copy %(number)s is local-studies material and may not rotate."), {"number": number})
        )
    if rules.require_home_library and library_id != home_library_id:
        reasons.append(
            (
                N_("Copy %(number)s is held by %(library)s, not by the batch's library %(home)s."),
                {"number": number, "library": library_name, "home": home_library_name},
            )
        )
    return reasons


def is_thin_title(copies_in_stock: int, rules: StockRules = DEFAULT_RULES) -> bool:
    """Return True when a title has fewer copies in the rotation stock than the rules ask for."""
    return copies_in_stock < rules.min_copies_per_title
