"""Filling a batch automatically by rules: load a sample of candidates in SQL, choose, add.

The choice itself is `rotation.filling.select` (pure). This module loads candidates without reading
the whole catalogue: the eligibility rules (available, not rare, held by the batch's library, not in
an open batch), the languages asked for and the titles to leave out are filtered in SQL, and each
(class, language) bucket is sampled with a few index walks (the language index, or the available
copies by title) from seeded random starting points, a few times more copies than its quota; empty
buckets are found by an index probe and not walked. Adding goes through `batches.add_items_by_id`, so the
database's "one open batch per copy" rule has the last word: a copy another batch took meanwhile is
skipped and reported.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.errors import N_
from app.network.models import POINT_KINDS, Site
from catalog.models import Item, ItemStatus, Record
from rotation import filling
from rotation import rules as stock_rules
from rotation.errors import Conflict, ValidationError
from rotation.models import Batch, BatchItem, BatchStatus, Shipment, ShipmentLine, ShipmentStatus
from rotation.services import batches as batch_services

# Each bucket is sampled with this many times its quota (duplicates and exclusions eat some).
OVERSAMPLE = 4
MIN_SAMPLE = 40
WINDOWS = 4  # random starting points per bucket: copies of one title have neighbouring ids
MAX_SIZE = 2_000
DEFAULT_LAST_ROTATIONS = 3


@dataclass(frozen=True)
class FillSettings:
    """What staff asked for, as plain values (from the form or the CLI)."""

    size: int | None = None  # None: the batch's target size minus what it holds
    class_shares: dict[str, float | None] = field(default_factory=dict)
    even_classes: bool = False
    language_shares: dict[str, float | None] = field(default_factory=lambda: {"vie": None})
    children_percent: float | None = None
    destination_id: int | None = None
    last_rotations: int = DEFAULT_LAST_ROTATIONS
    allow_duplicate_titles: bool = False
    strict: bool = False
    seed: int = 0


@dataclass
class FillPlan:
    """A preview: the request as resolved, the pure selection's result, the destination."""

    request: filling.FillRequest
    result: filling.FillResult
    destination: Site | None
    sampled: int  # how many candidates were loaded

    def as_json(self) -> dict[str, Any]:
        """Return the plan as plain JSON-ready data (CLI --json)."""
        return {
            "size": self.request.size,
            "chosen": [
                {
                    "item_id": c.item_id,
                    "accession_number": c.accession_number,
                    "title": c.title,
                    "class": c.main_class,
                    "language": c.language,
                    "children": c.is_childrens,
                }
                for c in self.result.chosen
            ],
            "breakdown": self.result.breakdown(),
            "quotas": self.result.quotas,
            "shortfalls": [s.__dict__ for s in self.result.shortfalls],
            "skipped": dict(self.result.skipped),
            "destination": self.destination.code if self.destination else None,
            "excluded_titles": len(self.request.excluded_titles),
            "sampled": self.sampled,
        }


def points(session: Session) -> list[Site]:
    """Return the rotation points a batch may be filled for, by code."""
    return list(
        session.scalars(select(Site).where(Site.kind.in_([k.value for k in POINT_KINDS])).order_by(Site.code))
    )


def recent_titles(session: Session, point_id: int, last_rotations: int) -> frozenset[int]:
    """Return the titles (record ids) a point received in its last N shipments (cancelled ones aside)."""
    if not point_id or last_rotations <= 0:
        return frozenset()
    recent = (
        select(Shipment.id)
        .where(Shipment.to_site_id == point_id, Shipment.status != ShipmentStatus.CANCELLED.value)
        .order_by(Shipment.dispatched_at.desc(), Shipment.id.desc())
        .limit(last_rotations)
    )
    shipment_ids = list(session.scalars(recent))
    if not shipment_ids:
        return frozenset()
    rows = session.scalars(
        select(Item.record_id)
        .join(ShipmentLine, ShipmentLine.item_id == Item.id)
        .where(ShipmentLine.shipment_id.in_(shipment_ids))
        .distinct()
    )
    return frozenset(rows)


def present_titles(session: Session, batch_id: int) -> frozenset[int]:
    """Return the titles (record ids) already in a batch."""
    return frozenset(
        session.scalars(
            select(Item.record_id)
            .join(BatchItem, BatchItem.item_id == Item.id)
            .where(BatchItem.batch_id == batch_id)
        )
    )


def _columns() -> Select:
    return select(
        Item.id,
        Item.record_id,
        Item.accession_number,
        Record.title,
        Record.language,
        Record.classification,
        Record.subjects,
        Item.status,
        Item.is_rare,
        Item.library_id,
        Item.is_local_studies,
    ).join(Record, Record.id == Item.record_id)


def _eligible(stmt: Select, request: filling.FillRequest, skip_titles: frozenset[int]) -> Select:
    in_open_batch = exists().where(BatchItem.item_id == Item.id, BatchItem.is_open.is_(True))
    stmt = stmt.where(Item.status == ItemStatus.AVAILABLE.value, ~in_open_batch)
    if request.rules.require_home_library:
        stmt = stmt.where(Item.library_id == request.home_library_id)
    if not request.rules.allow_rare:
        stmt = stmt.where(Item.is_rare.is_(False))
    if not request.rules.allow_local_studies:
        stmt = stmt.where(Item.is_local_studies.is_(False))
    if request.language_shares:
        stmt = stmt.where(Record.language.in_(sorted(request.language_shares)))
    if skip_titles:
        stmt = stmt.where(Item.record_id.not_in(sorted(skip_titles)))
    return stmt


def _class_range(digit: str):
    """Class numbers of one DDC main class, as a range the classification index can walk."""
    return and_(Record.classification >= digit, Record.classification < chr(ord(digit) + 1))


def _class_condition(bucket: str, named: list[str]):
    """The bucket's condition, on the first character: the walk is driven by another index."""
    first = func.substr(Record.classification, 1, 1)
    if bucket == filling.UNKNOWN_CLASS:
        return or_(Record.classification.is_(None), ~first.in_(filling.DDC_MAIN_CLASSES))
    if bucket == filling.ANY:
        return or_(Record.classification.is_(None), ~first.in_(named)) if named else None
    return first == bucket


def _class_probe(bucket: str):
    """An index-friendly condition to check that a class bucket is not empty."""
    if bucket == filling.UNKNOWN_CLASS:
        return or_(Record.classification.is_(None), Record.classification < "0", Record.classification >= ":")
    if bucket == filling.ANY:
        return None
    return _class_range(bucket)


def _language_condition(bucket: str, named: list[str]):
    if bucket == filling.ANY:
        return ~Record.language.in_(named) if named else None
    return Record.language == bucket


def _exists(session: Session, condition) -> bool:
    """True when some record meets the condition (an index probe: empty buckets are not walked)."""
    return session.execute(select(Record.id).where(condition).limit(1)).first() is not None


def _sample(session: Session, stmt: Select, want: int, windows) -> list[tuple]:
    """Return up to `want` rows of `stmt`, read from a few random starting points.

    `windows()` returns (condition from the start, condition before it, order): each window walks an
    index from a random point (the language index, or the copies' (status, record) index), so a
    bucket costs a few short index walks whatever the size of the stock.
    """
    rows: dict[int, tuple] = {}
    per_window = max(want // WINDOWS, 10)
    for _ in range(WINDOWS):
        after, before, order = windows()
        for part in (after, before):
            if len(rows) >= want:
                break
            got = session.execute(stmt.where(part).order_by(*order).limit(per_window)).all()
            for row in got:
                rows.setdefault(row[0], tuple(row))
            if len(got) >= per_window:
                break
    return list(rows.values())


def load_candidates(session: Session, request: filling.FillRequest) -> list[filling.Candidate]:
    """Load a seeded sample of eligible candidates per (class, language) bucket; never the whole stock."""
    skip = request.excluded_titles | (
        frozenset() if request.allow_duplicate_titles else request.present_titles
    )
    base = _eligible(_columns(), request, skip)
    record_lo, record_hi = session.execute(select(func.min(Record.id), func.max(Record.id))).one()
    if record_lo is None:
        return []
    if request.even_classes:
        class_buckets = [*filling.DDC_MAIN_CLASSES, filling.UNKNOWN_CLASS]
        class_quota = {b: -(-request.size // 10) for b in class_buckets}
    else:
        class_quota = filling.quotas(request.size, request.class_shares)
    named_classes = [] if request.even_classes else [k for k in class_quota if k != filling.ANY]
    language_quota = filling.quotas(request.size, filling.language_weights(request.language_shares))
    named_languages = [k for k in language_quota if k != filling.ANY]
    rng = random.Random(request.seed)

    def windows_for(language_bucket: str):
        if language_bucket != filling.ANY:
            # One language: walk its records through the language index from a random record.
            def by_language():
                start = rng.randint(record_lo, record_hi)
                return Record.id >= start, Record.id < start, (Record.id, Item.id)

            return by_language

        # Otherwise walk the available copies through their (status, record) index.
        def by_copy():
            start = rng.randint(record_lo, record_hi)
            return Item.record_id >= start, Item.record_id < start, (Item.record_id, Item.id)

        return by_copy

    rows: dict[int, tuple] = {}
    children = [False, True] if request.children_percent else [False]
    for class_bucket, c_quota in sorted(class_quota.items()):
        class_condition = _class_condition(class_bucket, named_classes)
        probe = _class_probe(class_bucket)
        if c_quota <= 0 or (probe is not None and not _exists(session, probe)):
            continue
        for language_bucket, l_quota in sorted(language_quota.items()):
            language_condition = _language_condition(language_bucket, named_languages)
            if l_quota <= 0 or (language_condition is not None and not _exists(session, language_condition)):
                continue
            want = max(min(c_quota, l_quota) * OVERSAMPLE, MIN_SAMPLE)
            conditions = [c for c in (class_condition, language_condition) if c is not None]
            stmt = base.where(and_(*conditions)) if conditions else base
            windows = windows_for(language_bucket)
            for child in children:
                part = stmt.where(Item.accession_number.like("TN%")) if child else stmt
                for row in _sample(session, part, want, windows):
                    rows.setdefault(row[0], row)
    return [
        filling.Candidate(
            item_id=r[0],
            record_id=r[1],
            accession_number=r[2],
            title=r[3] or "",
            language=r[4] or "",
            classification=r[5] or "",
            subjects=r[6] or "",
            status=r[7],
            is_rare=bool(r[8]),
            library_id=r[9],
            is_local_studies=bool(r[10]),
        )
        for r in rows.values()
    ]


@dataclass(frozen=True)
class ShownCopy:
    """A copy of a search hit on the batch's search page, with why it may not rotate (if so)."""

    item_id: int
    record_id: int
    accession_number: str
    call_number: str
    status: str
    library_name: str
    open_batch: str | None
    reasons: list[tuple[str, dict[str, Any]]]

    @property
    def eligible(self) -> bool:
        """True when the copy may go into the batch."""
        return not self.reasons


def copies_of_records(
    session: Session,
    batch: Batch,
    record_ids: list[int],
    *,
    rules: stock_rules.StockRules = stock_rules.DEFAULT_RULES,
) -> dict[int, list[ShownCopy]]:
    """Return, per record, its copies (withdrawn ones aside) with the reasons each may not rotate."""
    if not record_ids:
        return {}
    open_batch = (
        select(BatchItem.item_id, Batch.code)
        .join(Batch, Batch.id == BatchItem.batch_id)
        .where(BatchItem.is_open.is_(True))
        .subquery()
    )
    rows = session.execute(
        select(
            Item.id,
            Item.record_id,
            Item.accession_number,
            Item.call_number,
            Item.status,
            Item.is_rare,
            Item.is_local_studies,
            Item.library_id,
            Site.name,
            open_batch.c.code,
        )
        .join(Site, Site.id == Item.library_id)
        .outerjoin(open_batch, open_batch.c.item_id == Item.id)
        .where(Item.record_id.in_(record_ids), Item.status != ItemStatus.WITHDRAWN.value)
        .order_by(Item.record_id, Item.accession_number)
    ).all()
    home_name = batch.home_library.name if batch.home_library else ""
    result: dict[int, list[ShownCopy]] = {rid: [] for rid in record_ids}
    for item_id, record_id, number, call, status, rare, local, library_id, library_name, batch_code in rows:
        if rules.require_home_library and library_id != batch.home_library_id:
            continue  # copies of other libraries are not shown: they could never go in
        reasons = []
        if batch_code:
            if batch_code == batch.code:
                reasons.append((N_("Copy %(number)s is already in this batch."), {"number": number}))
            else:
                reasons.append(
                    (
                        N_("Copy %(number)s is already in batch %(batch)s."),
                        {"number": number, "batch": batch_code},
                    )
                )
        reasons += stock_rules.refusals(
            number=number,
            status=status,
            is_rare=rare,
            is_local_studies=local,
            library_id=library_id,
            library_name=library_name,
            home_library_id=batch.home_library_id,
            home_library_name=home_name,
            rules=rules,
        )
        result[record_id].append(
            ShownCopy(item_id, record_id, number, call, status, library_name, batch_code, reasons)
        )
    return result


def plan_fill(
    session: Session,
    batch: Batch,
    settings: FillSettings,
    *,
    rules: stock_rules.StockRules = stock_rules.DEFAULT_RULES,
) -> FillPlan:
    """Work out what an automatic fill would add to the batch (nothing is changed)."""
    if batch.status != BatchStatus.ASSEMBLING:
        raise Conflict(
            N_("Batch %(code)s is not being assembled; reopen it to change its copies."), code=batch.code
        )
    size = settings.size
    if size is None:
        size = max(batch.target_size - batch_services.copy_count(session, batch.id), 0)
    if size < 0 or size > MAX_SIZE:
        raise ValidationError(
            N_("The number of copies must be between 0 and %(max)d."), field="size", max=MAX_SIZE
        )
    destination = None
    if settings.destination_id:
        destination = session.get(Site, settings.destination_id)
        if destination is None or destination.kind not in POINT_KINDS:
            raise ValidationError(N_("Choose a rotation point."), field="destination_id")
    request = filling.FillRequest(
        size=size,
        home_library_id=batch.home_library_id,
        class_shares=dict(settings.class_shares),
        even_classes=settings.even_classes,
        language_shares=dict(settings.language_shares),
        children_percent=settings.children_percent,
        excluded_titles=recent_titles(session, destination.id, settings.last_rotations)
        if destination
        else frozenset(),
        present_titles=present_titles(session, batch.id),
        allow_duplicate_titles=settings.allow_duplicate_titles,
        strict=settings.strict,
        seed=settings.seed,
        rules=rules,
    )
    candidates = load_candidates(session, request) if size else []
    return FillPlan(request, filling.select(candidates, request), destination, len(candidates))


def record_fill(
    session: Session,
    batch: Batch,
    report: batch_services.AddReport,
    actor_id: int | None,
    *,
    source: str,
    destination: str | None = None,
    seed: int | None = None,
) -> None:
    """Audit one summary event for copies added in one go (each copy is audited by add_copy too)."""
    changes: dict[str, list] = {
        "source": [None, source],
        "added": [None, len(report.added)],
        "refused": [None, len(report.refused)],
    }
    if destination:
        changes["destination"] = [None, destination]
    if seed is not None:
        changes["seed"] = [None, seed]
    audit.record(
        session,
        actor_id=actor_id,
        action="batch.fill",
        object_type="batch",
        object_id=batch.id,
        object_label=batch.code,
        changes=changes,
    )


def fill(
    session: Session,
    batch: Batch,
    settings: FillSettings,
    *,
    actor_id: int | None,
    rules: stock_rules.StockRules = stock_rules.DEFAULT_RULES,
    dry_run: bool = False,
) -> tuple[FillPlan, batch_services.AddReport]:
    """Plan an automatic fill and, unless a dry run, add the chosen copies (refusals reported)."""
    plan = plan_fill(session, batch, settings, rules=rules)
    report = batch_services.AddReport()
    if not dry_run and plan.result.chosen:
        report = batch_services.add_items_by_id(
            session, batch, [c.item_id for c in plan.result.chosen], actor_id, rules=rules
        )
        record_fill(
            session,
            batch,
            report,
            actor_id,
            source="rules",
            destination=plan.destination.code if plan.destination else None,
            seed=plan.request.seed,
        )
    return plan, report


def with_seed(settings: FillSettings, seed: int) -> FillSettings:
    """Return the settings with another seed."""
    return replace(settings, seed=seed)


__all__ = [
    "FillPlan",
    "ShownCopy",
    "copies_of_records",
    "FillSettings",
    "fill",
    "load_candidates",
    "plan_fill",
    "points",
    "present_titles",
    "recent_titles",
    "record_fill",
    "with_seed",
]
