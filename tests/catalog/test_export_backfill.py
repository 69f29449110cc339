"""`flask catalog backfill-iso2709`: filling the ISO 2709 cache of records stored before it existed."""

from __future__ import annotations

from sqlalchemy import select, text, update

from catalog import exporting, marc
from catalog.indexing import record_from_json
from catalog.models import RecordMarc
from catalog.services import create_record
from tests.catalog.test_record_marc import big_record


def _catalogue(session, n: int = 5) -> list[int]:
    """n ordinary records and one too long for ISO 2709, all without cached bytes (as after the upgrade)."""
    ids = [
        create_record(
            session, marc.build_record(f"Sách số {i} về đường rừng", year=2000 + i), actor_id=None
        ).id
        for i in range(n)
    ]
    ids.append(create_record(session, big_record(), actor_id=None).id)
    session.commit()
    session.execute(update(RecordMarc).values(iso2709=None))
    session.commit()
    return ids


def _cache(session) -> dict[int, bytes | None]:
    session.expire_all()
    rows = session.execute(select(RecordMarc.record_id, RecordMarc.iso2709)).all()
    return {rid: (bytes(data) if data is not None else None) for rid, data in rows}


def _expected(session, record_id: int) -> bytes:
    """What pymarc's writer makes of the stored record (the reference the cache must match)."""
    stored = session.scalar(select(RecordMarc.marc).where(RecordMarc.record_id == record_id))
    return marc.record_to_iso2709(record_from_json(stored))


def test_cli_fills_the_cache_in_batches_and_can_run_again(runner, session) -> None:
    ids = _catalogue(session)
    big = ids[-1]
    result = runner.invoke(args=["catalog", "backfill-iso2709", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    cache = _cache(session)
    for rid in ids[:-1]:
        assert cache[rid] == _expected(session, rid)
    assert cache[big] is None
    assert "6 records without cached ISO 2709 bytes" in result.stderr
    assert result.stderr.count("records checked") == 3  # 6 records, 2 at a time
    assert "6/6 records checked, 5 filled" in result.stderr
    assert f"1 records cannot be written as ISO 2709 (too long): {big}" in result.stderr
    assert "filled 5 records" in result.stderr
    # The export now sends the cached bytes; running again finds only the long record.
    report = exporting.ExportReport("iso2709")
    data = b"".join(exporting.export(session, "iso2709", report=report))
    assert data == b"".join(_expected(session, rid) for rid in ids[:-1])
    again = runner.invoke(args=["catalog", "backfill-iso2709"])
    assert again.exit_code == 0, again.output
    assert "1 records without cached ISO 2709 bytes" in again.stderr
    assert "filled 0 records" in again.stderr


def test_an_interrupted_run_keeps_its_batches_and_the_next_one_carries_on(runner, session) -> None:
    ids = _catalogue(session)
    first = exporting.backfill_iso2709(session, batch_size=2)
    session.commit()  # the command commits each batch; then the run is cut off
    assert (first.last_id, first.filled, first.skipped) == (ids[1], 2, [])
    assert exporting.iso2709_missing(session) == 4
    result = runner.invoke(args=["catalog", "backfill-iso2709", "--batch-size", "100"])
    assert result.exit_code == 0, result.output
    assert "4 records without cached ISO 2709 bytes" in result.stderr
    assert "filled 3 records" in result.stderr
    cache = _cache(session)
    assert all(cache[rid] == _expected(session, rid) for rid in ids[:-1])


def test_bytes_already_cached_or_an_edit_made_meanwhile_are_not_overwritten(session) -> None:
    ids = _catalogue(session, n=3)
    session.execute(update(RecordMarc).where(RecordMarc.record_id == ids[0]).values(iso2709=b"kept"))
    session.commit()
    batch = exporting.backfill_iso2709(session, batch_size=10)
    assert batch.filled == 2 and batch.skipped == [ids[-1]]
    assert _cache(session)[ids[0]] == b"kept"
    # The row changes between the read and the write: the guard on the MARC text leaves it alone.
    session.execute(update(RecordMarc).values(iso2709=None))
    session.commit()
    original = exporting.marc.iso2709_from_json
    calls = []

    def edit_meanwhile(text_value: str) -> bytes:
        if not calls:
            session.execute(
                text("UPDATE record_marc SET marc = :m WHERE record_id = :id"),
                {"m": text_value.replace("Sách số 0", "Sách số 0 (sửa)"), "id": ids[0]},
            )
        calls.append(1)
        return original(text_value)

    exporting.marc.iso2709_from_json = edit_meanwhile
    try:
        batch = exporting.backfill_iso2709(session, batch_size=10)
    finally:
        exporting.marc.iso2709_from_json = original
    session.commit()
    assert batch.filled == 2
    cache = _cache(session)
    assert cache[ids[0]] is None
    assert cache[ids[1]] == _expected(session, ids[1])


def test_batch_size_must_be_positive(runner) -> None:
    result = runner.invoke(args=["catalog", "backfill-iso2709", "--batch-size", "0"])
    assert result.exit_code == 2
