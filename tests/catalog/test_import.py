"""Importing MARC files: every real file, duplicates, the on-duplicate modes, all-or-nothing, copies."""

from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path

import pytest
from pymarc import Field, Indicators, Subfield
from sqlalchemy import func, select, text

from app.audit.models import AuditEvent
from app.db import transaction
from app.network.models import SiteKind
from catalog import importing, marc, services
from catalog.indexing import index_record, record_from_json, search_texts, with_item_terms
from catalog.models import Item, Record, RecordKey

DATA = Path(__file__).resolve().parents[1] / "data" / "marc"

# file: (read, new, duplicates, rejected, not bibliographic), importing into an empty catalogue.
EXPECTED = {
    "loc/loc_booksall2016_part01_first10000.mrc": (10000, 10000, 0, 0, 0),
    "loc/loc_vietnamese_part1.mrc": (60, 60, 0, 0, 0),
    "pymarc/test.dat": (10, 10, 0, 0, 0),
    # 7 broken records; the 2 readable ones are the same record twice (leader/06 blank, a 245).
    "pymarc/bad_records.mrc": (9, 1, 1, 7, 0),
    "pymarc/bad_marc8_escape.dat": (1, 1, 0, 0, 0),
    "pymarc/utf8_invalid.mrc": (1, 0, 0, 1, 0),  # U+FFFD as a subfield code
    "pymarc/bad_tag.xml": (1, 0, 0, 1, 0),
    # The 8 test records share one ISBN but each has its own 003+001: 8 different records.
    "marc4j/brkrtest.mrc": (8, 8, 0, 0, 0),
    "marc4j/brkrtest_UTF8.mrc": (8, 8, 0, 0, 0),
    "marc4j/sample1a.xml": (9, 4, 0, 0, 5),
    "marc4j/chabon-missing-subfield-code.xml": (1, 0, 0, 1, 0),
    "marc4j/datos-20161010-slice.mrc": (1, 0, 0, 1, 0),
    "file_marc/wronglen.mrc": (1, 1, 0, 0, 0),
    "file_marc/bad_leader.xml": (1, 0, 0, 1, 0),
}


def commit(session, source, **kwargs) -> importing.ImportReport:
    kwargs.setdefault("actor_id", None)
    with transaction(session):
        return importing.commit(session, source, **kwargs)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def search_rows(session) -> int:
    return session.execute(text("SELECT count(*) FROM record_search")).scalar()


def iso(*records) -> bytes:
    out = io.BytesIO()
    marc.write_iso2709(records, out)
    return out.getvalue()


def test_every_data_file_has_an_expectation() -> None:
    files = {
        str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file() and p.suffix not in (".md", ".xsd")
    }
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_file_imports_good_records_and_reports_bad_ones(session, name) -> None:
    report = commit(session, DATA / name)
    read, new, duplicates, rejected, other = EXPECTED[name]
    assert (report.read, report.new, report.duplicates, report.rejected, report.not_bibliographic) == (
        read,
        new,
        duplicates,
        rejected,
        other,
    )
    assert report.created == new  # on_duplicate=skip
    assert report.created + report.updated + report.unchanged + report.skipped == new + duplicates
    assert count(session, Record) == new
    assert count(session, RecordKey) >= new
    assert search_rows(session) == new
    assert len(report.rejections) == rejected
    for r in report.rejections:
        assert r.reason and "Traceback" not in r.reason and "\n" not in r.reason
    assert [o.kind for o in report.other_records] == ["holdings"] * other
    # One audit event for the whole import, with its counts.
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "catalog.import")).all()
    assert len(events) == 1 and events[0].changes["created"] == [None, new]


def test_rejections_carry_record_number_offset_and_reason(session) -> None:
    report = importing.stage(session, DATA / "pymarc/bad_records.mrc")
    assert [(r.record, r.offset) for r in report.rejections] == [
        (2, 127),
        (3, 254),
        (4, 381),
        (5, 509),
        (6, 637),
        (7, 764),
        (9, 917),
    ]
    assert report.rejections[1].reason == "the base address of data (0) points inside the leader"
    size = importing.stage(session, DATA / "marc4j/datos-20161010-slice.mrc").rejections[0]
    assert (size.record, size.offset) == (1, 0) and "over the ISO 2709 limit of 99,999" in size.reason
    damaged = importing.stage(session, DATA / "pymarc/utf8_invalid.mrc").rejections[0]
    assert damaged.reason.startswith("260: the subfield code")


def test_staging_writes_nothing(session) -> None:
    report = importing.stage(session, DATA / "pymarc/test.dat")
    assert (report.read, report.new, report.created, report.committed) == (10, 10, 10, False)
    session.rollback()
    assert count(session, Record) == 0 and count(session, AuditEvent) == 0 and search_rows(session) == 0


def test_importing_the_same_file_twice_creates_no_duplicates(session) -> None:
    first = commit(session, DATA / "pymarc/test.dat")
    second = commit(session, DATA / "pymarc/test.dat")
    assert (first.created, second.created, second.duplicates, second.skipped) == (10, 0, 10, 10)
    assert count(session, Record) == 10
    # Records without any identifier match on their content.
    commit(session, DATA / "pymarc/bad_records.mrc")
    again = commit(session, DATA / "pymarc/bad_records.mrc")
    assert (again.created, again.duplicates) == (0, 2)
    assert {d.match_kind for d in again.duplicate_records} == {"content"}
    assert count(session, Record) == 11


def test_marc8_and_utf8_twins_match_on_their_control_numbers(session) -> None:
    commit(session, DATA / "marc4j/brkrtest.mrc")
    twin = commit(session, DATA / "marc4j/brkrtest_UTF8.mrc")
    assert (twin.created, twin.duplicates) == (0, 8)
    assert {d.match_kind for d in twin.duplicate_records} == {"control_number"}
    titles = dict(session.execute(select(Record.id, Record.title)).all())
    assert all(d.matched_title == titles[d.record_id] for d in twin.duplicate_records)


def test_isbn10_in_one_record_matches_isbn13_in_another(session) -> None:
    commit(session, iso(marc.build_record("Truyện Kiều", isbn="0-306-40615-2", authors=["Nguyễn, Du"])))
    report = commit(session, iso(marc.build_record("Kim Vân Kiều", isbn="978-0-306-40615-7")))
    assert (report.created, report.duplicates) == (0, 1)
    dup = report.duplicate_records[0]
    assert (dup.match_kind, dup.match_value, dup.matched_title) == ("isbn", "9780306406157", "Truyện Kiều")


def test_records_with_different_identifiers_are_not_duplicates_on_isbn(session) -> None:
    def record(title: str, lccn: str | None):
        rec = marc.build_record(title, isbn="9780306406157")
        if lccn:
            rec.add_ordered_field(Field("010", Indicators(" ", " "), [Subfield("a", lccn)]))
        return rec

    commit(session, iso(record("Volume 1", "  2001012345")))
    other = commit(session, iso(record("Volume 2", "  2001012346")))
    assert (other.created, other.duplicates) == (1, 0)
    unknown = commit(session, iso(record("Volume 3", None)))  # no LCCN to tell it apart: a duplicate
    assert (unknown.created, unknown.duplicates) == (0, 1)


def test_duplicates_within_one_file_are_imported_once(session) -> None:
    rec = marc.build_record("Lịch sử Sơn La", authors=["Lò, Văn Hặc"], year=2010)
    report = commit(session, iso(rec, rec, rec))
    assert (report.created, report.duplicates) == (1, 2)
    assert [d.record for d in report.duplicate_records] == [2, 3]
    assert count(session, Record) == 1


def _stored(session):
    row = session.scalars(select(Record)).one()
    session.refresh(row)
    return row, record_from_json(row.marc)


def test_on_duplicate_skip_leaves_the_record(session) -> None:
    commit(session, iso(marc.build_record("Đường lên Tây Bắc", authors=["Tô, Hoài"], year=1960)))
    before = _stored(session)[0].marc
    changed = marc.build_record("Đường lên Tây Bắc", authors=["Tô, Hoài"], year=1960, edition="In lần 2")
    report = commit(session, iso(changed), on_duplicate="skip")
    assert (report.skipped, report.updated) == (1, 0)
    row, _ = _stored(session)
    assert row.marc == before and row.version == 1


def test_on_duplicate_replace_puts_the_incoming_record_in_place(session) -> None:
    commit(session, iso(marc.build_record("Đường lên Tây Bắc", authors=["Tô, Hoài"], year=1960)))
    incoming = marc.build_record(
        "Đường lên Tây Bắc", authors=["Tô, Hoài"], year=1960, edition="In lần 2", subjects=["Văn học"]
    )
    report = commit(session, iso(incoming), on_duplicate="replace", actor_id=None)
    assert (report.updated, report.created, report.duplicate_records[0].action) == (1, 0, "replaced")
    row, stored = _stored(session)
    assert marc.records_equal(stored, incoming)
    assert (row.edition, row.subjects, row.version) == ("In lần 2.", "Văn học", 2)
    update = session.scalars(select(AuditEvent).where(AuditEvent.action == "record.update")).one()
    assert update.object_id == str(row.id) and "In lần 2" in update.changes["marc"][1]
    # The same file again changes nothing.
    again = commit(session, iso(incoming), on_duplicate="replace")
    assert (again.updated, again.unchanged) == (0, 1)
    assert _stored(session)[0].version == 2


def test_on_duplicate_merge_adds_the_fields_the_record_lacks(session) -> None:
    existing = marc.build_record("Sơn La quê hương", authors=["Cầm, Trọng"], year=2005, subjects=["Sơn La"])
    commit(session, iso(existing))
    incoming = marc.build_record(
        "Sơn La: quê hương (bản khác)",
        authors=["Cầm, Trọng"],
        year=2005,
        subjects=["Sơn La", "Dân tộc Thái"],
        isbn="9786040000001",
        edition="Tái bản",
    )
    incoming.remove_fields("245")
    incoming.add_ordered_field(Field("245", Indicators("1", "0"), [Subfield("a", "Sơn La quê hương")]))
    report = commit(session, iso(incoming), on_duplicate="merge")
    assert (report.updated, report.duplicate_records[0].action) == (1, "merged")
    row, stored = _stored(session)
    assert [f.value() for f in stored.get_fields("650")] == ["Sơn La", "Dân tộc Thái"]  # no repeat
    assert stored["245"]["a"] == existing["245"]["a"]  # kept
    assert stored["250"]["a"] == "Tái bản." and stored["020"]["a"] == "9786040000001"  # added
    assert row.subjects == "Sơn La; Dân tộc Thái" and row.isbn == "9786040000001"
    again = commit(session, iso(incoming), on_duplicate="merge")
    assert (again.updated, again.unchanged) == (0, 1)


def test_on_duplicate_add_imports_a_new_record(session) -> None:
    rec = marc.build_record("Nhật ký trong tù", authors=["Hồ, Chí Minh"], year=1960)
    commit(session, iso(rec))
    report = commit(session, iso(rec), on_duplicate="add")
    assert (report.duplicates, report.created, report.duplicate_records[0].action) == (1, 1, "added")
    assert count(session, Record) == 2


def test_a_failure_halfway_leaves_the_catalogue_as_it_was(session, monkeypatch) -> None:
    commit(session, DATA / "marc4j/sample1a.xml")
    before = (
        count(session, Record),
        count(session, RecordKey),
        search_rows(session),
        count(session, AuditEvent),
    )
    monkeypatch.setattr(importing, "CHUNK_SIZE", 3)
    calls = {"records": 0}
    real = importing._insert_rows

    def failing(conn, table, columns, rows):
        if table == "records":
            calls["records"] += 1
            if calls["records"] == 3:
                raise RuntimeError("disk full")
        real(conn, table, columns, rows)

    monkeypatch.setattr(importing, "_insert_rows", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        commit(session, DATA / "pymarc/test.dat")
    assert calls["records"] == 3  # two chunks had been written before the failure
    after = (
        count(session, Record),
        count(session, RecordKey),
        search_rows(session),
        count(session, AuditEvent),
    )
    assert after == before


def test_vietnamese_records_keep_the_received_text_and_index_nfc(session) -> None:
    raw = [p.record for p in marc.read_records(DATA / "loc/loc_vietnamese_part1.mrc")]
    commit(session, DATA / "loc/loc_vietnamese_part1.mrc")
    rows = session.execute(select(Record.marc, Record.title, Record.authors)).all()
    stored = {json.loads(m)["fields"][0]["001"]: (m, title, authors) for m, title, authors in rows}
    not_nfc = 0
    for record in raw:
        marc_text, title, authors = stored[record["001"].data]
        received = record["245"]["a"]
        assert json.dumps(received, ensure_ascii=False) in marc_text  # exactly as received
        assert unicodedata.is_normalized("NFC", title) and unicodedata.is_normalized("NFC", authors)
        not_nfc += not unicodedata.is_normalized("NFC", received)
    assert not_nfc > 10  # the file really is not NFC


def test_fast_row_and_keys_equal_the_indexing_module(session) -> None:
    names = ["loc/loc_vietnamese_part1.mrc", "marc4j/brkrtest.mrc", "pymarc/test.dat", "marc4j/sample1a.xml"]
    checked = 0
    for name in names:
        for parsed in marc.read_records(DATA / name):
            if parsed.record is None:
                continue
            indexed = index_record(parsed.record)
            status, inc, *_ = importing._prepare(parsed)
            if status != "ok":
                continue
            assert {
                "marc": inc.marc_json,
                **dict(zip(importing._ROW_NAMES, inc.row, strict=True)),
            } == indexed.row
            assert importing.record_row(inc.marc_json, indexed.fields) == indexed.row
            assert with_item_terms(inc.search) == search_texts(indexed.fields)
            terms = ["VV.000123", "", "895.922 NG-T"]  # as the copies' terms are added when storing
            assert with_item_terms(inc.search, terms) == search_texts(indexed.fields, terms)
            assert {importing._key_str(*k) for k in indexed.keys} == set(inc.keys)
            try:
                expected_iso = marc.iso2709_from_json(indexed.row["marc"])
            except marc.MarcWriteError:
                expected_iso = None
            assert inc.iso == expected_iso  # the bytes read, when they are the record's ISO 2709 form
            checked += 1
    assert checked == 82


@pytest.mark.parametrize("readers", [1, 2])
@pytest.mark.parametrize("name", ["pymarc/bad_records.mrc", "marc4j/sample1a.xml", "marc4j/brkrtest.mrc"])
def test_reader_processes_and_in_process_reading_agree(session, monkeypatch, name, readers) -> None:
    monkeypatch.setattr(importing, "READERS", readers)
    monkeypatch.setattr(importing, "_BATCH", 2)  # many groups, shared between the readers
    monkeypatch.setattr(importing, "CHUNK_SIZE", 3)
    apart = importing.stage(session, DATA / name, parallel=True).to_dict()
    together = importing.stage(session, DATA / name, parallel=False).to_dict()
    apart.pop("import_id"), together.pop("import_id")
    assert apart == together
    assert [r["record"] for r in apart["rejections"]] == sorted(r["record"] for r in apart["rejections"])
    committed = commit(session, DATA / name, parallel=True)
    assert committed.created == count(session, Record) == EXPECTED[name][1]


def test_reader_process_reports_a_broken_file(session, tmp_path) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_bytes((DATA / "marc4j/sample1a.xml").read_bytes()[:3000])
    with pytest.raises(marc.MarcFileError, match="malformed"):
        commit(session, broken, parallel=True)
    session.rollback()
    assert count(session, Record) == 0


def test_import_enlarges_the_sqlite_cache_while_it_writes(session, monkeypatch, db_engine_name) -> None:
    monkeypatch.setattr(importing, "CHUNK_SIZE", 2)
    sqlite = db_engine_name == "sqlite"

    def cache_size() -> int | None:
        return session.connection().exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None

    before = cache_size()
    during: list[int | None] = []
    report = commit(session, DATA / "pymarc/test.dat", progress=lambda *_: during.append(cache_size()))
    assert report.created == 10
    if sqlite:
        assert before != -importing._IMPORT_CACHE_KIB
        *writing, last = during  # the last report comes when the import is done
        assert writing and set(writing) == {-importing._IMPORT_CACHE_KIB}
        assert last == before
        assert cache_size() == before  # restored for whoever uses the pooled connection next


def test_progress_is_reported(session, monkeypatch) -> None:
    monkeypatch.setattr(importing, "CHUNK_SIZE", 2)
    calls = []
    importing.stage(session, DATA / "pymarc/test.dat", progress=lambda *args: calls.append(args))
    size = (DATA / "pymarc/test.dat").stat().st_size
    assert calls[-1] == (10, size, size)
    assert [c[0] for c in calls] == sorted(c[0] for c in calls) and len(calls) >= 2


def _with_copies(*copies: list[tuple[str, str]]):
    rec = marc.build_record("Tiếng Thái Sơn La", authors=["Lò, Văn Sỹ"], year=2019)
    for subfields in copies:
        rec.add_ordered_field(Field("952", Indicators(" ", " "), [Subfield(c, v) for c, v in subfields]))
    return rec


def test_koha_952_fields_become_copies(session, make_site) -> None:
    library = make_site(code="SLA", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)
    branch = make_site(code="MC", name="Thư viện Mộc Châu", kind=SiteKind.DISTRICT_LIBRARY)
    seq = services.create_sequence(session, library_id=library.id, prefix="VV", width=5, actor_id=None)
    session.commit()
    rec = _with_copies(
        [("a", "SLA"), ("i", "vn.00123"), ("p", "1000123"), ("o", "895.92 L400"), ("g", "45.000đ")],
        [("a", "MC"), ("p", "1000124"), ("c", "Kho mở"), ("1", "1")],
        [("a", "XYZ"), ("i", "VN.00124"), ("g", "giá liên hệ")],
    )
    report = commit(session, iso(rec), library_id=library.id, sequence_id=seq.id)
    assert (report.items_found, report.items_created, report.items_skipped, report.numbers_allocated) == (
        3,
        3,
        0,
        1,
    )
    items = {i.accession_number: i for i in session.scalars(select(Item))}
    assert set(items) == {"VN.00123", "VV.00001", "VN.00124"}
    first, second, third = items["VN.00123"], items["VV.00001"], items["VN.00124"]
    assert (first.barcode, first.call_number, first.price_vnd, first.library_id) == (
        "1000123",
        "895.92 L400",
        45000,
        library.id,
    )
    assert (second.library_id, second.location, second.status, second.barcode) == (
        branch.id,
        "Kho mở",
        "lost",
        "1000124",
    )
    assert (third.library_id, third.price_vnd, third.status) == (library.id, None, "available")
    messages = " | ".join(n.message for n in report.warnings)
    assert "'XYZ' is not a library" in messages and "'giá liên hệ' is not a number" in messages
    # The copies' numbers are in the search text of the record.
    folded = session.execute(text("SELECT folded FROM record_search")).scalar()
    assert "vn.00123" in folded and "vv.00001" in folded
    # Importing the file again with add: the numbers and barcodes are taken, so no copy is made twice.
    again = commit(session, iso(rec), on_duplicate="add", library_id=library.id, sequence_id=seq.id)
    assert (again.created, again.items_created, again.items_skipped) == (1, 1, 2)
    assert count(session, Item) == 4
    assert any("barcode 1000124 is already used" in n.message for n in again.warnings)


def test_copies_without_a_number_or_library_are_reported_not_created(session) -> None:
    report = commit(session, iso(_with_copies([("i", "VN.1")], [("p", "42")])))
    assert (report.created, report.items_found, report.items_created, report.items_skipped) == (1, 2, 0, 2)
    assert count(session, Item) == 0
    assert any("no library" in n.message for n in report.warnings)


def test_merge_records_keeps_existing_fields_and_order() -> None:
    existing = marc.build_record("A", subjects=["X"], year=2000)
    incoming = marc.build_record("B", subjects=["X", "Y"], year=2000, isbn="0306406152", series="S")
    merged = importing.merge_records(existing, incoming)
    assert merged is not None
    tags = [f.tag for f in merged.fields]
    assert tags == sorted(tags)
    assert merged["245"]["a"] == "A." and [f["a"] for f in merged.get_fields("650")] == ["X", "Y"]
    assert merged["490"]["a"] == "S" and merged["020"]["a"] == "0306406152"
    assert importing.merge_records(merged, incoming) is None


@pytest.mark.parametrize(
    ("text_value", "expected"),
    [("45.000đ", 45000), ("45,000 VND", 45000), ("120000", 120000), ("$12.50", 12), ("1.234.567 đ", 1234567)],
)
def test_prices_are_read_as_whole_numbers(text_value, expected) -> None:
    assert importing.parse_price(text_value) == expected


def test_report_survives_a_round_trip_through_json(session) -> None:
    report = importing.stage(session, DATA / "pymarc/bad_records.mrc")
    again = importing.ImportReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report
