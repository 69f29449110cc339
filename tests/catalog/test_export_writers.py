"""The export's fast writers (from stored MARC-in-JSON) give exactly what the pymarc writers give."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from pymarc import Field, Indicators, Leader, Record, Subfield

from catalog.indexing import record_json
from catalog.marc import (
    MarcWriteError,
    build_record,
    iso2709_from_dict,
    iso2709_from_json,
    iter_iso2709,
    iter_marcjson,
    iter_marcxml,
    marcxml_from_dict,
    marcxml_from_json,
    read_records,
    record_to_iso2709,
    record_to_marcxml,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "marc"
FILES = (
    "loc/loc_vietnamese_part1.mrc",
    "marc4j/brkrtest_UTF8.mrc",
    "marc4j/brkrtest.mrc",
    "marc4j/sample1a.xml",
    "pymarc/test.dat",
    "file_marc/wronglen.mrc",
)


def real_records() -> list[Record]:
    records = [p.record for name in FILES for p in read_records(DATA / name) if p.ok]
    loc = read_records(DATA / "loc/loc_booksall2016_part01_first10000.mrc")
    records += [p.record for p in itertools.islice(loc, 300)]
    return records


def outcome(write, arg):
    """What a writer gives: its output, or the message of the MarcWriteError it raises."""
    try:
        return write(arg)
    except MarcWriteError as exc:
        return f"error: {exc}"


def record(*fields: Field, leader: str = "00000nam a2200000 i 4500") -> Record:
    r = Record()
    r.leader = Leader(leader)
    r.fields = list(fields)
    return r


def data_field(tag: str, *subs: tuple[str, str], ind: str = "  ") -> Field:
    return Field(tag, Indicators(ind[0], ind[1]), [Subfield(c, v) for c, v in subs])


# Records that take every branch: escapes, XML specials, odd codes and tags, limits.
EDGE_CASES = {
    "quote and backslash": record(data_field("245", ("a", 'Say "hi" \\ bye'))),
    "xml specials": record(data_field("245", ("a", "Tom & Jerry <1> > 0")), Field("001", data="a&b<c>")),
    "carriage return": record(data_field("500", ("a", "line\rbreak"))),
    "control character": record(data_field("500", ("a", "bell\x07"))),
    "subfield delimiter in data": record(data_field("500", ("a", "x\x1fy"))),
    "field terminator in control field": record(Field("001", data="x\x1ey")),
    "empty value": record(data_field("245", ("a", ""), ("b", "x"))),
    "punctuation code": record(data_field("245", ("&", "odd code"))),
    "uppercase code": record(data_field("245", ("A", "upper"))),
    "two-character code": record(data_field("245", ("ab", "too long"))),
    "no subfields": record(data_field("245")),
    "bad indicator": record(data_field("245", ("a", "x"), ind="#1")),
    "uppercase indicator": record(data_field("245", ("a", "x"), ind="A ")),
    "lowercase tag": record(data_field("abc", ("a", "x"))),
    "bad control tag": record(Field("0A!", data="x")),
    "control-looking data tag": record(Field("245", data="not a data field")),
    "non-ascii tag": record(data_field("2é5", ("a", "x"))),
    "bad leader": record(data_field("245", ("a", "x")), leader="00000nam a2200000 i 45xx"),
    "braces and commas in data": record(data_field("245", ("a", '},{"b":"x"}],'), ("b", '{"a":"y"}'))),
    "json look-alike in control field": record(Field("001", data='{"001":"x"}')),
    "field over 9,999 bytes": record(data_field("500", ("a", "đ" * 5000))),
    "record over 99,999 bytes": record(*[data_field("500", ("a", "x" * 9000)) for _ in range(12)]),
    "vietnamese decomposed": record(data_field("245", ("a", "Tie\u0302\u0301ng Vie\u0323\u0302t"))),
    "no fields": record(),
}


# A subfield code of two characters cannot even be read back as a record: refused, in other words.
MESSAGE_DIFFERS = {"two-character code"}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_fast_writers_match_the_pymarc_writers_on_edge_cases(name: str) -> None:
    rec = EDGE_CASES[name]
    obj = json.loads(record_json(rec))
    text = record_json(rec)
    for slow, fast_dict, fast_text in (
        (record_to_iso2709, iso2709_from_dict, iso2709_from_json),
        (record_to_marcxml, marcxml_from_dict, marcxml_from_json),
    ):
        expected = outcome(slow, rec)
        got = [outcome(fast_dict, obj), outcome(fast_text, text)]
        if isinstance(expected, str) and name in MESSAGE_DIFFERS:
            assert all(isinstance(g, str) and g.startswith("error") for g in got)
        else:
            assert got == [expected, expected]


def test_edge_cases_include_both_successes_and_refusals() -> None:
    """The comparison above is meaningful only if some cases are written and some refused."""
    results = [outcome(record_to_iso2709, r) for r in EDGE_CASES.values()]
    results += [outcome(record_to_marcxml, r) for r in EDGE_CASES.values()]
    refused = [r for r in results if isinstance(r, str) and r.startswith("error")]
    assert 8 <= len(refused) < len(results) - 8


def test_fast_writers_match_the_pymarc_writers_on_real_records() -> None:
    records = real_records()
    assert len(records) > 380
    for rec in records:
        text = record_json(rec)
        assert iso2709_from_json(text) == record_to_iso2709(rec)
        assert marcxml_from_json(text) == record_to_marcxml(rec)


def test_the_iterators_take_records_objects_and_stored_text_alike() -> None:
    records = [build_record("Truyện Kiều", year=2015), build_record("Số đỏ", year=1936)]
    objects = [json.loads(record_json(r)) for r in records]
    texts = [record_json(r) for r in records]
    for writer in (iter_iso2709, iter_marcxml, iter_marcjson):
        expected = b"".join(writer(records))
        assert b"".join(writer(objects)) == expected
        assert b"".join(writer(texts)) == expected


def test_invalid_stored_text_is_a_write_error() -> None:
    skipped = []
    out = b"".join(iter_iso2709(['{"leader": broken'], lambda n, r, exc: skipped.append((n, str(exc)))))
    assert out == b""
    assert skipped and skipped[0][0] == 1 and "not valid JSON" in skipped[0][1]
