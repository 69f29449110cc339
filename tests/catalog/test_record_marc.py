"""Where a record's MARC data lives: record_marc, its ISO 2709 cache, and the migration that made it."""

from __future__ import annotations

import io
from pathlib import Path

from flask_migrate import downgrade, upgrade
from pymarc import Field, Indicators, MARCReader, Subfield
from sqlalchemy import create_engine, select, text, update

from app.db import transaction
from catalog import exporting, importing, marc
from catalog.indexing import record_from_json, record_json
from catalog.models import Record, RecordMarc
from catalog.services import create_record, update_record
from tests.conftest import make_app

DATA = Path(__file__).resolve().parents[1] / "data" / "marc"
BEFORE = "f6f73330782c"  # the revision that kept the MARC text in records.marc
AFTER = "c45ce2e48bb2"


def stored(session, record_id: int) -> RecordMarc:
    session.expire_all()
    return session.get(RecordMarc, record_id)


def iso(*records) -> bytes:
    out = io.BytesIO()
    marc.write_iso2709(records, out)
    return out.getvalue()


def big_record():
    """A valid record of about 120 KB: too long for ISO 2709 (99,999 bytes), fine in the database."""
    notes = [f"Ghi chú {n}: " + "dữ liệu dài " * 330 for n in range(30)]
    return marc.build_record("Một biểu ghi rất dài", authors=["Nguyễn, Văn A"], year=2020, notes=notes)


def test_a_new_record_keeps_its_marc_text_and_iso2709_bytes_in_record_marc(session) -> None:
    record = marc.build_record("Truyện Kiều", authors=["Nguyễn Du"], year=2015, isbn="9786042086123")
    row = create_record(session, record, actor_id=None)
    session.commit()
    data = stored(session, row.id)
    assert marc.records_equal(record_from_json(data.marc), record)
    assert data.iso2709 == marc.record_to_iso2709(record_from_json(data.marc))
    # The bytes are a record other readers take: pymarc reads the same record back.
    (again,) = list(MARCReader(data.iso2709, to_unicode=True, force_utf8=True))
    assert marc.records_equal(again, record)
    # The ORM property reads the same text; the records row itself has no MARC column.
    assert session.get(Record, row.id).marc == data.marc
    assert "marc" not in Record.__table__.c


def test_an_edit_refreshes_the_cache_and_raises_the_version(session) -> None:
    record = marc.build_record("Dế Mèn phiêu lưu ký", authors=["Tô Hoài"], year=1941)
    row = create_record(session, record, actor_id=None)
    session.commit()
    old_bytes, version = stored(session, row.id).iso2709, row.version
    # Only a local field changes: no extracted column moves, the MARC data does.
    record.add_field(Field("999", Indicators(" ", " "), [Subfield("a", "kho địa phương")]))
    update_record(session, session.get(Record, row.id), record, actor_id=None, expected_version=version)
    session.commit()
    data = stored(session, row.id)
    assert data.iso2709 != old_bytes
    assert data.iso2709 == marc.record_to_iso2709(record)
    assert record_from_json(data.marc)["999"]["a"] == "kho địa phương"
    assert session.get(Record, row.id).version == version + 1


def test_assigning_marc_on_the_model_keeps_the_cache_in_step(session) -> None:
    row = create_record(session, marc.build_record("Tắt đèn", year=1939), actor_id=None)
    session.commit()
    changed = marc.build_record("Tắt đèn", authors=["Ngô Tất Tố"], year=1939)
    row.marc = record_json(changed)
    session.commit()
    data = stored(session, row.id)
    assert marc.records_equal(record_from_json(data.marc), changed)
    assert data.iso2709 == marc.record_to_iso2709(changed)


def test_a_record_too_long_for_iso2709_has_no_cache_and_the_export_skips_it(session) -> None:
    small = create_record(session, marc.build_record("Sách nhỏ", year=2021), actor_id=None)
    big = create_record(session, big_record(), actor_id=None)
    session.commit()
    assert stored(session, big.id).iso2709 is None
    assert stored(session, small.id).iso2709 is not None
    report = exporting.ExportReport("iso2709")
    data = b"".join(exporting.export(session, "iso2709", report=report))
    assert (report.written, report.skipped_count) == (1, 1)
    assert report.skipped[0].record_id == big.id and "99,999" in report.skipped[0].reason
    assert data == stored(session, small.id).iso2709
    # Other formats hold it.
    xml = exporting.ExportReport("marcxml")
    b"".join(exporting.export(session, "marcxml", report=xml))
    assert (xml.written, xml.skipped_count) == (2, 0)


def test_the_iso2709_export_sends_the_cached_bytes(session) -> None:
    books = [marc.build_record("Số đỏ", year=1936), marc.build_record("Vợ nhặt", year=1962)]
    first, second = (create_record(session, book, actor_id=None) for book in books)
    session.commit()
    # Put a recognisable (still valid) record in the first cache: the export must send it unchanged.
    marker = marc.build_record("Bản ghi trong bộ nhớ đệm", year=1999)
    session.execute(
        update(RecordMarc)
        .where(RecordMarc.record_id == first.id)
        .values(iso2709=marc.record_to_iso2709(marker))
    )
    session.commit()
    plain = b"".join(exporting.export(session, "iso2709"))
    assert plain == marc.record_to_iso2709(marker) + stored(session, second.id).iso2709
    assert b"".join(exporting.export(session, "iso2709", ids=[second.id, first.id])) == (
        stored(session, second.id).iso2709 + marc.record_to_iso2709(marker)
    )
    # With copies (952 rebuilt) the stored MARC text is written, not the cache.
    with_items = b"".join(exporting.export(session, "iso2709", with_items=True))
    titles = [r["245"]["a"] for r in MARCReader(with_items, to_unicode=True, force_utf8=True)]
    assert titles == [book["245"]["a"] for book in books]


def test_a_record_without_cached_bytes_is_written_from_its_text(session) -> None:
    record = marc.build_record("Chí Phèo", authors=["Nam Cao"], year=1941)
    row = create_record(session, record, actor_id=None)
    session.execute(update(RecordMarc).where(RecordMarc.record_id == row.id).values(iso2709=None))
    session.commit()
    assert b"".join(exporting.export(session, "iso2709")) == marc.record_to_iso2709(record)


def test_import_fills_the_cache_and_a_replace_refreshes_it(session) -> None:
    with transaction(session):
        importing.commit(session, DATA / "pymarc" / "test.dat", actor_id=None)
    rows = session.execute(select(RecordMarc.marc, RecordMarc.iso2709)).all()
    assert len(rows) == 10
    assert all(iso_bytes == marc.record_to_iso2709(record_from_json(text)) for text, iso_bytes in rows)

    first = marc.build_record("Đường lên Tây Bắc", authors=["Tô, Hoài"], year=1960)
    with transaction(session):
        importing.commit(session, iso(first), actor_id=None)
    record_id = session.scalar(select(Record.id).where(Record.title.like("Đường lên%")))
    before = stored(session, record_id).iso2709
    incoming = marc.build_record("Đường lên Tây Bắc", authors=["Tô, Hoài"], year=1960, edition="In lần 2")
    with transaction(session):
        report = importing.commit(session, iso(incoming), on_duplicate="replace", actor_id=None)
    assert report.updated == 1
    after = stored(session, record_id).iso2709
    assert after != before and after == marc.record_to_iso2709(incoming)


def test_deleting_a_record_deletes_its_marc_data(session) -> None:
    row = create_record(session, marc.build_record("Nhật ký trong tù", year=1960), actor_id=None)
    session.commit()
    record_id = row.id
    assert stored(session, record_id) is not None
    session.delete(session.get(Record, record_id))
    session.commit()
    assert stored(session, record_id) is None


def test_the_migration_moves_existing_marc_text_and_back(database_factory) -> None:
    url = database_factory()
    application = make_app(url)
    marc_json = (
        '{"leader":"00000nam a2200000 a 4500","fields":'
        '[{"245":{"ind1":"0","ind2":"0","subfields":[{"a":"Đất rừng phương Nam"}]}}]}'
    )
    columns = (
        "title, title_sort, responsibility, main_author, authors, publisher, place, edition, subjects, "
        "physical_description, series, source, is_demo, created_at, updated_at, version"
    )
    values = "'Đất rừng phương Nam', '', '', '', '', '', '', '', '', '', '', '', false, :now, :now, 1"
    with application.app_context():
        upgrade(revision=BEFORE)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(
                text(f"INSERT INTO records (id, marc, {columns}) VALUES (7, :marc, {values})"),  # noqa: S608
                {"marc": marc_json, "now": "2026-11-27 00:00:00+00:00"},
            )
        upgrade(revision=AFTER)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT record_id, marc, iso2709 FROM record_marc")).all() == [
                (7, marc_json, None)
            ]
            assert conn.execute(text("SELECT title FROM records")).scalar_one() == "Đất rừng phương Nam"
        downgrade(revision=BEFORE)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT id, marc FROM records")).all() == [(7, marc_json)]
        engine.dispose()
        from app.extensions import db

        db.engine.dispose()
