"""Seed inputs and mutation operators for fuzzing the importers (shared by tests/fuzz and bench/fuzz_bench).

Every operator is a pure function `(data, rng) -> bytes`: the same bytes and the same `random.Random`
state give the same output, so a failing input is reproduced from (seed name, [(operator, seed)…]).
The seeds are slices of the real files in tests/data/marc (ISO 2709, MARCXML) and MARC-in-JSON made
from them; the operators know each format's structure (leader, directory, terminators, tags,
entities, JSON types) as well as doing blind byte damage.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data" / "marc"

Mutator = Callable[[bytes, random.Random], bytes]

# ISO 2709 seeds: (file, how many records of it); whole small files, slices of the big ones.
_ISO_SEEDS = {
    "loc/loc_vietnamese_part1.mrc": 6,
    "loc/loc_booksall2016_part01_first10000.mrc": 4,
    "pymarc/test.dat": 10,
    "pymarc/bad_records.mrc": 0,
    "pymarc/bad_marc8_escape.dat": 0,
    "pymarc/utf8_invalid.mrc": 0,
    "marc4j/brkrtest.mrc": 3,
    "marc4j/brkrtest_UTF8.mrc": 3,
    "file_marc/wronglen.mrc": 0,
}
_XML_SEEDS = (
    "marc4j/sample1a.xml",
    "marc4j/chabon-missing-subfield-code.xml",
    "pymarc/bad_tag.xml",
    "file_marc/bad_leader.xml",
)


def _first_records(raw: bytes, n: int) -> bytes:
    """The first n records (up to their terminators) of an ISO 2709 file; all of it when n == 0."""
    if n <= 0:
        return raw
    end = 0
    for _ in range(n):
        found = raw.find(b"\x1d", end)
        if found < 0:
            return raw
        end = found + 1
    return raw[:end]


@cache
def seeds() -> dict[str, bytes]:
    """Return the seed inputs by name: real ISO 2709 and MARCXML files, and MARC-in-JSON made from them."""
    from catalog import marc

    out: dict[str, bytes] = {}
    for name, n in _ISO_SEEDS.items():
        out[name] = _first_records((DATA / name).read_bytes(), n)
    for name in _XML_SEEDS:
        out[name] = (DATA / name).read_bytes()
    for source in ("loc/loc_vietnamese_part1.mrc", "pymarc/test.dat"):
        records = [p.record for p in marc.read_records(out[source]) if p.record is not None][:5]
        dicts = [marc.record_to_dict(r) for r in records]
        out[f"{source}.json"] = json.dumps(dicts, ensure_ascii=False).encode("utf-8")
        out[f"{source}.jsonl"] = b"\n".join(json.dumps(d).encode() for d in dicts)
    return out


def kind_of(data: bytes) -> str:
    """Guess the format of (possibly damaged) bytes: "xml", "json" or "iso"."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "xml" if head == b"<" else "json" if head in (b"{", b"[") else "iso"


# --- blind byte damage ---------------------------------------------------------------------------


def truncate(data: bytes, rng: random.Random) -> bytes:
    """Cut the file at a random offset."""
    return data[: rng.randrange(len(data) + 1)] if data else data


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    """Flip one to eight random bits or bytes."""
    if not data:
        return data
    buf = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(buf))
        buf[i] = rng.randrange(256) if rng.random() < 0.5 else buf[i] ^ (1 << rng.randrange(8))
    return bytes(buf)


def delete_span(data: bytes, rng: random.Random) -> bytes:
    """Remove a random span of up to 64 bytes."""
    if not data:
        return data
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.randint(1, 64) :]


def duplicate_span(data: bytes, rng: random.Random) -> bytes:
    """Copy a random span of the file to another random place."""
    if not data:
        return data
    i = rng.randrange(len(data))
    span = data[i : i + rng.randint(1, 400)]
    j = rng.randrange(len(data) + 1)
    return data[:j] + span + data[j:]


_NASTY = (
    b"\x00",
    b"\xff\xfe",
    b"\xc3",  # a lone UTF-8 lead byte
    b"\xc0\xaf",  # overlong
    b"\xed\xa0\x80",  # a UTF-16 surrogate in UTF-8
    b"\xf4\x90\x80\x80",  # beyond U+10FFFF
    b"\x1b",  # a bare MARC-8 escape
    b"\x1b(B",
    b"\x1b$1",  # CJK set
    b"\x1b(3",  # Arabic basic
    b"\x1bb",  # subscript
    b"\x1b)Q",
    b"\x1b$",
    b"\xe2\x80\x8f",  # RTL mark
    b"\xe2\x80\xae",  # RTL override
    b"Vie\xcc\x82\xcc\x81t",  # decomposed Vietnamese
    b"\x1d",
    b"\x1e",
    b"\x1f",
    b"\r\n",
    b"\xef\xbb\xbf",
)


def insert_nasty(data: bytes, rng: random.Random) -> bytes:
    """Insert invalid UTF-8, MARC-8 escapes, terminators or control characters at random places."""
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(data) + 1)
        data = data[:i] + rng.choice(_NASTY) + data[i:]
    return data


def splice(data: bytes, rng: random.Random) -> bytes:
    """Put a piece of another seed (maybe of another format) in the middle."""
    other = rng.choice(list(seeds().values()))
    i = rng.randrange(len(data) + 1)
    j = rng.randrange(len(other) + 1)
    return data[:i] + other[j : j + rng.randint(1, 2000)] + data[i:]


# --- ISO 2709 structure -------------------------------------------------------------------------


def _record_starts(data: bytes) -> list[int]:
    starts = [0]
    pos = data.find(b"\x1d")
    while pos >= 0 and pos + 1 < len(data):
        starts.append(pos + 1)
        pos = data.find(b"\x1d", pos + 1)
    return starts


def _digits(rng: random.Random, width: int) -> bytes:
    choice = rng.random()
    if choice < 0.4:
        return str(rng.randrange(10**width)).zfill(width).encode()
    if choice < 0.6:
        return rng.choice([b"0" * width, b"9" * width, b"1" * width])
    if choice < 0.8:
        return bytes(rng.choice(b" -x\x00\xff0") for _ in range(width))
    return str(rng.randrange(10**width)).encode()[:width].ljust(width, b" ")


def _overwrite(data: bytes, at: int, value: bytes) -> bytes:
    if at >= len(data):
        return data
    return data[:at] + value + data[at + len(value) :]


def leader_length(data: bytes, rng: random.Random) -> bytes:
    """Corrupt the record length (leader/00-04) of a random record."""
    return _overwrite(data, rng.choice(_record_starts(data)), _digits(rng, 5))


def leader_base(data: bytes, rng: random.Random) -> bytes:
    """Corrupt the base address of data (leader/12-16) of a random record."""
    return _overwrite(data, rng.choice(_record_starts(data)) + 12, _digits(rng, 5))


def leader_other(data: bytes, rng: random.Random) -> bytes:
    """Corrupt other leader positions: type (06), coding scheme (09), counts (10-11), entry map (20-23)."""
    start = rng.choice(_record_starts(data))
    pos = rng.choice([5, 6, 7, 9, 9, 10, 11, 17, 18, 20, 21, 22, 23])
    return _overwrite(data, start + pos, bytes([rng.choice(b" a0z9xuq#\x00\xff")]))


def directory_entry(data: bytes, rng: random.Random) -> bytes:
    """Corrupt one directory entry (tag, field length or start) of a random record."""
    start = rng.choice(_record_starts(data))
    end = data.find(b"\x1e", start + 24)
    if end < 0:
        end = min(len(data), start + 24 + 12 * 10)
    entries = max(1, (end - start - 24) // 12)
    entry = start + 24 + 12 * rng.randrange(entries)
    part = rng.randrange(3)
    if part == 0:
        value = rng.choice([b"245", b"001", b"000", b"952", b"ab1", b"\x00\x00\x00", b"24", b"9999"])[:3]
        return _overwrite(data, entry, value.ljust(3, b"_"))
    if part == 1:
        return _overwrite(data, entry + 3, _digits(rng, 4))
    return _overwrite(data, entry + 7, _digits(rng, 5))


def directory_shift(data: bytes, rng: random.Random) -> bytes:
    """Insert or delete one byte inside a directory, shifting every entry after it."""
    start = rng.choice(_record_starts(data))
    at = start + 24 + rng.randrange(60)
    if at >= len(data):
        return data
    return data[:at] + data[at + 1 :] if rng.random() < 0.5 else data[:at] + b"0" + data[at:]


def terminators(data: bytes, rng: random.Random) -> bytes:
    """Swap, remove or double field/subfield/record terminators."""
    positions = [m.start() for m in re.finditer(rb"[\x1d\x1e\x1f]", data)]
    if not positions:
        return insert_nasty(data, rng)
    buf = bytearray(data)
    for pos in rng.sample(positions, min(len(positions), rng.randint(1, 5))):
        buf[pos] = rng.choice(b"\x1d\x1e\x1f\x00 |\n")
    return bytes(buf)


# --- MARCXML ------------------------------------------------------------------------------------


def xml_unclose(data: bytes, rng: random.Random) -> bytes:
    """Remove a closing tag, or an opening one."""
    tags = [m.span() for m in re.finditer(rb"</?[A-Za-z:]+[^>]*>", data)]
    if not tags:
        return truncate(data, rng)
    a, b = rng.choice(tags)
    return data[:a] + data[b:]


_ENTITIES = (
    b"&bogus;",
    b"&#0;",
    b"&#xD800;",
    b"&#x110000;",
    b"&#x1F;",
    b"&amp",
    b"&",
    b"<",
    b"]]>",
    b"<![CDATA[x",
    b"&#99999999999;",
    b"&lt;script&gt;alert(1)&lt;/script&gt;",
)


def xml_entity(data: bytes, rng: random.Random) -> bytes:
    """Put a bad or unknown entity, a stray '<' or '&', or an unfinished CDATA into some text."""
    texts = [m.end() for m in re.finditer(rb">[^<]", data)] or [len(data)]
    i = rng.choice(texts)
    return data[:i] + rng.choice(_ENTITIES) + data[i:]


def xml_namespace(data: bytes, rng: random.Random) -> bytes:
    """Change or remove the MARCXML namespace, or add a prefix that is never declared."""
    choice = rng.randrange(4)
    if choice == 0:
        return data.replace(b"http://www.loc.gov/MARC21/slim", b"http://example.org/not-marc", 1)
    if choice == 1:
        return re.sub(rb'\sxmlns(:\w+)?="[^"]*"', b"", data, count=1)
    if choice == 2:
        return re.sub(rb"<(/?)(record|datafield|subfield)\b", rb"<\1zz:\2", data, count=rng.randint(1, 6))
    return re.sub(rb"<(/?)(?:marc:)?(collection|record)\b", rb"<\1other", data, count=2)


def xml_attribute(data: bytes, rng: random.Random) -> bytes:
    """Give a tag, code or indicator attribute a wrong, empty, huge or duplicated value."""
    attrs = [m.span(1) for m in re.finditer(rb'(?:tag|code|ind1|ind2)="([^"]*)"', data)]
    if not attrs:
        return flip_bytes(data, rng)
    a, b = rng.choice(attrs)
    value = rng.choice(
        [b"", b"ab", b"1234", b"\xc3", b"&#0;", b"x" * rng.randint(1, 1 << 20), b'" tag="245', b"<"]
    )
    return data[:a] + value + data[b:]


def xml_structure(data: bytes, rng: random.Random) -> bytes:
    """Insert stray elements, a DOCTYPE with entities, a processing instruction or deep nesting."""
    inserts = [
        b"<leader>short</leader>",
        b"<controlfield>no tag</controlfield>",
        b'<datafield tag="245" ind1="1"><subfield code="a">x</subfield>',
        b"<record>",
        b"</record>",
        b"<!-- a comment -->",
        b"<?pi x?>",
        b"<x>" * 2000 + b"</x>" * 2000,
        b'<subfield code="a">' + "Tiếng Việt".encode() * 5000 + b"</subfield>",
    ]
    if rng.random() < 0.2:
        doctype = b'<!DOCTYPE c [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        end = data.find(b"?>") + 2 if data.startswith(b"<?xml") else 0
        return data[:end] + doctype + data[end:].replace(b">", b">&b;", 1)
    positions = [m.start() for m in re.finditer(rb"<", data)] or [0]
    i = rng.choice(positions)
    return data[:i] + rng.choice(inserts) + data[i:]


# --- MARC-in-JSON -------------------------------------------------------------------------------


_JSON_VALUES = (
    None,
    True,
    0,
    -1,
    10**40,
    1.5e308,
    "",
    "x" * 70_000,
    "\x00\u202e\ud800",
    [],
    {},
    [[[]]],
    {"a": None},
    [{"245": 5}],
    {"ind1": "xx", "ind2": None, "subfields": "a"},
    {"subfields": [{"a": ["list"]}, {"": "x"}, {"ab": "y"}]},
    "01234nam a2200000 a 4500",
)


def _json_walk(node: object, rng: random.Random, depth: int = 0) -> object:
    if depth > 40:
        return node
    if isinstance(node, dict) and node:
        key = rng.choice(list(node))
        action = rng.random()
        if action < 0.15:
            del node[key]
        elif action < 0.3:
            node[key] = copy.deepcopy(rng.choice(_JSON_VALUES))
        elif action < 0.4:
            node[rng.choice(["leader", "fields", "245", "1", "", "subfields"])] = node.pop(key)
        else:
            node[key] = _json_walk(node[key], rng, depth + 1)
    elif isinstance(node, list) and node:
        i = rng.randrange(len(node))
        action = rng.random()
        if action < 0.15:
            del node[i]
        elif action < 0.3:
            node[i] = copy.deepcopy(rng.choice(_JSON_VALUES))
        elif action < 0.4:
            node.insert(i, copy.deepcopy(node[i]))
        else:
            node[i] = _json_walk(node[i], rng, depth + 1)
    elif isinstance(node, str) and rng.random() < 0.5:
        i = rng.randrange(len(node) + 1)
        return node[:i] + rng.choice(["\x00", "\u200f", "\x1f", "\x1e", "e\u0302\u0301", "\ud800"]) + node[i:]
    return node


def json_types(data: bytes, rng: random.Random) -> bytes:
    """Parse the JSON (or each JSON line) and break its structure: wrong types, missing keys, odd text."""
    lines = data.split(b"\n") if kind_of(data) == "json" and not data.lstrip().startswith(b"[") else [data]
    out = []
    for line in lines:
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError):
            out.append(line)
            continue
        for _ in range(rng.randint(1, 4)):
            doc = _json_walk(doc, rng)
        out.append(json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass"))
    return b"\n".join(out)


def json_syntax(data: bytes, rng: random.Random) -> bytes:
    """Break the JSON text: drop a bracket or quote, add a comma, NaN, deep nesting, a second document."""
    marks = [m.start() for m in re.finditer(rb'[\[\]{}",:]', data)] or [0]
    i = rng.choice(marks)
    choice = rng.randrange(6)
    if choice == 0:
        return data[:i] + data[i + 1 :]
    if choice == 1:
        return data[:i] + b"," + data[i:]
    if choice == 2:
        return data[:i] + rng.choice([b"NaN", b"Infinity", b"-0", b"1e999", b"tru"]) + data[i:]
    if choice == 3:
        depth = rng.choice([50, 1000, 100_000])
        return data[:i] + b"[" * depth + b"]" * depth + data[i:]
    if choice == 4:
        return data + rng.choice([b"{}", b"[", b"\n{", b"garbage", b"\n\n[]"])
    return data[:i] + b'"\\ud800\\x"' + data[i:]


# --- choosing -----------------------------------------------------------------------------------

GENERIC: dict[str, Mutator] = {
    "truncate": truncate,
    "flip_bytes": flip_bytes,
    "delete_span": delete_span,
    "duplicate_span": duplicate_span,
    "insert_nasty": insert_nasty,
    "splice": splice,
}
BY_KIND: dict[str, dict[str, Mutator]] = {
    "iso": {
        "leader_length": leader_length,
        "leader_base": leader_base,
        "leader_other": leader_other,
        "directory_entry": directory_entry,
        "directory_shift": directory_shift,
        "terminators": terminators,
    },
    "xml": {
        "xml_unclose": xml_unclose,
        "xml_entity": xml_entity,
        "xml_namespace": xml_namespace,
        "xml_attribute": xml_attribute,
        "xml_structure": xml_structure,
    },
    "json": {"json_types": json_types, "json_syntax": json_syntax},
}
ALL: dict[str, Mutator] = {**GENERIC, **{k: v for ops in BY_KIND.values() for k, v in ops.items()}}


def mutate(data: bytes, ops: list[tuple[str, int]]) -> bytes:
    """Apply the named operators in turn, each with its own seeded random generator."""
    for name, seed in ops:
        data = ALL[name](data, random.Random(seed))
    return data


def random_ops(rng: random.Random, data: bytes, count: int) -> list[tuple[str, int]]:
    """Pick `count` operators, favouring those that know the seed's format (for the bench)."""
    kind_ops = list(BY_KIND[kind_of(data)])
    return [
        (rng.choice(kind_ops) if rng.random() < 0.6 else rng.choice(list(GENERIC)), rng.randrange(2**32))
        for _ in range(count)
    ]
