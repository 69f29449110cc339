"""Reading bad input: whole-file errors, broken records between good ones, every format and encoding."""

from __future__ import annotations

import gzip
import io
import json
import random
import zipfile

import pytest
from pymarc import Field, Indicators, Leader, Record, Subfield

from catalog.encodings import unicode_to_tcvn3, unicode_to_vni
from catalog.marc import (
    MarcFileError,
    MarcRecordError,
    extract,
    read_records,
    record_from_dict,
    record_to_dict,
    record_to_iso2709,
    record_to_marcxml,
    records_equal,
    sniff_format,
)

TITLE = "Truyện Kiều"


def book(title: str = TITLE, extra: int = 0) -> Record:
    record = Record()
    record.leader = Leader("00000nam a2200000 i 4500")
    record.fields = [
        Field("001", data="VN001"),
        Field("008", data="250101s2020    vm            000 0 vie d"),
        Field("245", Indicators("1", "0"), [Subfield("a", title)]),
        *[Field("500", Indicators(" ", " "), [Subfield("a", f"n{i}")]) for i in range(extra)],
    ]
    return record


def iso(title: str = TITLE) -> bytes:
    return record_to_iso2709(book(title))


def read(data: bytes, **kwargs: str) -> list:
    return list(read_records(data, **kwargs))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b" \r\n\t ", "the file is empty (it holds only blank space)"),
        (gzip.compress(b"00000nam a2200000"), "gzip-compressed"),
        (b"BZh91AY&SY", "bzip2-compressed"),
        (b"%PDF-1.4\n", "PDF document"),
        (random.Random(1).randbytes(4000), "binary data"),
        (b"Title,Author\nTruyen Kieu,Nguyen Du\n", "it starts with 'Title,Author'"),
    ],
)
def test_unreadable_files_raise_one_line_errors(data: bytes, message: str) -> None:
    with pytest.raises(MarcFileError) as info:
        read(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_zip_file_is_named() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("records.mrc", iso())
    with pytest.raises(MarcFileError, match="ZIP archive"):
        read(buf.getvalue())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<collection><record><leader>", "the XML is malformed"),
        (b"<collection><record></collection>", "the XML is malformed: mismatched tag"),
        (b"<html><body>hello</body></html>", "its root element is <html>"),
        (b"<?xml version='1.0'?>", "the XML is malformed"),
    ],
)
def test_malformed_xml(data: bytes, message: str) -> None:
    with pytest.raises(MarcFileError, match=message):
        read(data)


def test_missing_file_and_wrong_declared_format(tmp_path) -> None:
    with pytest.raises(MarcFileError, match="cannot be opened"):
        read_records(tmp_path / "nope.mrc").__next__()
    path = tmp_path / "records.mrc"  # a MARCXML file with the wrong extension is still read
    path.write_bytes(b"<record><leader>00000nam a2200000 i 4500</leader></record>")
    assert [r.ok for r in read_records(path)] == [True]
    with pytest.raises(MarcFileError, match="given as ISO 2709 but its content is MARCXML"):
        list(read_records(path, format="iso2709"))
    with pytest.raises(ValueError, match="unknown format"):
        list(read_records(path, format="csv"))


def test_sniff_format() -> None:
    assert sniff_format(b"\xef\xbb\xbf  <collection/>") == "marcxml"
    assert sniff_format(b'\n[{"leader": ""}]') == "marcjson"
    assert sniff_format(b"01234nam") == "iso2709"


def test_broken_records_between_good_ones_resynchronise() -> None:
    good = iso()
    garbage = b"this is not a record at all" + b"\x1d"
    truncated_dir = b"00029nam a2200028 i 4500245\x1e" + b"\x1d"
    data = good + b"\r\n" + garbage + good + truncated_dir + good + good[:40]
    results = read(data)
    assert [r.ok for r in results] == [True, False, True, False, True, False]
    assert results[1].reason == "the record length in the leader ('this ') is not a number"
    assert results[1].offset == len(good) + 2
    assert results[2].offset == len(good) + 2 + len(garbage)
    assert results[3].reason == "the directory length (3 bytes) is not a multiple of 12"
    assert results[5].reason.startswith("the file ends in the middle of a record")


def test_records_not_wanted_are_counted_but_not_parsed() -> None:
    good = iso()
    garbage = b"this is not a record at all" + b"\x1d"
    data = good + b"\r\n" + garbage + good + iso("Lục Vân Tiên") + good[:40]
    every = read(data)
    assert len(every) == 5
    even = list(read_records(data, wanted=lambda n: n % 2 == 0))
    assert [(r.index, r.offset, r.ok) for r in even] == [
        (2, every[1].offset, False),
        (4, every[3].offset, True),
    ]
    assert even[0].reason == every[1].reason
    assert even[1].record["245"]["a"] == "Lục Vân Tiên"
    odd = list(read_records(data, wanted=lambda n: n % 2 == 1))
    assert [(r.index, r.offset) for r in odd] == [(r.index, r.offset) for r in every[0::2]]
    assert odd[-1].reason.startswith("the file ends in the middle of a record")


def test_a_record_with_ten_thousand_fields() -> None:
    big = book(extra=10_000)
    # ISO 2709 cannot hold it: the directory alone is 120,000 bytes.
    with pytest.raises(Exception, match="over the ISO 2709 limit"):
        record_to_iso2709(big)
    raw = iso()
    leader = b"99999nam a2200000 i 4500"
    directory = b"".join(b"500001000000" for _ in range(10_000))
    data = raw + leader + directory + b"\x1e" + b"  \x1fax\x1e" + b"\x1d" + raw
    results = read(data)
    assert [r.ok for r in results] == [True, False, True]
    assert "over the ISO 2709 limit of 99,999 bytes" in results[1].reason
    # MARCXML and JSON can hold it.
    xml = f"<collection>{record_to_marcxml(big)}</collection>".encode()
    (from_xml,) = read(xml)
    assert len(from_xml.record.fields) == 10_003
    (from_json,) = read(json.dumps(record_to_dict(big)).encode())
    assert records_equal(from_json.record, big)
    assert extract(from_json.record).notes[-1] == "n9999"


def test_no_terminator_for_many_megabytes_is_skipped() -> None:
    filler = b"0" * (17 << 20)
    results = read(iso() + filler + b"\x1d" + iso())
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].reason.startswith("no record terminator in 17,825,7")
    assert results[2].offset == len(iso()) + len(filler) + 1


def test_stream_is_read_in_pieces() -> None:
    class Spy(io.BytesIO):
        sizes: list[int] = []

        def read(self, size: int | None = -1) -> bytes:
            self.sizes.append(size if size is not None else -1)
            return super().read(size)

    spy = Spy(iso() * 3)
    results = list(read_records(spy))
    assert len(results) == 3
    assert all(0 < s <= 1 << 20 for s in spy.sizes)
    assert not spy.closed  # a caller's stream is left open


def test_marcxml_forms() -> None:
    rec = record_to_marcxml(book(), namespace=True)
    single = read(rec.encode())
    assert single[0].ok and records_equal(single[0].record, book())
    prefixed = (
        '<m:collection xmlns:m="http://www.loc.gov/MARC21/slim">'
        + rec.replace('<record xmlns="http://www.loc.gov/MARC21/slim">', "<m:record>")
        .replace("</record>", "</m:record>")
        .replace("<leader>", "<m:leader>")
        .replace("</leader>", "</m:leader>")
        + "</m:collection>"
    )
    assert "<m:record>" in prefixed
    (from_prefixed,) = read(prefixed.encode())
    assert from_prefixed.ok
    no_ns = f"<collection>{record_to_marcxml(book())}{record_to_marcxml(book('Hai'))}</collection>"
    assert [extract(r.record).title for r in read(no_ns.encode())] == [TITLE, "Hai"]
    assert read(b"<collection/>") == []


def test_marcjson_forms() -> None:
    one = record_to_dict(book())
    two = record_to_dict(book("Hai"))
    for data in (
        json.dumps(one),
        json.dumps([one, two]),
        json.dumps(one) + "\n" + json.dumps(two) + "\n",
        "[ ]",
    ):
        results = read(data.encode())
        assert all(r.ok for r in results)
        assert len(results) == data.count('"leader"')
    bad = json.dumps([one, {"leader": "short", "fields": []}, {"fields": []}, 5, two])
    results = read(bad.encode())
    assert [r.reason for r in results] == [
        None,
        "the leader is 5 characters long; it must be 24",
        "the record has no leader",
        "the record is not a JSON object",
        None,
    ]
    with pytest.raises(MarcFileError, match="the JSON is malformed"):
        read(b'[{"leader": "x"')
    with pytest.raises(MarcFileError, match="not valid UTF-8"):
        read(b'[{"leader": "\xff"}]')


def test_record_from_dict_errors() -> None:
    with pytest.raises(MarcRecordError, match="subfield without a code"):
        record_from_dict(
            {
                "leader": "00000nam a2200000 i 4500",
                "fields": [{"245": {"ind1": "0", "ind2": "0", "subfields": [{"": "x"}]}}],
            }
        )


SENTENCE = "Số phận con người, Đường Trường Sơn, Thơ Hồ Xuân Hương"


@pytest.mark.parametrize(("name", "encode"), [("tcvn3", unicode_to_tcvn3), ("vni", unicode_to_vni)])
def test_legacy_bytes_in_a_record_declared_utf8_are_detected(name: str, encode) -> None:
    legacy = encode(SENTENCE)
    raw = iso("PLACEHOLDER")
    raw = raw.replace(b"PLACEHOLDER", legacy)
    raw = f"{len(raw):05d}".encode() + raw[5:]
    # Fix the 245 length in the directory for the new text.
    record_bytes = _fix_directory(raw)
    (result,) = read(record_bytes)
    assert result.ok, result.reason
    assert result.encoding == name
    expected = SENTENCE if name == "vni" else SENTENCE.replace("Đ", "Đ")
    assert extract(result.record).title.lower() == expected.lower()
    assert str(result.record.leader)[9] == "a"
    # Asked explicitly, the same bytes convert too.
    (explicit,) = read(record_bytes, encoding=name)
    assert explicit.encoding == name and extract(explicit.record).title.lower() == SENTENCE.lower()


def _fix_directory(raw: bytes) -> bytes:
    """Rebuild a one-off record's directory after its field data changed length."""
    base = int(raw[12:17])
    fields = raw[base:-1].split(b"\x1e")[:-1]
    tags = [raw[24 + i : 27 + i] for i in range(0, base - 25, 12)]
    directory = b""
    offset = 0
    for tag, data in zip(tags, fields, strict=True):
        directory += tag + b"%04d%05d" % (len(data) + 1, offset)
        offset += len(data) + 1
    body = directory + b"\x1e" + b"".join(f + b"\x1e" for f in fields) + b"\x1d"
    total = 24 + len(body)
    return b"%05d" % total + raw[5:12] + b"%05d" % (24 + len(directory) + 1) + raw[17:24] + body


def test_invalid_utf8_that_is_not_vietnamese_is_rejected() -> None:
    raw = _fix_directory(iso("PLACEHOLDER").replace(b"PLACEHOLDER", "中文 Ωμέγα".encode("utf-16-le")))
    (result,) = read(raw)
    assert not result.ok
    assert result.reason.startswith(
        "the record says it is UTF-8 (leader/09 = 'a') but field 245 is not valid"
    )


def test_blank_leader_09_with_utf8_data_is_read_as_utf8() -> None:
    raw = iso()
    raw = raw[:9] + b" " + raw[10:]
    (result,) = read(raw)
    assert result.encoding == "utf-8-unflagged"
    assert extract(result.record).title == TITLE
    assert "leader/09 says MARC-8 but the data is UTF-8" in result.warnings[0]


def test_forced_marc8() -> None:
    raw = _fix_directory(iso("PLACEHOLDER").replace(b"PLACEHOLDER", b"Soci\xe2et\xe2e"))
    (result,) = read(raw, encoding="marc-8")
    assert extract(result.record).title == "Société"
