"""The quick paths of the MARC layer give exactly what the careful paths give.

validate's one-look-per-field path against the field-by-field checks, indexing.fields_json against
json.dumps, and ParsedRecord.raw (the bytes read, kept as the record's ISO 2709 form) against the
ISO 2709 writers — on every real test file and on records made to be odd.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pymarc import Field, Indicators, Leader, Record, Subfield

from catalog import indexing, marc

DATA = Path(__file__).resolve().parents[1] / "data" / "marc"
FILES = sorted(
    str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file() and p.suffix in (".mrc", ".dat", ".xml")
)


def careful_validate(record: Record) -> list[marc.Problem]:
    """validate() with every field checked one by one (no quick path)."""
    problems, kind = marc._leader_problems(str(record.leader))
    counts = marc._field_problems(record.fields, kind, problems)
    if kind == "bibliographic" and "245" not in counts:
        problems.append(marc.Problem("245", "there is no 245 (title) field"))
    for tag in marc._NON_REPEATABLE:
        if counts.get(tag, 0) > 1:
            problems.append(
                marc._problem(
                    tag,
                    "field %(tag)s appears %(count)d times; it is not repeatable",
                    tag=tag,
                    count=counts[tag],
                )
            )
    return problems


BOOK = "00000nam a2200000 i 4500"


def reference_json(record: Record) -> str:
    return json.dumps(marc.record_to_dict(record), ensure_ascii=False, separators=(",", ":"))


def data_field(tag: str, ind: tuple, *subfields: tuple) -> Field:
    f = Field(tag, Indicators(*ind), [Subfield(c, v) for c, v in subfields])
    f._indicators = Indicators(*ind)  # exactly as given, even when pymarc would not allow it
    return f


def odd_records() -> list[Record]:
    """Records with each kind of problem validate names, and data that JSON must escape."""
    good = [
        Field("001", data="odd-1"),
        Field("008", data="260101s2026    vm            000 0 vie d"),
        data_field("245", ("1", "0"), ("a", "Đường Kách Mệnh /"), ("c", "Nguyễn Ái Quốc.")),
    ]
    variants: list[list[Field]] = [
        [],
        [data_field("245", (" ", " "), ("a", 'He said "hi" \\ back\\slash \\u0001 \\n'))],
        [data_field("245", (" ", " "), ("a", "tab\there\nnewline\x01\x02\x1b\x7f\u2028\U0001f600"))],
        [data_field("245", (" ", " "), ("a", "\x1e and \x1f inside"))],
        [data_field("245", (" ", " "), ("A", "upper-case code"))],
        [data_field("245", (" ", " "), ("", "no code"))],
        [data_field("245", (" ", " "), ("ab", "two-letter code"))],
        [data_field("245", (" ", " "), ('"', "quote code"), ("\\", "backslash code"))],
        [data_field("245", ("X", "?"), ("a", "bad indicators"))],
        [data_field("245", ("", "  "), ("a", "indicator lengths"))],
        [data_field("500", (" ", " "))],  # no subfields
        [data_field("000", (" ", " "), ("a", "tag 000"))],
        [data_field("24a", (" ", " "), ("a", "non-numeric tag"))],
        [data_field("2450", (" ", " "), ("a", "four-character tag"))],
        [Field("005", data="")],  # an empty control field
        [Field("007", data="cr\x1fab")],  # a control field with a subfield delimiter
        [Field("008", data="too short")],
        [Field("006", data="ctrl\x07char")],
        [data_field("003", (" ", " "), ("a", "a control tag stored as a data field"))],
        [Field("100", Indicators("1", " "), [Subfield("a", "One")]), Field("100", data=None)],
        [data_field("650", (" ", "0"), ("a", "Repeated"))] * 3,
        [data_field("245", (" ", " "), ("a", "second 245"))],
        [data_field("952", (" ", " "), ("a", "LIB"), ("i", "VN000001"), ("p", "00001"))],
    ]
    records = []
    for n, extra in enumerate(variants):
        for leader in (
            "00000nam a2200000 i 4500",
            "00000nzm a2200000 i 4500",
            "00000cam  2200000 a 4500",
            "short",
        ):
            record = Record()
            record.leader = Leader(leader) if len(leader) == 24 else leader
            record.fields = ([] if n == len(variants) - 1 else good[:]) + list(extra)
            records.append(record)
    control_as_data = Record()
    control_as_data.leader = Leader("00000nam a2200000 i 4500")
    f = Field("001", data="x")
    f.control_field = False
    control_as_data.fields = [f, *good]
    records.append(control_as_data)
    return records


@pytest.mark.parametrize("name", FILES)
def test_validate_quick_path_equals_the_careful_checks_on_real_files(name: str) -> None:
    for parsed in marc.read_records(DATA / name):
        if parsed.record is not None:
            assert marc.validate(parsed.record) == careful_validate(parsed.record), parsed.index


def test_validate_quick_path_equals_the_careful_checks_on_odd_records() -> None:
    records = odd_records()
    quick = 0
    for record in records:
        assert marc.validate(record) == careful_validate(record)
        quick += marc._clean_field_counts(record.fields, "bibliographic") is not None
    # both paths were taken
    assert 0 < quick < len(records)
    assert any(p.severity == "warning" for r in records for p in marc.validate(r))


@pytest.mark.parametrize("name", FILES)
def test_fields_json_equals_json_dumps_on_real_files(name: str) -> None:
    for parsed in marc.read_records(DATA / name):
        if parsed.record is not None:
            assert indexing.record_json(parsed.record) == reference_json(parsed.record), parsed.index


def test_fields_json_equals_json_dumps_on_odd_records() -> None:
    for record in odd_records():
        if isinstance(record.leader, str):
            continue
        try:
            expected = reference_json(record)
        except TypeError:  # a data field without indicators: neither can write it
            with pytest.raises(TypeError):
                indexing.record_json(record)
            continue
        assert indexing.record_json(record) == expected
        assert json.loads(indexing.record_json(record)) == marc.record_to_dict(record)


def test_fields_json_falls_back_for_values_that_are_not_text() -> None:
    record = Record()
    record.leader = Leader("00000nam a2200000 i 4500")
    record.fields = [Field("001", data="x"), data_field("245", (" ", " "), ("a", "Title"))]
    record.fields[1].subfields.append(Subfield("b", None))  # type: ignore[arg-type]
    assert indexing.record_json(record) == reference_json(record)
    assert '{"b":null}' in indexing.record_json(record)


@pytest.mark.parametrize("name", FILES)
def test_raw_bytes_are_the_records_iso2709_form(name: str) -> None:
    for parsed in marc.read_records(DATA / name):
        if parsed.raw is not None:
            assert parsed.record is not None and not parsed.warnings
            assert parsed.raw == marc.record_to_iso2709(parsed.record)
            assert parsed.raw == marc.iso2709_from_json(indexing.record_json(parsed.record))


def test_raw_bytes_only_for_utf8_records_read_without_repair() -> None:
    def raws(name: str, **kwargs: str) -> list[bool]:
        return [p.raw is not None for p in marc.read_records(DATA / name, **kwargs)]

    assert all(raws("loc/loc_vietnamese_part1.mrc"))  # UTF-8, clean
    assert all(raws("marc4j/brkrtest_UTF8.mrc"))
    assert not any(raws("marc4j/brkrtest.mrc"))  # MARC-8: the bytes are not what the writer writes
    assert not any(raws("file_marc/wronglen.mrc"))  # repaired: the leader's length was wrong
    assert not any(raws("marc4j/sample1a.xml"))  # not ISO 2709
    assert not any(raws("loc/loc_vietnamese_part1.mrc", encoding="tcvn3"))  # converted text


def _iso(leader: str, fields: list[tuple[str, bytes]]) -> bytes:
    """Build ISO 2709 bytes by hand (fields in order, contiguous)."""
    directory = b""
    area = b""
    for tag, data in fields:
        directory += tag.encode() + b"%04d%05d" % (len(data) + 1, len(area))
        area += data + b"\x1e"
    base = 24 + len(directory) + 1
    total = base + len(area) + 1
    head = f"{total:05d}{leader[5:12]}{base:05d}{leader[17:]}".encode()
    return head + directory + b"\x1e" + area + b"\x1d"


@pytest.mark.parametrize(
    ("leader", "fields", "kept"),
    [
        ("00000nam a2200000 i 4500", [("001", b"x"), ("245", b"10\x1faT\xc3\xaan")], True),
        ("00000nam a2200000 i 4500", [("245", b"10\x1faA\x1f\x1fbB")], False),  # an empty subfield
        ("00000nam a2200000 i 4500", [("245", b"1\x1faA")], False),  # one indicator
        ("00000nam  2200000 i 4500", [("245", b"10\x1faA")], False),  # leader/09 blank: MARC-8
        ("00000nam a2300000 i 4500", [("245", b"10\x1faA")], False),  # leader/10 is not 2
        ("00000nam a2200000 i 4400", [("245", b"10\x1faA")], False),  # leader/20-23 not 4500
    ],
)
def test_raw_bytes_kept_only_when_the_writer_would_write_them(leader: str, fields: list, kept: bool) -> None:
    data = _iso(leader, fields)
    (parsed,) = marc.read_records(data)
    assert parsed.record is not None
    assert (parsed.raw is not None) is kept
    if kept:
        assert parsed.raw == data == marc.record_to_iso2709(parsed.record)


def test_raw_bytes_not_kept_when_the_directory_is_out_of_order() -> None:
    data = bytearray(_iso("00000nam a2200000 i 4500", [("001", b"ab"), ("245", b"10\x1faA")]))
    # Point both entries at their fields but list 245 first: the record reads the same, but the
    # writer would write the directory in field order.
    entries = data[24:48]
    data[24:48] = entries[12:] + entries[:12]
    (parsed,) = marc.read_records(bytes(data))
    assert parsed.record is not None and [f.tag for f in parsed.record.fields] == ["245", "001"]
    assert parsed.raw is None
