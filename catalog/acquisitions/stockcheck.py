"""Stock checks ("kiểm kê"): start one, record what is found scan by scan, see what is missing, close it.

What a check expects: the copies of its library (of its location, when it has one) whose status says
they are on the shelves: available, in processing, damaged or lost (a copy marked lost that turns up is
worth knowing about). Copies out on rotation (in rotation, in transit, at a point) are "away", neither
expected nor missing; withdrawn copies are not counted at all. Scanning a copy twice changes nothing and
says so; a copy of another library or location, or a withdrawn one, is reported and not counted.
Closing freezes the result (expected, found, missing, away) and the list of the missing copies, which
can then be handed to the withdrawal service. Finds are not audited one by one (each find row says
who and when); starting, closing and withdrawing are.

Every function stages its changes (add, flush); the caller commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.db import utcnow
from app.errors import N_, Conflict, NotFound, ValidationError
from app.network.models import LIBRARY_KINDS, Site
from app.text import nfc
from catalog.acquisitions import services as acq
from catalog.acquisitions.models import Withdrawal, WithdrawalReason
from catalog.acquisitions.stockcheck_models import (
    StockCheck,
    StockCheckFind,
    StockCheckMissing,
    StockCheckStatus,
)
from catalog.models import Item, ItemStatus, Record

EXPECTED_STATUSES = frozenset(
    {ItemStatus.AVAILABLE, ItemStatus.IN_PROCESSING, ItemStatus.DAMAGED, ItemStatus.LOST}
)
AWAY_STATUSES = frozenset({ItemStatus.IN_ROTATION, ItemStatus.IN_TRANSIT, ItemStatus.AT_POINT})
_EXPECTED = sorted(s.value for s in EXPECTED_STATUSES)
_AWAY = sorted(s.value for s in AWAY_STATUSES)


@dataclass(frozen=True)
class Counts:
    """A check's figures: live while it is open, frozen once closed."""

    expected: int
    found: int
    missing: int
    away: int


@dataclass(frozen=True)
class ScanResult:
    """What one scan did.

    outcome is one of: found (counted now), already (found before in this check), away (found, but
    its status says it is out on rotation), unknown (no such number), other_library, other_location,
    withdrawn (reported, not counted).
    """

    outcome: str
    code: str
    accession_number: str = ""
    title: str = ""
    status: str = ""
    library_name: str = ""
    location: str = ""

    @property
    def counted(self) -> bool:
        """True when the scan recorded (or had recorded) the copy as found in this check."""
        return self.outcome in ("found", "already", "away")


@dataclass(frozen=True)
class MissingCopy:
    """A copy expected and not found."""

    item_id: int
    accession_number: str
    title: str
    call_number: str
    status: str


def get_check(session: Session, check_id: int) -> StockCheck:
    """Return a stock check or raise NotFound."""
    row = session.get(StockCheck, check_id)
    if row is None:
        raise NotFound(N_("No such stock check."))
    return row


def _open(session: Session, check_id: int) -> StockCheck:
    row = get_check(session, check_id)
    if row.status != StockCheckStatus.OPEN.value:
        raise Conflict(N_("This stock check is closed."))
    return row


def _scope(check: StockCheck) -> list[Any]:
    conditions = [Item.library_id == check.library_id]
    if check.location:
        conditions.append(Item.location == check.location)
    return conditions


def start_check(
    session: Session, library_id: int, location: str = "", *, actor_id: int | None, notes: str = ""
) -> StockCheck:
    """Start a stock check of a library (or one location of it); one open check per library and location."""
    library = session.get(Site, int(library_id)) if str(library_id or "").isdigit() else None
    if library is None or library.kind not in LIBRARY_KINDS:
        raise ValidationError(N_("Choose a library."), field="library_id")
    location = " ".join(nfc(location or "").split())
    if len(location) > 120:
        raise ValidationError(N_("The location is too long."), field="location")
    existing = session.scalar(
        select(StockCheck.id).where(
            StockCheck.library_id == library.id,
            StockCheck.location == location,
            StockCheck.status == StockCheckStatus.OPEN.value,
        )
    )
    if existing is not None:
        raise Conflict(N_("A stock check of this library and location is already open."), field="location")
    row = StockCheck(
        library_id=library.id,
        location=location,
        status=StockCheckStatus.OPEN.value,
        notes=nfc(notes or "").strip()[:10_000],
        started_at=utcnow(),
        started_by_id=actor_id,
    )
    try:
        with session.begin_nested():  # two people starting at once: the partial unique index decides
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(
            N_("A stock check of this library and location is already open."), field="location"
        ) from None
    audit.record(
        session,
        actor_id=actor_id,
        action="stock_check.start",
        object_type="stock_check",
        object_id=row.id,
        object_label=f"{library.name} {location}".strip(),
        changes={"library_id": [None, library.id], "location": [None, location]},
    )
    return row


def record_find(session: Session, check_id: int, code: str, *, actor_id: int | None) -> ScanResult:
    """Record that the copy with this accession number or barcode was found; scanning twice is harmless."""
    check = _open(session, check_id)
    code = nfc(code or "").strip()
    if not code:
        raise ValidationError(N_("Scan or type an accession number."), field="code")
    if len(code) > 64:
        return ScanResult("unknown", code[:64])
    item = session.scalar(select(Item).where(Item.accession_number == code.upper()))
    if item is None:
        item = session.scalar(select(Item).where(Item.barcode == code))
    if item is None and code.upper() != code:
        item = session.scalar(select(Item).where(Item.accession_number == code))
    if item is None:
        return ScanResult("unknown", code)
    title = session.scalar(select(Record.title).where(Record.id == item.record_id)) or ""
    base = {"code": code, "accession_number": item.accession_number, "title": title, "status": item.status}
    if item.library_id != check.library_id:
        return ScanResult("other_library", library_name=item.library.name if item.library else "", **base)
    if check.location and item.location != check.location:
        return ScanResult("other_location", location=item.location, **base)
    if item.status == ItemStatus.WITHDRAWN.value:
        return ScanResult("withdrawn", **base)
    already = session.scalar(
        select(StockCheckFind.id).where(
            StockCheckFind.check_id == check.id, StockCheckFind.item_id == item.id
        )
    )
    if already is not None:
        return ScanResult("already", **base)
    try:
        with session.begin_nested():  # another scanner may record the same copy at the same moment
            session.add(
                StockCheckFind(check_id=check.id, item_id=item.id, found_at=utcnow(), found_by_id=actor_id)
            )
            session.flush()
    except IntegrityError:
        return ScanResult("already", **base)
    return ScanResult("away" if item.status in _AWAY else "found", **base)


def counts(session: Session, check: StockCheck) -> Counts:
    """Return the check's figures: computed now while it is open, as frozen once it is closed."""
    if check.status == StockCheckStatus.CLOSED.value:
        return Counts(
            check.expected_count or 0, check.found_count or 0, check.missing_count or 0, check.away_count or 0
        )
    scope = _scope(check)
    expected = session.scalar(select(func.count(Item.id)).where(*scope, Item.status.in_(_EXPECTED))) or 0
    found = (
        session.scalar(
            select(func.count(StockCheckFind.id))
            .join(Item, Item.id == StockCheckFind.item_id)
            .where(StockCheckFind.check_id == check.id, *scope, Item.status.in_(_EXPECTED))
        )
        or 0
    )
    away = session.scalar(select(func.count(Item.id)).where(*scope, Item.status.in_(_AWAY))) or 0
    return Counts(expected, found, expected - found, away)


def _missing_query(check: StockCheck):
    found = exists().where(StockCheckFind.check_id == check.id, StockCheckFind.item_id == Item.id)
    return (
        select(Item.id, Item.accession_number, Record.title, Item.call_number, Item.status)
        .join(Record, Record.id == Item.record_id)
        .where(*_scope(check), Item.status.in_(_EXPECTED), ~found)
    )


def missing(session: Session, check: StockCheck, *, limit: int | None = None) -> list[MissingCopy]:
    """Return the copies expected and not found, in accession order (frozen once the check is closed)."""
    if check.status == StockCheckStatus.CLOSED.value:
        stmt = (
            select(
                StockCheckMissing.item_id,
                StockCheckMissing.accession_number,
                Record.title,
                Item.call_number,
                Item.status,
            )
            .join(Item, Item.id == StockCheckMissing.item_id)
            .join(Record, Record.id == Item.record_id)
            .where(StockCheckMissing.check_id == check.id)
        )
    else:
        stmt = _missing_query(check)
    stmt = stmt.order_by(Item.accession_number)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [MissingCopy(*row) for row in session.execute(stmt)]


def recent_finds(session: Session, check: StockCheck, limit: int = 10) -> list[tuple[str, str, Any]]:
    """Return the last copies found: (accession number, title, found at), newest first."""
    return [
        (row[0], row[1], row[2])
        for row in session.execute(
            select(Item.accession_number, Record.title, StockCheckFind.found_at)
            .join(Item, Item.id == StockCheckFind.item_id)
            .join(Record, Record.id == Item.record_id)
            .where(StockCheckFind.check_id == check.id)
            .order_by(StockCheckFind.id.desc())
            .limit(limit)
        )
    ]


def close_check(session: Session, check_id: int, *, actor_id: int | None) -> StockCheck:
    """Close an open check: freeze its figures and the list of the missing copies (once only)."""
    check = get_check(session, check_id)
    if check.status != StockCheckStatus.OPEN.value:
        raise Conflict(N_("This stock check has already been closed."))
    figures = counts(session, check)
    now = utcnow()
    result = session.execute(
        update(StockCheck)
        .where(StockCheck.id == check.id, StockCheck.status == StockCheckStatus.OPEN.value)
        .values(
            status=StockCheckStatus.CLOSED.value,
            closed_at=now,
            closed_by_id=actor_id,
            expected_count=figures.expected,
            found_count=figures.found,
            missing_count=figures.missing,
            away_count=figures.away,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # a second click or a second person closing at the same time
        raise Conflict(N_("This stock check has already been closed."))
    missing_rows = _missing_query(check).with_only_columns(
        literal(check.id), Item.id, Item.accession_number, Item.status
    )
    session.execute(
        insert(StockCheckMissing).from_select(
            ["check_id", "item_id", "accession_number", "status"], missing_rows
        )
    )
    session.flush()
    session.refresh(check)
    audit.record(
        session,
        actor_id=actor_id,
        action="stock_check.close",
        object_type="stock_check",
        object_id=check.id,
        object_label=f"{check.library.name} {check.location}".strip(),
        changes={
            "status": [StockCheckStatus.OPEN.value, StockCheckStatus.CLOSED.value],
            "expected": [None, figures.expected],
            "found": [None, figures.found],
            "missing": [None, figures.missing],
            "away": [None, figures.away],
        },
    )
    return check


def withdraw_missing(
    session: Session,
    check_id: int,
    *,
    minutes_number: str,
    actor_id: int | None,
    reason: WithdrawalReason | str = WithdrawalReason.LOST,
    withdrawal_date: date | None = None,
    today: date | None = None,
) -> tuple[Withdrawal, list[str]]:
    """Withdraw the copies a closed check found missing, through the withdrawal service.

    Copies found or withdrawn since the check closed are left out and returned as the second value
    (their accession numbers), as are copies that went out on rotation since.
    """
    check = get_check(session, check_id)
    if check.status != StockCheckStatus.CLOSED.value:
        raise Conflict(N_("Close the stock check before withdrawing the missing copies."))
    rows = session.execute(
        select(StockCheckMissing.accession_number, Item.status)
        .join(Item, Item.id == StockCheckMissing.item_id)
        .where(StockCheckMissing.check_id == check.id)
        .order_by(StockCheckMissing.accession_number)
    ).all()
    wanted = [number for number, status in rows if status in _EXPECTED]
    left_out = [number for number, status in rows if status not in _EXPECTED]
    if not wanted:
        raise ValidationError(N_("No missing copies are left to withdraw."))
    withdrawal = acq.withdraw(
        session,
        check.library_id,
        wanted,
        reason,
        minutes_number,
        actor_id,
        withdrawal_date=withdrawal_date,
        notes=f"Kiểm kê #{check.id}",
        today=today,
    )
    return withdrawal, left_out


def list_checks(session: Session, library_id: int | None = None, limit: int = 200) -> list[StockCheck]:
    """Return stock checks, open ones first, newest first."""
    stmt = select(StockCheck)
    if library_id:
        stmt = stmt.where(StockCheck.library_id == library_id)
    stmt = stmt.order_by(
        (StockCheck.status == StockCheckStatus.OPEN.value).desc(), StockCheck.started_at.desc()
    )
    return list(session.scalars(stmt.limit(limit)))
