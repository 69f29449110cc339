"""Every real MARC file in tests/data/marc reads without a crash, with the exact expected outcome."""

from __future__ import annotations

import itertools
import unicodedata
from pathlib import Path

import pymarc
import pytest

from catalog.marc import ParsedRecord, extract, match_keys, normalize_text, read_records, validate

DATA = Path(__file__).resolve().parents[1] / "data" / "marc"


def read(name: str, **kwargs: str) -> list[ParsedRecord]:
    return list(read_records(DATA / name, **kwargs))


def summary(results: list[ParsedRecord]) -> tuple[int, int, dict[str, int]]:
    kinds: dict[str, int] = {}
    for r in results:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
    return len(results), sum(r.ok for r in results), kinds


# (file, records read, records ok, kinds) for every data file.
EXPECTED = {
    "loc/loc_booksall2016_part01_first10000.mrc": (10000, 10000, {"bibliographic": 10000}),
    "loc/loc_vietnamese_part1.mrc": (60, 60, {"bibliographic": 60}),
    "pymarc/test.dat": (10, 10, {"bibliographic": 10}),
    "pymarc/bad_records.mrc": (9, 2, {"unknown": 9}),
    "pymarc/bad_marc8_escape.dat": (1, 1, {"bibliographic": 1}),
    "pymarc/utf8_invalid.mrc": (1, 1, {"bibliographic": 1}),
    "pymarc/bad_tag.xml": (1, 0, {"unknown": 1}),
    "marc4j/brkrtest.mrc": (8, 8, {"bibliographic": 8}),
    "marc4j/brkrtest_UTF8.mrc": (8, 8, {"bibliographic": 8}),
    "marc4j/sample1a.xml": (9, 9, {"bibliographic": 4, "holdings": 5}),
    "marc4j/chabon-missing-subfield-code.xml": (1, 0, {"bibliographic": 1}),
    "marc4j/datos-20161010-slice.mrc": (1, 0, {"bibliographic": 1}),
    "file_marc/wronglen.mrc": (1, 1, {"bibliographic": 1}),
    "file_marc/bad_leader.xml": (1, 0, {"bibliographic": 1}),
}


def test_every_data_file_has_an_expectation() -> None:
    files = {
        str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file() and p.suffix not in (".md", ".xsd")
    }
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_file_reads_with_expected_counts(name: str) -> None:
    results = read(name)
    assert summary(results) == EXPECTED[name]
    assert [r.index for r in results] == list(range(1, len(results) + 1))
    for r in results:
        # Every record is either a record or a reason, never both, never neither.
        assert (r.record is None) == (r.reason is not None)
        if r.reason:
            assert r.reason[0].islower() and "Traceback" not in r.reason


def test_bad_records_reasons_and_offsets() -> None:
    results = read("pymarc/bad_records.mrc")
    got = [(r.index, r.offset, r.reason) for r in results]
    assert got == [
        (1, 0, None),
        (2, 127, "the base address of data (99937) is beyond the end of the record (127 bytes)"),
        (3, 254, "the base address of data (0) points inside the leader"),
        (4, 381, "the directory length (13 bytes) is not a multiple of 12"),
        (5, 509, "the directory contains bytes that are not ASCII"),
        (6, 637, "the base address of data in the leader ('f0037') is not a number"),
        (7, 764, "the record has no fields"),
        (8, 790, None),
        (
            9,
            917,
            "the file ends in the middle of a record: the leader says 127 bytes but only 100 "
            "remain, without a record terminator",
        ),
    ]
    good = [r.record for r in results if r.ok]
    assert [g["245"]["a"] for g in good] == ["The pragmatic programmer : ", "The pragmatic programmer : "]


def test_oversized_record_is_rejected_with_the_reason() -> None:
    (result,) = read("marc4j/datos-20161010-slice.mrc")
    assert result.reason == (
        "record length in the leader (99999) does not match the data (214804 bytes); "
        "over the ISO 2709 limit of 99,999 bytes"
    )
    assert result.offset == 0 and result.length == 214804


def test_wrong_length_record_is_recovered_with_warnings() -> None:
    (result,) = read("file_marc/wronglen.mrc")
    assert result.ok
    assert result.warnings == [
        "record length in the leader (727) does not match the data (741 bytes)",
        "the directory's field lengths do not match the field terminators; "
        "the fields were read by their terminators",
    ]
    record = result.record
    assert [f.tag for f in record.fields][-3:] == ["650", "949", "596"]
    assert record["949"]["m"] == "HUNEXTRALONGSTUFFTINGTON"
    assert record["596"]["a"] == "1"
    # The "$<" subfield code in the first 650 is a validation problem, not a read failure.
    assert any(p.tag == "650" and "'<'" in p.message for p in validate(record))


def test_xml_rejections_name_the_problem() -> None:
    (bad_tag,) = read("pymarc/bad_tag.xml")
    assert bad_tag.reason == (
        "the leader is 17 characters long; it must be 24; the field tag '42' is not 3 characters long"
    )
    (chabon,) = read("marc4j/chabon-missing-subfield-code.xml")
    assert chabon.reason == "field 020 has a subfield without a code"
    (leader,) = read("file_marc/bad_leader.xml")
    assert leader.reason == "the leader is 26 characters long; it must be 24"


def test_sample1a_separates_holdings_from_books() -> None:
    results = read("marc4j/sample1a.xml")
    assert [r.kind[0] for r in results] == list("bhhbhbhbh")
    books = [r.record for r in results if r.kind == "bibliographic"]
    assert all("245" in b for b in books)
    holdings = [r.record for r in results if r.kind == "holdings"]
    assert not any("245" in h for h in holdings)
    assert all(r.offset is None for r in results)


def test_bad_marc8_escape_is_kept_with_a_warning() -> None:
    (result,) = read("pymarc/bad_marc8_escape.dat")
    assert result.ok and result.encoding == "marc-8"
    assert any("field 260" in w and "invalid MARC-8 escape" in w for w in result.warnings)
    record = result.record
    assert str(record.leader)[9] == "a"  # the stored record is Unicode now
    assert record["260"]["b"].startswith("La Soci")
    assert "\x1b" not in record["260"]["b"]
    assert validate(record) == []


def test_utf8_damaged_subfield_code_fails_validation() -> None:
    (result,) = read("pymarc/utf8_invalid.mrc")
    problems = validate(result.record)
    assert [(p.tag, p.severity) for p in problems] == [("260", "error")]
    assert "\ufffd" in problems[0].message


def test_marc8_test_dat_converts_to_unicode() -> None:
    results = read("pymarc/test.dat")
    assert {r.encoding for r in results} == {"marc-8"}
    assert all(str(r.record.leader)[9] == "a" for r in results)


def _texts(record: pymarc.Record) -> list[tuple[str, str]]:
    return [(f.tag, normalize_text(f.value() if not f.control_field else f.data)) for f in record.fields]


def test_marc8_and_utf8_twins_give_the_same_text() -> None:
    marc8 = read("marc4j/brkrtest.mrc")
    utf8 = read("marc4j/brkrtest_UTF8.mrc")
    assert [r.encoding for r in marc8] == ["marc-8"] * 8
    assert [r.encoding for r in utf8] == ["utf-8"] * 8
    for a, b in zip(marc8, utf8, strict=True):
        assert _texts(a.record) == _texts(b.record)
        assert extract(a.record) == extract(b.record)
    # Some characters worth checking by eye: the Polish L, the double diacritics.
    all_text = " ".join(v for r in marc8 for _, v in _texts(r.record))
    assert "Łódź" in all_text and "di͡adi͡a" in all_text and "n͠galan" in all_text


VIETNAMESE_TITLES = {
    "00280612": "Thơ Chế Lan Viên, những lời bình",
    "00280623": "Đồng đội tôi : truyện ký",
    "00280635": "Đoàn thanh niên cộng sản Hồ Chí Minh : từ đại hội đến đại hội",
    "00280645": "Nam Định, lịch sử kháng chiến chống thực dân Pháp và đế quốc Mỹ, 1945-1975",
    "00236597": "Ngôi chùa, một vùng tâm thức, một vùng thi ca = Thiền lâm chư gia đề vịnh thi",
}


def test_vietnamese_records_extract_to_nfc_text() -> None:
    results = read("loc/loc_vietnamese_part1.mrc")
    by_number = {extract(r.record).control_number: r.record for r in results}
    for number, title in VIETNAMESE_TITLES.items():
        fields = extract(by_number[number])
        assert fields.title == title
        assert fields.language == "vie"
    first = extract(by_number["00236597"])
    assert first.authors == ["Nguyễn, Khắc Mai"]
    assert first.publisher == "Nhà xuất bản Tôn giáo"
    assert first.place == "[Hà Nội]" and first.year == 2001
    assert first.subjects[:2] == ["Buddhist poetry, Vietnamese", "Buddhist temples -- Vietnam -- Poetry"]
    # A mark misplaced after a space in the source ("Nha ̀xuất") lands on its letter.
    assert extract(by_number["00280635"]).publisher == "Nhà xuất bản Thanh niên"
    for r in results:
        f = extract(r.record)
        for text in [f.title, f.responsibility, f.publisher, *f.authors, *f.subjects]:
            assert unicodedata.is_normalized("NFC", text)
            assert not any(unicodedata.combining(ch) for ch in text), text


def test_vietnamese_records_are_stored_as_received() -> None:
    # "một" arrives as m o U+0302 U+0323 t; the stored record keeps it, only extraction normalises.
    record = read("loc/loc_vietnamese_part1.mrc")[0].record
    raw_title = record["245"]["a"]
    assert "mo\u0302\u0323t" in raw_title
    assert not unicodedata.is_normalized("NFC", raw_title)


def test_vietnamese_match_keys_fold_diacritics() -> None:
    record = read("loc/loc_vietnamese_part1.mrc")[15].record
    keys = dict(match_keys(extract(record)))
    assert keys["title_author_year"] == "dong doi toi truyen ky|chi phan|1999"
    assert keys["lccn"] == "00280623"


def test_loc_offsets_are_contiguous() -> None:
    results = read("loc/loc_booksall2016_part01_first10000.mrc")
    offset = 0
    for r in results:
        assert r.offset == offset
        offset += r.length
    assert offset == (DATA / "loc/loc_booksall2016_part01_first10000.mrc").stat().st_size
    assert all(not r.warnings for r in results)


def test_same_records_as_pymarc() -> None:
    path = DATA / "loc/loc_booksall2016_part01_first10000.mrc"
    ours = [r.record for r in itertools.islice(read_records(path), 500)]
    with path.open("rb") as fh:
        theirs = list(itertools.islice(pymarc.MARCReader(fh), 500))
    for a, b in zip(ours, theirs, strict=True):
        assert a.as_dict() == b.as_dict()
