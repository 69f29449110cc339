"""Copies handed over to acquisitions for withdrawal minutes by other parts of the application.

The catalogue never imports the rotation: the rotation (or any later module) writes a provider and the
application factory registers it here. A provider answers
``fn(session, library_id) -> Iterable[WithdrawalCandidate]`` (``library_id`` None: every library):
copies it has written off (lost or damaged) that wait for withdrawal minutes. This module keeps only
the copies still lost or damaged (a copy withdrawn meanwhile, or found again, drops out), removes
copies named twice, and groups them for the withdrawals page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.acquisitions.models import WithdrawalReason
from catalog.models import Item, ItemStatus

# Copies in these statuses wait for minutes; the reason each one is withdrawn for by default.
WAITING_STATUSES = frozenset({ItemStatus.LOST.value, ItemStatus.DAMAGED.value})

_CHUNK = 500


@dataclass(frozen=True)
class WithdrawalCandidate:
    """A copy written off elsewhere, waiting for withdrawal minutes."""

    item_id: int
    accession_number: str
    title: str
    library_id: int
    reason: str  # a WithdrawalReason value, e.g. "lost_in_rotation" or "damaged"
    source_key: str  # groups the copies of one event, e.g. "shipment:12"
    source_label: str  # names the event, e.g. "LC-2026-0042 · Điểm BĐVHX Chiềng Cơi"
    resolved_at: datetime | None = None


@dataclass
class CandidateGroup:
    """Candidates of one source, one library and one reason: one set of minutes can take them all."""

    source_key: str
    source_label: str
    library_id: int
    reason: str
    resolved_at: datetime | None = None
    candidates: list[WithdrawalCandidate] = field(default_factory=list)

    @property
    def accessions(self) -> list[str]:
        """Return the accession numbers of the group, in order."""
        return [c.accession_number for c in self.candidates]

    @property
    def count(self) -> int:
        """Return how many copies the group holds."""
        return len(self.candidates)


CandidateProvider = Callable[[Session, "int | None"], Iterable[WithdrawalCandidate]]

_PROVIDERS: list[CandidateProvider] = []


def register_candidate_provider(fn: CandidateProvider) -> None:
    """Register a function that lists copies waiting for withdrawal minutes (registering twice is a no-op)."""
    if fn not in _PROVIDERS:
        _PROVIDERS.append(fn)


def registered_providers() -> tuple[CandidateProvider, ...]:
    """Return the registered providers, in registration order."""
    return tuple(_PROVIDERS)


def _current(session: Session, item_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """Return {item id: (status, library id)} read now (one query per 500 copies)."""
    found: dict[int, tuple[str, int]] = {}
    ids = sorted(set(item_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for item_id, status, library_id in session.execute(
            select(Item.id, Item.status, Item.library_id).where(Item.id.in_(chunk))
        ):
            found[item_id] = (status, library_id)
    return found


def _default_reason(status: str, given: str) -> str:
    valid = {r.value for r in WithdrawalReason}
    if given in valid:
        return given
    return (WithdrawalReason.DAMAGED if status == ItemStatus.DAMAGED.value else WithdrawalReason.LOST).value


def withdrawal_candidates(session: Session, library_id: int | None = None) -> list[WithdrawalCandidate]:
    """Return the copies every provider hands over, still lost or damaged, once each, newest first."""
    raw: list[WithdrawalCandidate] = []
    for provider in _PROVIDERS:
        raw.extend(provider(session, library_id))
    if not raw:
        return []
    now = _current(session, [c.item_id for c in raw])
    seen: set[int] = set()
    kept: list[WithdrawalCandidate] = []
    for c in raw:
        state = now.get(c.item_id)
        if state is None or c.item_id in seen:
            continue
        status, item_library = state
        if status not in WAITING_STATUSES:
            continue
        if library_id is not None and item_library != library_id:
            continue
        seen.add(c.item_id)
        reason = _default_reason(status, c.reason)
        kept.append(replace(c, library_id=item_library, reason=reason))
    kept.sort(key=lambda c: (-(c.resolved_at.timestamp() if c.resolved_at else 0), c.accession_number))
    return kept


def group_candidates(candidates: Iterable[WithdrawalCandidate]) -> list[CandidateGroup]:
    """Group candidates by source, library and reason; newest source first, numbers in order."""
    groups: dict[tuple[str, int, str], CandidateGroup] = {}
    for c in candidates:
        key = (c.source_key, c.library_id, c.reason)
        group = groups.get(key)
        if group is None:
            group = groups[key] = CandidateGroup(c.source_key, c.source_label, c.library_id, c.reason)
        group.candidates.append(c)
        if c.resolved_at and (group.resolved_at is None or c.resolved_at > group.resolved_at):
            group.resolved_at = c.resolved_at
    result = list(groups.values())
    for group in result:
        group.candidates.sort(key=lambda c: c.accession_number)
    result.sort(
        key=lambda g: (-(g.resolved_at.timestamp() if g.resolved_at else 0), g.source_label, g.reason)
    )
    return result


def totals_by_library_and_reason(candidates: Iterable[WithdrawalCandidate]) -> list[CandidateGroup]:
    """Group every candidate by library and reason only (the "all of them" buttons)."""
    merged = [
        WithdrawalCandidate(
            c.item_id, c.accession_number, c.title, c.library_id, c.reason, "all", "", c.resolved_at
        )
        for c in candidates
    ]
    groups = group_candidates(merged)
    groups.sort(key=lambda g: (g.library_id, g.reason))
    return groups
