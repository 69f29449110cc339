"""Export: real records imported, exported in each format, checked by other MARC software and re-read."""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
import math
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pymarc
import pytest
from pymarc import Field, Indicators, Record, Subfield
from sqlalchemy import event, insert, select

from app.network.models import SiteKind
from catalog import exporting
from catalog.errors import NotFound, ValidationError
from catalog.indexing import index_record
from catalog.marc import build_record, read_records, records_equal
from catalog.models import Record as RecordRow
from catalog.models import RecordMarc
from catalog.services import add_items, change_item_status, create_record

DATA = Path(__file__).resolve().parents[1] / "data" / "marc"
SCHEMA = DATA / "schema" / "MARC21slim.xsd"
LOC = "loc/loc_booksall2016_part01_first10000.mrc"
VIETNAMESE = "loc/loc_vietnamese_part1.mrc"
XMLLINT = shutil.which("xmllint")
YAZ = shutil.which("yaz-marcdump")
FORMATS = ("iso2709", "marcxml", "marcjson")


@functools.cache
def marc_file(name: str, start: int = 0, stop: int | None = None) -> tuple[Record, ...]:
    """The records of a test file (a slice of it), each read without a problem."""
    parsed = list(itertools.islice(read_records(DATA / name), start, stop))
    assert parsed and all(p.ok and not p.warnings for p in parsed), name
    return tuple(p.record for p in parsed)


def loc_880_slice() -> tuple[Record, ...]:
    """A few LoC records around the one record of the file that carries 880 (alternate script) fields."""
    records = marc_file(LOC, 6684, 6690)
    assert any(f.tag == "880" for r in records for f in r.fields)
    return records


def store(session, records) -> list[tuple[int, Record]]:
    """Import records the way a cataloguer's import does; return (id, record as read)."""
    stored = [(create_record(session, r, actor_id=None, source="test").id, r) for r in records]
    session.commit()
    return stored


@pytest.fixture
def catalogue(session) -> list[tuple[int, Record]]:
    """The Vietnamese LoC records, the marc4j UTF-8 test records and LoC records with 880 fields."""
    return store(session, marc_file(VIETNAMESE) + marc_file("marc4j/brkrtest_UTF8.mrc") + loc_880_slice())


def export_bytes(session, fmt: str, **kwargs) -> tuple[bytes, exporting.ExportReport]:
    report = exporting.ExportReport(fmt)
    data = b"".join(exporting.export(session, fmt, report=report, **kwargs))
    return data, report


def read_back(data: bytes, fmt: str) -> list[Record]:
    parsed = list(read_records(data, format=fmt))
    assert all(p.ok and not p.warnings for p in parsed), [(p.reason, p.warnings) for p in parsed]
    return [p.record for p in parsed]


# --- other software reads the files ----------------------------------------------------------


@pytest.mark.skipif(XMLLINT is None, reason="xmllint is not installed (.ci/run installs libxml2-utils)")
def test_marcxml_export_passes_the_marcxml_schema(session, catalogue, tmp_path) -> None:
    data, report = export_bytes(session, "marcxml")
    assert report.written == len(catalogue) and report.skipped_count == 0
    path = tmp_path / "export.xml"
    path.write_bytes(data)
    result = subprocess.run(
        [XMLLINT, "--noout", "--schema", str(SCHEMA), str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "validates" in result.stderr


@pytest.mark.skipif(XMLLINT is None, reason="xmllint is not installed (.ci/run installs libxml2-utils)")
def test_the_schema_check_catches_an_invalid_file(tmp_path) -> None:
    """The schema check above can fail: a record without a leader does not validate."""
    path = tmp_path / "bad.xml"
    path.write_text(
        '<collection xmlns="http://www.loc.gov/MARC21/slim"><record><controlfield tag="001">1'
        "</controlfield></record></collection>"
    )
    result = subprocess.run(
        [XMLLINT, "--noout", "--schema", str(SCHEMA), str(path)], capture_output=True, check=False
    )
    assert result.returncode != 0


@pytest.mark.skipif(YAZ is None, reason="yaz-marcdump is not installed (.ci/run installs yaz)")
def test_iso2709_export_is_read_by_yaz_marcdump_without_complaint(session, catalogue, tmp_path) -> None:
    data, _ = export_bytes(session, "iso2709")
    path = tmp_path / "export.mrc"
    path.write_bytes(data)
    checked = subprocess.run([YAZ, "-n", str(path)], capture_output=True, check=False)
    assert checked.returncode == 0
    assert checked.stdout == b"" and checked.stderr == b"", checked.stdout[:500] + checked.stderr[:500]
    as_xml = subprocess.run([YAZ, "-i", "marc", "-o", "marcxml", str(path)], capture_output=True, check=True)
    assert as_xml.stdout.count(b"<record") == len(catalogue)
    # yaz sees the text as we wrote it: the Vietnamese titles arrive intact.
    first_title = catalogue[0][1]["245"]["a"]
    assert first_title.encode("utf-8") in as_xml.stdout


@pytest.mark.skipif(YAZ is None, reason="yaz-marcdump is not installed (.ci/run installs yaz)")
def test_yaz_marcdump_does_complain_about_a_broken_file() -> None:
    """The yaz check above can fail: it reports a record whose directory does not match its data."""
    checked = subprocess.run(
        [YAZ, "-n", str(DATA / "file_marc/wronglen.mrc")], capture_output=True, check=False
    )
    assert checked.stdout or checked.stderr


def test_iso2709_export_is_read_by_pymarc(session, catalogue) -> None:
    data, _ = export_bytes(session, "iso2709")
    reader = pymarc.MARCReader(data, to_unicode=True, force_utf8=True)
    records = []
    for record in reader:
        assert record is not None, reader.current_exception
        records.append(record)
    assert len(records) == len(catalogue)
    for read, (_, original) in zip(records, catalogue, strict=True):
        assert records_equal(read, original)


# --- import -> export -> import ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_import_export_import_gives_the_same_records(session, catalogue, fmt) -> None:
    data, report = export_bytes(session, fmt)
    assert (report.written, report.skipped_count, report.missing) == (len(catalogue), 0, 0)
    again = read_back(data, fmt)
    assert len(again) == len(catalogue)
    for read, (_, original) in zip(again, catalogue, strict=True):
        assert records_equal(read, original), original["245"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_vietnamese_text_is_exported_as_received_not_normalised(session, catalogue, fmt) -> None:
    originals = marc_file(VIETNAMESE)
    decomposed = [
        r["245"].value() for r in originals if not unicodedata.is_normalized("NFC", r["245"].value())
    ]
    assert decomposed, "the test file should hold decomposed Vietnamese titles"
    data, _ = export_bytes(session, fmt)
    titles = [r["245"].value() for r in read_back(data, fmt) if r["245"] is not None]
    for title in decomposed:
        assert title in titles
        assert unicodedata.normalize("NFC", title) not in titles


@pytest.mark.parametrize("fmt", FORMATS)
def test_880_alternate_script_fields_survive_the_round_trip(session, catalogue, fmt) -> None:
    wanted = [str(f) for r in loc_880_slice() for f in r.get_fields("880")]
    data, _ = export_bytes(session, fmt)
    got = [str(f) for r in read_back(data, fmt) for f in r.get_fields("880")]
    assert got == wanted


def test_marcjson_export_is_a_json_list_read_by_the_importer(session, catalogue) -> None:
    data, _ = export_bytes(session, "marcjson")
    value = json.loads(data)
    assert isinstance(value, list) and len(value) == len(catalogue)
    assert value[0]["leader"] == str(catalogue[0][1].leader)


# --- scopes ------------------------------------------------------------------------------------


def test_a_list_of_ids_is_exported_in_its_order_without_duplicates(session, catalogue) -> None:
    ids = [catalogue[5][0], catalogue[1][0], catalogue[5][0], 999_999, catalogue[3][0]]
    data, report = export_bytes(session, "marcxml", ids=ids)
    again = read_back(data, "marcxml")
    expected = [catalogue[5][1], catalogue[1][1], catalogue[3][1]]
    assert len(again) == 3 and all(records_equal(a, b) for a, b in zip(again, expected, strict=True))
    assert (report.written, report.missing) == (3, 1)


def test_ids_may_come_from_a_function_of_the_session(session, catalogue) -> None:
    wanted = [catalogue[2][0], catalogue[0][0]]
    seen = []

    def finder(s):
        seen.append(s)
        return iter(wanted)

    data, report = export_bytes(session, "iso2709", ids=finder)
    assert seen == [session]
    assert report.written == 2
    assert records_equal(read_back(data, "iso2709")[0], catalogue[2][1])


def test_one_record_is_exported_alone(session, catalogue) -> None:
    record_id, original = catalogue[7]
    data = exporting.export_record(session, record_id, "iso2709")
    (again,) = read_back(data, "iso2709")
    assert records_equal(again, original)
    with pytest.raises(NotFound):
        exporting.export_record(session, 987_654, "iso2709")


def test_an_empty_catalogue_gives_an_empty_but_valid_file(session) -> None:
    for fmt in FORMATS:
        data, report = export_bytes(session, fmt)
        assert report.written == 0
        if fmt == "iso2709":
            assert data == b""
        else:
            assert read_back(data, fmt) == []


def test_unknown_format_is_refused(session) -> None:
    with pytest.raises(ValidationError):
        list(exporting.export(session, "csv"))
    assert exporting.filename_for("marcxml", dt.date(2026, 11, 27)) == "tramsach-20261127.xml"


# --- records a format cannot hold ---------------------------------------------------------------


def big_record() -> Record:
    """A valid record of about 120 KB: too long for ISO 2709, fine for MARCXML and JSON."""
    notes = [f"Ghi chú {n}: " + "dữ liệu dài " * 330 for n in range(30)]
    return build_record("Một biểu ghi rất dài", authors=["Nguyễn, Văn A"], year=2020, notes=notes)


def test_a_record_too_long_for_iso2709_is_skipped_and_reported(session) -> None:
    (small_id, small), (big_id, _big), (last_id, last) = store(
        session, [build_record("Sách nhỏ", year=2021), big_record(), build_record("Sách cuối", year=2022)]
    )
    data, report = export_bytes(session, "iso2709")
    assert (report.written, report.skipped_count) == (2, 1)
    assert report.skipped[0].record_id == big_id
    assert "99,999" in report.skipped[0].reason
    assert f"record {big_id} skipped" in report.summary()
    again = read_back(data, "iso2709")
    assert [records_equal(a, b) for a, b in zip(again, [small, last], strict=True)] == [True, True]
    with pytest.raises(ValidationError):
        exporting.export_record(session, big_id, "iso2709")
    xml, xml_report = export_bytes(session, "marcxml")
    assert (xml_report.written, xml_report.skipped_count) == (3, 0)
    assert len(read_back(xml, "marcxml")) == 3


# --- copies as 952 ------------------------------------------------------------------------------


@pytest.fixture
def library(make_site):
    return make_site(code="TVSL", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


def test_with_items_writes_one_koha_952_per_copy(session, library) -> None:
    original = build_record("Truyện Kiều", authors=["Nguyễn Du"], year=2015)
    original.add_field(Field("952", Indicators(" ", " "), [Subfield("p", "OLD-952-FROM-ANOTHER-SYSTEM")]))
    ((record_id, _),) = store(session, [original])
    row = session.get(RecordRow, record_id)
    values = {
        "library_id": library.id,
        "call_number": "895.9221 NG-D",
        "location": "Kho mở",
        "price_vnd": "85.000",
        "source": "Mua",
        "notes": "Bìa rách\nđã dán lại",
    }
    first = add_items(
        session, row, accession_numbers=["VN.00002"], values={**values, "barcode": "8935"}, actor_id=None
    )
    add_items(session, row, accession_numbers=["VV.00001"], values={"library_id": library.id}, actor_id=None)
    change_item_status(session, first[0], "available", actor_id=None)
    change_item_status(session, first[0], "lost", actor_id=None)
    session.commit()

    data, _ = export_bytes(session, "marcxml", with_items=True)
    (again,) = read_back(data, "marcxml")
    fields = again.get_fields("952")
    assert [[(s.code, s.value) for s in f.subfields if s.code != "d"] for f in fields] == [
        [
            ("1", "1"),
            ("a", "TVSL"),
            ("b", "TVSL"),
            ("c", "Kho mở"),
            ("e", "Mua"),
            ("g", "85000"),
            ("i", "VN.00002"),
            ("k", "lost"),
            ("o", "895.9221 NG-D"),
            ("p", "8935"),
            ("x", "Bìa rách đã dán lại"),
        ],
        [("7", "-1"), ("a", "TVSL"), ("b", "TVSL"), ("i", "VV.00001"), ("k", "in_processing")],
    ]
    dates = [f["d"] for f in fields]
    assert all(len(d) == 10 and d[4] == "-" and d[7] == "-" for d in dates)
    # Everything else is the record as stored, without the 952 it came with.
    assert records_equal(
        Record(leader=str(again.leader), fields=[f for f in again.fields if f.tag != "952"]),
        Record(leader=str(original.leader), fields=[f for f in original.fields if f.tag != "952"]),
    )
    # Without copies the record goes out exactly as stored, its own 952 included.
    plain, _ = export_bytes(session, "marcxml")
    (as_stored,) = read_back(plain, "marcxml")
    assert records_equal(as_stored, original)


@pytest.mark.parametrize("fmt", FORMATS)
def test_952_fields_reimport_in_every_format(session, library, fmt) -> None:
    ((record_id, _),) = store(session, [build_record("Nhật ký trong tù", authors=["Hồ Chí Minh"], year=1960)])
    row = session.get(RecordRow, record_id)
    add_items(
        session,
        row,
        accession_numbers=["TN.00007", "TN.00008"],
        values={"library_id": library.id},
        actor_id=None,
    )
    session.commit()
    data, _ = export_bytes(session, fmt, with_items=True)
    (again,) = read_back(data, fmt)
    assert [f["i"] for f in again.get_fields("952")] == ["TN.00007", "TN.00008"]


# --- streaming: the database is read a chunk at a time ------------------------------------------


@pytest.fixture
def count_selects(engine):
    """Count the SELECTs on the MARC data (record_marc) and items tables issued while the test runs."""
    counts = {"record_marc": 0, "items": 0}

    def before(_conn, _cursor, statement, _params, _context, _many):
        text = " ".join(statement.split()).lower()
        if text.startswith("select"):
            for table in counts:
                if f"from {table}" in text:
                    counts[table] += 1

    event.listen(engine, "before_cursor_execute", before)
    yield counts
    event.remove(engine, "before_cursor_execute", before)


@pytest.fixture
def many_records(session, library) -> int:
    """450 LoC records inserted in bulk (the export reads only the stored MARC), 45 with a copy each."""
    rows = [dict(index_record(r).row) for r in marc_file(LOC, 0, 450)]
    marcs = [row.pop("marc") for row in rows]
    session.execute(insert(RecordRow), rows)
    ids = session.scalars(select(RecordRow.id).order_by(RecordRow.id)).all()
    marc_rows = [{"record_id": i, "marc": m} for i, m in zip(ids, marcs, strict=True)]
    session.execute(insert(RecordMarc), marc_rows)  # the ISO 2709 cache left empty: the writer runs
    session.commit()
    ids = session.scalars(select(RecordRow.id).order_by(RecordRow.id)).all()
    for n, record_id in enumerate(ids[::10]):
        add_items(
            session,
            session.get(RecordRow, record_id),
            accession_numbers=[f"VN.{n:05d}"],
            values={"library_id": library.id},
            actor_id=None,
        )
    session.commit()
    return len(rows)


@pytest.mark.parametrize("chunk_size", [100, 1000])
def test_the_whole_catalogue_is_read_in_chunks(session, many_records, count_selects, chunk_size) -> None:
    data, report = export_bytes(session, "iso2709", with_items=True, chunk_size=chunk_size)
    assert report.written == many_records
    # Keyset pagination: one SELECT per chunk, and one more that finds nothing after a full last chunk.
    chunks = math.ceil(many_records / chunk_size)
    assert count_selects == {"record_marc": many_records // chunk_size + 1, "items": chunks}
    assert len(read_back(data, "iso2709")) == many_records
    assert sum(len(r.get_fields("952")) for r in read_back(data, "iso2709")) == 45


def test_a_list_of_ids_is_read_in_chunks(session, many_records, count_selects) -> None:
    ids = list(range(many_records, 0, -1))  # newest first, as a search might rank them
    data, report = export_bytes(session, "marcjson", ids=ids, chunk_size=64)
    assert report.written == many_records
    assert count_selects["record_marc"] == math.ceil(many_records / 64)
    assert count_selects["items"] == 0


def test_the_export_is_lazy_it_reads_as_it_is_consumed(session, many_records, count_selects) -> None:
    pieces = exporting.export(session, "marcxml", chunk_size=50)
    next(pieces)
    after_first_piece = count_selects["record_marc"]
    rest = list(pieces)
    assert rest
    assert 1 <= after_first_piece < count_selects["record_marc"] == many_records // 50 + 1


# --- the command line --------------------------------------------------------------------------


def test_cli_exports_to_standard_output(runner, session, catalogue) -> None:
    result = runner.invoke(args=["catalog", "export", "--format", "marcxml", "--output", "-"])
    assert result.exit_code == 0, result.output
    again = read_back(result.stdout_bytes, "marcxml")
    assert len(again) == len(catalogue)
    assert f"{len(catalogue)} record(s) written as marcxml, 0 skipped" in result.stderr


def test_cli_exports_to_a_file_with_copies(runner, session, library, tmp_path) -> None:
    ((record_id, original),) = store(session, [build_record("Tắt đèn", authors=["Ngô Tất Tố"], year=1939)])
    add_items(
        session,
        session.get(RecordRow, record_id),
        accession_numbers=["VV.00009"],
        values={"library_id": library.id},
        actor_id=None,
    )
    session.commit()
    path = tmp_path / "out.mrc"
    result = runner.invoke(
        args=["catalog", "export", "--format", "iso2709", "--with-items", "--output", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    (again,) = read_back(path.read_bytes(), "iso2709")
    assert again["952"]["i"] == "VV.00009" and again["245"]["a"] == original["245"]["a"]
    assert list(tmp_path.iterdir()) == [path]


def test_cli_reports_skipped_records_on_stderr(runner, session, tmp_path) -> None:
    (_, (big_id, _)) = store(session, [build_record("Sách nhỏ", year=2021), big_record()])
    result = runner.invoke(args=["catalog", "export", "--format", "iso2709", "-o", str(tmp_path / "x.mrc")])
    assert result.exit_code == 0
    assert "1 record(s) written as iso2709, 1 skipped" in result.stderr
    assert f"record {big_id} skipped" in result.stderr and "99,999" in result.stderr


def test_cli_bad_output_path_exits_1_with_one_line(runner, tmp_path) -> None:
    target = tmp_path / "no-such-folder" / "out.xml"
    result = runner.invoke(args=["catalog", "export", "--format", "marcxml", "--output", str(target)])
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith("Error: cannot write to") and "Traceback" not in result.output
    )
    assert not target.parent.exists()


def test_cli_needs_a_known_format(runner) -> None:
    result = runner.invoke(args=["catalog", "export", "--format", "csv", "--output", "-"])
    assert result.exit_code == 2


def test_report_summary_counts_missing_ids() -> None:
    report = exporting.ExportReport("marcxml", written=2, missing=1)
    assert report.summary() == "2 record(s) written as marcxml, 0 skipped, 1 no longer in the catalogue"


def test_cli_exports_a_search_result(runner, session) -> None:
    stored = store(
        session,
        [
            build_record("Truyện Kiều", authors=["Nguyễn Du"], year=1820),
            build_record("Số đỏ", authors=["Vũ Trọng Phụng"], year=1936),
            build_record("Đường lên Tây Bắc", year=1990),
        ],
    )
    result = runner.invoke(
        args=["catalog", "export", "--format", "marcjson", "--query", "duong", "--output", "-"]
    )
    assert result.exit_code == 0, result.output
    (found,) = read_back(result.stdout_bytes, "marcjson")
    assert records_equal(found, stored[2][1])
    assert "1 record(s) written as marcjson, 0 skipped" in result.stderr
    nothing = runner.invoke(args=["catalog", "export", "--format", "marcxml", "-q", "khongco", "-o", "-"])
    assert nothing.exit_code == 0 and read_back(nothing.stdout_bytes, "marcxml") == []
    empty = runner.invoke(args=["catalog", "export", "--format", "marcxml", "-q", "  ", "-o", "-"])
    assert empty.exit_code == 2


def test_a_search_beyond_what_it_ranks_is_cut_and_reported(session, monkeypatch) -> None:
    from catalog import search

    store(session, [build_record(f"Truyện cổ tích tập {n}", year=2000 + n) for n in range(1, 8)])
    monkeypatch.setattr(search, "COUNT_LIMIT", 4)
    report = exporting.ExportReport("marcxml")
    data = b"".join(
        exporting.export(session, "marcxml", ids=exporting.search_ids("truyen", report), report=report)
    )
    assert len(read_back(data, "marcxml")) == report.written == 4
    assert report.limited == 4
    assert "only the first 4 went out" in report.summary()
