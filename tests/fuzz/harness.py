"""The properties every importer input must satisfy, checked against a real database session.

Shared by the Hypothesis tests (tests/fuzz) and `python -m bench fuzz`. A violated property raises
AssertionError; any other exception escaping the importer is a crash.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from unittest import mock

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.db import Base, transaction
from catalog import importing, marc


class InjectedFault(RuntimeError):
    """Raised on purpose inside an import, to prove that a failure halfway leaves nothing behind."""


def table_counts(session: Session) -> dict[str, int]:
    """Rows in every table of the schema, and in the search index (made by a migration)."""
    counts = {
        table.name: session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }
    counts["record_search"] = session.execute(text("SELECT count(*) FROM record_search")).scalar()
    return counts


@dataclass
class Outcome:
    """What one input did: 'file_error' (the documented refusal) or 'imported', with the report."""

    status: str
    report: importing.ImportReport | None = None
    error: str = ""


def check_report(report: importing.ImportReport) -> None:
    """Every record read is accounted for exactly once, and every rejection says why."""
    assert report.read == report.new + report.duplicates + report.rejected + report.not_bibliographic, (
        report.to_dict()
    )
    assert report.new + report.duplicates == (
        report.created + report.updated + report.unchanged + report.skipped
    ), report.to_dict()
    assert min(report.read, report.new, report.duplicates, report.rejected, report.created) >= 0
    for rejection in report.rejections:
        assert isinstance(rejection.reason, str) and rejection.reason.strip(), rejection
    assert len(report.rejections) == min(report.rejected, report.detail_limit) or report.truncated


def stage_then_commit(
    session: Session,
    data: bytes,
    *,
    on_duplicate: str = "skip",
    library_id: int | None = None,
    sequence_id: int | None = None,
    fail_at_insert: int | None = None,
) -> Outcome:
    """Stage and commit `data` as the web and CLI do, checking the properties; return the outcome.

    With `fail_at_insert` = n, the n-th bulk insert of the commit raises InjectedFault: the
    transaction must then leave every table as it was.
    """
    options = {"on_duplicate": on_duplicate, "library_id": library_id, "sequence_id": sequence_id}
    before = table_counts(session)
    session.rollback()
    try:
        staged = importing.stage(session, data, **options)
    except marc.MarcFileError as exc:
        session.rollback()
        assert str(exc).strip(), "a file error without a message"
        assert table_counts(session) == before
        session.rollback()
        return Outcome("file_error", error=str(exc))
    session.rollback()
    check_report(staged)
    assert table_counts(session) == before, "staging wrote to the database"
    session.rollback()

    patch: Callable | None = None
    if fail_at_insert is not None:
        real = importing._insert_rows
        calls = {"n": 0}

        def failing(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] >= fail_at_insert:
                raise InjectedFault(f"insert {calls['n']}")
            return real(*args, **kwargs)

        patch = failing
    try:
        with (
            mock.patch.object(importing, "_insert_rows", patch) if patch else contextlib.nullcontext(),
            transaction(session),
        ):
            report = importing.commit(session, data, actor_id=None, **options)
    except InjectedFault:
        session.rollback()
        assert table_counts(session) == before, "a failed import left rows behind"
        session.rollback()
        return Outcome("failed_on_purpose")
    check_report(report)
    after = table_counts(session)
    session.rollback()
    # The commit read the same bytes as the staging: the same records, counted the same way.
    assert (report.read, report.rejected, report.not_bibliographic) == (
        staged.read,
        staged.rejected,
        staged.not_bibliographic,
    )
    assert after["records"] - before["records"] == report.created
    assert after["record_marc"] - before["record_marc"] == report.created
    assert after["items"] - before["items"] == report.items_created
    assert after["record_search"] == after["records"], "search index rows != records"
    assert after["audit_events"] > before["audit_events"], "no audit event for the import"
    untouched = set(before) - {
        "records",
        "record_marc",
        "record_keys",
        "items",
        "record_search",
        "audit_events",
        "accession_sequences",
    }
    assert {t: after[t] for t in untouched} == {t: before[t] for t in untouched}
    return Outcome("imported", report=report)
