"""Reads for the acquisitions pages: intakes with their totals, suppliers, withdrawals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from app.network.models import LIBRARY_KINDS, Site
from catalog.acquisitions.models import Intake, IntakeLine, Supplier, Withdrawal, WithdrawalLine
from catalog.models import AccessionSequence


@dataclass(frozen=True)
class IntakeRow:
    """An intake in a list, with its totals."""

    intake: Intake
    titles: int
    copies: int
    value_vnd: int


def libraries(session: Session) -> list[Site]:
    """Return the libraries (the sites that hold stock), by code."""
    return list(
        session.scalars(
            select(Site).where(Site.kind.in_([k.value for k in LIBRARY_KINDS])).order_by(Site.code)
        )
    )


def intakes(
    session: Session,
    *,
    library_id: int | None = None,
    year: int | None = None,
    source: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[IntakeRow], int]:
    """Return a page of intakes (newest first) with their totals, and how many match."""
    conditions = []
    if library_id:
        conditions.append(Intake.library_id == library_id)
    if year:
        conditions.append(extract("year", Intake.intake_date) == year)
    if source:
        conditions.append(Intake.source == source)
    if status:
        conditions.append(Intake.status == status)
    total = session.scalar(select(func.count(Intake.id)).where(*conditions)) or 0
    totals = (
        select(
            IntakeLine.intake_id.label("intake_id"),
            func.count(IntakeLine.id).label("titles"),
            func.sum(IntakeLine.copies).label("copies"),
            func.sum(IntakeLine.copies * func.coalesce(IntakeLine.unit_price_vnd, 0)).label("value"),
        )
        .group_by(IntakeLine.intake_id)
        .subquery()
    )
    rows = session.execute(
        select(Intake, totals.c.titles, totals.c.copies, totals.c.value)
        .outerjoin(totals, totals.c.intake_id == Intake.id)
        .where(*conditions)
        .order_by(Intake.intake_date.desc(), Intake.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [IntakeRow(r[0], int(r[1] or 0), int(r[2] or 0), int(r[3] or 0)) for r in rows], total


def intake_years(session: Session) -> list[int]:
    """Return the years that have intakes, newest first (always including this year)."""
    years = {int(y) for y in session.scalars(select(extract("year", Intake.intake_date)).distinct()) if y}
    years.add(date.today().year)
    return sorted(years, reverse=True)


def suppliers(session: Session, *, active_only: bool = False) -> list[Supplier]:
    """Return the suppliers and donors by name."""
    query = select(Supplier).order_by(Supplier.name_key)
    if active_only:
        query = query.where(Supplier.is_active.is_(True))
    return list(session.scalars(query))


def library_sequences(session: Session, library_id: int) -> list[AccessionSequence]:
    """Return a library's active accession series."""
    return list(
        session.scalars(
            select(AccessionSequence)
            .where(AccessionSequence.library_id == library_id, AccessionSequence.is_active.is_(True))
            .order_by(AccessionSequence.prefix)
        )
    )


@dataclass(frozen=True)
class WithdrawalRow:
    """A withdrawal in a list, with how many copies and their value."""

    withdrawal: Withdrawal
    copies: int
    value_vnd: int


def withdrawals(
    session: Session,
    *,
    library_id: int | None = None,
    year: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[WithdrawalRow], int]:
    """Return a page of withdrawals (newest first) and how many match."""
    conditions = []
    if library_id:
        conditions.append(Withdrawal.library_id == library_id)
    if year:
        conditions.append(extract("year", Withdrawal.withdrawal_date) == year)
    total = session.scalar(select(func.count(Withdrawal.id)).where(*conditions)) or 0
    counts = (
        select(
            WithdrawalLine.withdrawal_id.label("wid"),
            func.count(WithdrawalLine.id).label("copies"),
            func.sum(func.coalesce(WithdrawalLine.price_vnd, 0)).label("value"),
        )
        .group_by(WithdrawalLine.withdrawal_id)
        .subquery()
    )
    rows = session.execute(
        select(Withdrawal, counts.c.copies, counts.c.value)
        .outerjoin(counts, counts.c.wid == Withdrawal.id)
        .where(*conditions)
        .order_by(Withdrawal.withdrawal_date.desc(), Withdrawal.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [WithdrawalRow(r[0], int(r[1] or 0), int(r[2] or 0)) for r in rows], total
