"""Extraction, match keys, validation, the writers and build_record."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from pymarc import Field, Indicators, Leader, Record, Subfield

from catalog.marc import (
    MarcWriteError,
    build_record,
    extract,
    isbn10_to_isbn13,
    isbn_is_valid,
    iter_marcxml,
    match_keys,
    normalize_isbn,
    normalize_text,
    read_records,
    record_to_iso2709,
    records_equal,
    validate,
    write_iso2709,
    write_marcjson,
    write_marcxml,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "marc"
SCHEMA = DATA / "schema" / "MARC21slim.xsd"
XMLLINT = shutil.which("xmllint") or ("/usr/bin/xmllint" if Path("/usr/bin/xmllint").exists() else None)


def sample() -> Record:
    return build_record(
        "Truyện Kiều",
        subtitle="Đoạn trường tân thanh",
        responsibility="Nguyễn Du ; Đào Duy Anh chú giải",
        authors=["Nguyễn Du", "Đào, Duy Anh"],
        isbn=["0-306-40615-2 (pbk.)", "978-604-0-00000-1"],
        publisher="Văn học",
        place="Hà Nội",
        year=2015,
        edition="Tái bản lần thứ 3",
        pages="235 tr.",
        dimensions="21 cm",
        classification="895.9221",
        subjects=["Văn học Việt Nam -- Thơ", "Truyện thơ"],
        series="Tủ sách văn học",
        series_number="5",
        notes=["Bìa mềm"],
        control_number="VN000123",
        control_number_source="SLPL",
        today=dt.date(2025, 3, 9),
    )


def test_build_record_is_valid_marc21() -> None:
    record = sample()
    assert str(record.leader) == "     nam a22     7i 4500"
    assert record["008"].data == "250309s2015    vm            000 0 vie d"
    assert len(record["008"].data) == 40
    assert record["245"].indicators == Indicators("1", "0")
    assert [s.value for s in record["245"].subfields] == [
        "Truyện Kiều :",
        "Đoạn trường tân thanh /",
        "Nguyễn Du ; Đào Duy Anh chú giải.",
    ]
    assert record["100"].indicators[0] == "0"  # a Vietnamese name in direct order
    assert record["700"].indicators[0] == "1"  # an inverted name
    assert record["260"].value() == "Hà Nội : Văn học, 2015."
    assert record["300"].value() == "235 tr. ; 21 cm"
    assert validate(record) == []


def test_build_record_without_year_and_bad_input() -> None:
    record = build_record("Sách", today=dt.date(2025, 1, 2))
    assert record["008"].data[6:15] == "nuuuuuuuu"
    assert record["245"]["a"] == "Sách."
    assert validate(record) == []
    with pytest.raises(ValueError, match="title"):
        build_record("  ")
    with pytest.raises(ValueError, match="ISO 639-2"):
        build_record("Sách", language="vi")
    with pytest.raises(ValueError, match="4 digits"):
        build_record("Sách", year="199-?")


def test_extract_built_record() -> None:
    f = extract(sample())
    assert f.title == "Truyện Kiều : Đoạn trường tân thanh"
    assert f.responsibility == "Nguyễn Du ; Đào Duy Anh chú giải"
    assert f.authors == ["Nguyễn Du", "Đào, Duy Anh"]
    assert f.isbns == ["9780306406157", "9786040000001"]
    assert f.invalid_isbns == ["9786040000001"]
    assert (f.place, f.publisher, f.year) == ("Hà Nội", "Văn học", 2015)
    assert f.edition == "Tái bản lần thứ 3."  # a full stop may end an abbreviation: kept
    assert f.language == "vie"
    assert (f.classification_scheme, f.classification) == ("ddc", "895.9221")
    assert f.subjects == ["Văn học Việt Nam -- Thơ", "Truyện thơ"]
    assert f.physical_description == "235 tr. ; 21 cm"
    assert f.series == ["Tủ sách văn học ; 5"]
    assert (f.control_number, f.control_number_source) == ("VN000123", "SLPL")


def test_isbn_normalisation() -> None:
    assert normalize_isbn("0-306-40615-2 (pbk.) :") == "9780306406157"
    assert normalize_isbn("978-0-306-40615-7") == "9780306406157"
    assert normalize_isbn("0679450041 (acid-free paper)") == "9780679450047"
    assert normalize_isbn("0-306-40615-3") == "0306406153"  # bad checksum: kept as typed
    assert not isbn_is_valid("0306406153")
    assert normalize_isbn("080442957x") == "9780804429573"
    assert isbn10_to_isbn13("0306406152") == "9780306406157"
    assert normalize_isbn("no isbn") is None


def test_match_keys() -> None:
    record = sample()
    record.add_field(Field("035", Indicators(" ", " "), [Subfield("a", "(OCoLC)ocm00012345")]))
    keys = match_keys(extract(record))
    assert ("isbn", "9780306406157") in keys
    assert ("control_number", "SLPL|VN000123") in keys
    assert ("system_number", "(OCoLC)12345") in keys
    assert ("title_author_year", "truyen kieu doan truong tan thanh|nguyen du|2015") in keys
    # The ISBN-10 and ISBN-13 spellings of one book share a key.
    other = build_record("X", isbn="9780306406157")
    assert set(match_keys(extract(other))) & set(keys)


def test_normalize_text_fixes_vietnamese_mark_order() -> None:
    assert normalize_text("mo\u0302\u0323t") == "một"  # canonical reordering (NFC alone)
    assert normalize_text("Che\u0301\u0302") == "Chế"  # same-class marks in the wrong order
    assert unicodedata.normalize("NFC", "Che\u0301\u0302") != "Chế"
    assert normalize_text("Nha \u0300xua\u0302\u0301t") == "Nhà xuất"
    assert normalize_text("ASCII") == "ASCII"
    assert normalize_text(None) == ""


def bad_record() -> Record:
    record = Record()
    record.leader = Leader("00000nhm a2200000 i 4500")
    record.fields = [
        Field("008", data="short"),
        Field("24a", Indicators("0", "0"), [Subfield("a", "x")]),
        Field("650", Indicators("#", "0"), [Subfield("a", "x")]),
        Field("500", Indicators(" ", " "), []),
        Field("520", Indicators(" ", " "), [Subfield("", "x"), Subfield("a", "bell\x07")]),
    ]
    control = Field("007", data="ta\x1fbxx")
    record.fields.append(control)
    return record


def test_validate_names_field_and_problem() -> None:
    problems = [str(p) for p in validate(bad_record())]
    assert problems == [
        "LDR: leader/06 (type of record) 'h' is not a MARC 21 type",
        "24a: the tag '24a' is not numeric",
        "650: the first indicator '#' is not a digit, a blank or a lowercase letter",
        "500: data field 500 has no subfields",
        "520: a subfield has no code",
        "520: subfield $a contains control characters",
        "007: control field 007 has subfields; control fields hold only data",
    ]
    record = sample()
    record.leader = Leader("00000nax a2200000 i 4500")
    record.remove_fields("245")
    assert [str(p) for p in validate(record)] == [
        "LDR: leader/07 (bibliographic level) 'x' is not valid",
        "245: there is no 245 (title) field",
    ]


def test_validate_wrong_leader_length() -> None:
    record = sample()
    record.leader = "short"  # an editor may hand over a plain string
    assert [str(p) for p in validate(record)][0] == "LDR: the leader is 5 characters long; it must be 24"


@pytest.mark.parametrize(
    "name", ["loc/loc_vietnamese_part1.mrc", "marc4j/brkrtest.mrc", "marc4j/sample1a.xml", "pymarc/test.dat"]
)
@pytest.mark.parametrize("writer", [write_iso2709, write_marcxml, write_marcjson])
def test_round_trip(name: str, writer) -> None:
    records = [r.record for r in read_records(DATA / name)]
    buf = io.BytesIO()
    assert writer(records, buf) == len(records)
    again = [r.record for r in read_records(buf.getvalue())]
    assert len(again) == len(records)
    assert all(records_equal(a, b) for a, b in zip(records, again, strict=True))


def test_iso2709_utf8_round_trip_is_byte_exact() -> None:
    raw = (DATA / "loc/loc_vietnamese_part1.mrc").read_bytes()
    buf = io.BytesIO()
    write_iso2709((r.record for r in read_records(raw)), buf)
    assert buf.getvalue() == raw


def test_marcjson_lines() -> None:
    records = [sample(), sample()]
    buf = io.BytesIO()
    assert write_marcjson(records, buf, lines=True) == 2
    lines = buf.getvalue().decode().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["leader"] == str(sample().leader)
    assert "Truyện Kiều" in lines[0]  # not \u-escaped


def test_writers_refuse_what_the_format_cannot_hold() -> None:
    long = sample()
    long.add_field(Field("520", Indicators(" ", " "), [Subfield("a", "x" * 10_000)]))
    with pytest.raises(MarcWriteError, match="over the ISO 2709 limit of 9,999"):
        record_to_iso2709(long)
    skipped: list[int] = []
    buf = io.BytesIO()
    written = write_iso2709([sample(), long, sample()], buf, on_error=lambda n, r, e: skipped.append(n))
    assert (written, skipped) == (2, [2])
    with pytest.raises(MarcWriteError, match="record 1: field 650"):
        write_marcxml([bad_record_for_xml()], io.BytesIO())


def bad_record_for_xml() -> Record:
    record = sample()
    record.add_field(Field("650", Indicators("#", " "), [Subfield("a", "x")]))
    return record


def test_marcxml_is_streamed_one_record_per_chunk() -> None:
    chunks = list(iter_marcxml([sample(), sample(), sample()]))
    assert len(chunks) == 5
    assert chunks[0].startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert chunks[-1] == b"</collection>\n"


@pytest.mark.skipif(XMLLINT is None, reason="xmllint (libxml2-utils) is not installed; .ci/run installs it")
def test_marcxml_output_validates_against_the_schema(tmp_path) -> None:
    records = [r.record for r in read_records(DATA / "loc/loc_vietnamese_part1.mrc")]
    records += [r.record for r in read_records(DATA / "marc4j/sample1a.xml")]
    records += [r.record for r in read_records(DATA / "marc4j/brkrtest.mrc")]
    special = sample()
    special.add_field(Field("500", Indicators(" ", " "), [Subfield("a", "<b>&amp; \"q\" 'a'\r\n</b>")]))
    records.append(special)
    out = tmp_path / "out.xml"
    with out.open("wb") as fh:
        write_marcxml(records, fh)
    result = subprocess.run(
        [XMLLINT, "--noout", "--schema", str(SCHEMA), str(out)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    again = [r.record for r in read_records(out)]
    assert records_equal(again[-1], special)


@pytest.mark.skipif(shutil.which("yaz-marcdump") is None, reason="yaz-marcdump (yaz) is not installed")
def test_iso2709_output_is_read_by_yaz(tmp_path) -> None:
    out = tmp_path / "out.mrc"
    records = [r.record for r in read_records(DATA / "marc4j/brkrtest.mrc")] + [sample()]
    with out.open("wb") as fh:
        write_iso2709(records, fh)
    result = subprocess.run(["yaz-marcdump", "-n", str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""
