"""MARC21 records without the database: read, check, extract, write and build them."""

from __future__ import annotations

import codecs
import datetime as dt
import io
import json
import os
import re
import xml.etree.ElementTree as ET  # noqa: S405 - expat >= 2.4 limits entity expansion
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import IO, Any, NamedTuple

from pymarc import Field, Indicators, Leader, Record, Subfield
from pymarc.marc8 import MARC8ToUnicode

from app.errors import N_
from app.text import fold, nfc
from catalog.encodings import detect_legacy, tcvn3_to_unicode, vni_to_unicode

__all__ = [
    "FORMATS",
    "ENCODINGS",
    "ISO2709_LIMIT",
    "MarcError",
    "MarcFileError",
    "MarcRecordError",
    "MarcWriteError",
    "MatchKey",
    "ParsedRecord",
    "Problem",
    "ReasonPart",
    "RecordFields",
    "build_record",
    "extract",
    "isbn10_to_isbn13",
    "isbn_is_valid",
    "iter_iso2709",
    "iter_marcjson",
    "iter_marcxml",
    "iso2709_from_dict",
    "iso2709_from_json",
    "marcxml_from_dict",
    "marcxml_from_json",
    "match_keys",
    "normalize_isbn",
    "normalize_text",
    "read_records",
    "record_from_dict",
    "record_kind",
    "record_to_dict",
    "record_to_iso2709",
    "record_to_marcxml",
    "records_equal",
    "render_reason",
    "sniff_format",
    "validate",
    "write_iso2709",
    "write_marcjson",
    "write_marcxml",
]

FORMATS = ("auto", "iso2709", "marcxml", "marcjson")
ENCODINGS = ("auto", "utf-8", "marc-8", "tcvn3", "vni")
ISO2709_LIMIT = 99_999
MARCXML_NS = "http://www.loc.gov/MARC21/slim"

_FT = "\x1e"  # field terminator
_RT = "\x1d"  # record terminator
_SD = "\x1f"  # subfield delimiter
_READ_SIZE = 1 << 20
_MAX_RECORD_SCAN = 16 << 20  # give up looking for a record terminator after this many bytes
_SNIFF_SIZE = 4096
_FILLER = frozenset(b"\r\n\x00\x1a")  # bytes some systems put between ISO 2709 records


# --- errors -----------------------------------------------------------------------------------


class MarcError(Exception):
    """Base class of every error raised by the MARC layer."""


class MarcFileError(MarcError):
    """The file as a whole cannot be read (empty, compressed, not MARC, malformed XML or JSON)."""


class MarcRecordError(MarcError):
    """One record cannot be turned into a MARC record; the message is the reason in plain words.

    `parts` keeps the reason translatable: a list of [tag or "", English msgid, params].
    """

    def __init__(self, msgid: str = "", /, *, parts: list[ReasonPart] | None = None, **params: Any) -> None:
        self.parts: list[ReasonPart] = parts if parts is not None else [["", msgid, params]]
        super().__init__(render_reason(self.parts))


ReasonPart = list  # [tag or "", English msgid with %(name)s placeholders, {name: value}]


def render_reason(parts: Iterable[ReasonPart], translate: Callable[..., str] | None = None) -> str:
    """Return a reason as text: each part "tag: message", joined with "; ".

    Messages are English unless `translate` is given (gettext: `translate(msgid, **params)`).
    """
    out = []
    for tag, msgid, params in parts:
        if translate is not None:
            text = translate(msgid, **params)
        else:
            text = msgid % params if params else msgid
        out.append(f"{tag}: {text}" if tag else text)
    return "; ".join(out)


class MarcWriteError(MarcError):
    """A record cannot be written in the requested format (too long, invalid tag, …)."""


# --- results ----------------------------------------------------------------------------------


@dataclass(slots=True)
class ParsedRecord:
    """One record read from a file: a pymarc Record, or the reason it was rejected."""

    index: int
    offset: int | None
    record: Record | None = None
    reason: str | None = None  # in English; `reason_parts` keeps it translatable
    kind: str = "unknown"
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)
    length: int | None = None
    # The record's bytes as read, when they are exactly what record_to_iso2709 writes for it (UTF-8
    # ISO 2709 read without any repair or warning): a cache of its ISO 2709 form.
    raw: bytes | None = None
    reason_parts: list[ReasonPart] | None = None

    def reject(self, msgid: str, /, **params: Any) -> None:
        """Set the reason the record is rejected: an English msgid (N_) and its params."""
        self.set_reason([["", msgid, params]])

    def set_reason(self, parts: list[ReasonPart]) -> None:
        """Set the reason the record is rejected from its parts (see `render_reason`)."""
        self.reason_parts = parts
        self.reason = render_reason(parts)

    @property
    def ok(self) -> bool:
        """True when the record was read (it may still fail validation)."""
        return self.record is not None


_KINDS = {
    **dict.fromkeys("acdefgijkmoprt", "bibliographic"),
    **dict.fromkeys("uvxy", "holdings"),
    "z": "authority",
    "w": "classification",
    "q": "community",
}


def record_kind(leader: str | Leader) -> str:
    """Return "bibliographic", "holdings", "authority", "classification", "community" or "unknown"."""
    text = str(leader)
    return _KINDS.get(text[6:7], "unknown")


# --- reading: common ----------------------------------------------------------------------------


class _Source:
    """A binary stream with the bytes already read for sniffing put back in front."""

    def __init__(self, stream: IO[bytes], head: bytes) -> None:
        self._stream = stream
        self._head = head

    def read(self, size: int = -1) -> bytes:
        """Read up to `size` bytes (all when negative)."""
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._stream.read(size - len(data))
            return data
        return self._stream.read(size)


_MAGIC = (
    (b"\x1f\x8b", "the file is gzip-compressed; decompress it and import the file inside"),
    (b"PK\x03\x04", "the file is a ZIP archive; extract it and import the MARC file inside"),
    (b"PK\x05\x06", "the file is an empty ZIP archive"),
    (b"BZh", "the file is bzip2-compressed; decompress it and import the file inside"),
    (b"\xfd7zXZ\x00", "the file is xz-compressed; decompress it and import the file inside"),
    (b"7z\xbc\xaf\x27\x1c", "the file is a 7-Zip archive; extract it and import the file inside"),
    (b"Rar!", "the file is a RAR archive; extract it and import the file inside"),
    (b"%PDF", "the file is a PDF document, not MARC records"),
    (b"\xff\xfe", "the file is UTF-16 text; save it as UTF-8 and import it again"),
    (b"\xfe\xff", "the file is UTF-16 text; save it as UTF-8 and import it again"),
)


def sniff_format(head: bytes) -> str:
    """Return "iso2709", "marcxml" or "marcjson" for the first bytes of a file, or raise MarcFileError."""
    if not head:
        raise MarcFileError("the file is empty")
    for magic, message in _MAGIC:
        if head.startswith(magic):
            raise MarcFileError(message)
    text = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    text = text.lstrip(b" \t\r\n\x00")
    if not text:
        raise MarcFileError("the file is empty (it holds only blank space)")
    first = text[:1]
    if first == b"<":
        return "marcxml"
    if first in (b"{", b"["):
        return "marcjson"
    if text[:5].isdigit():
        return "iso2709"
    printable = sum(1 for b in head[:512] if 32 <= b < 127 or b in (9, 10, 13))
    if printable < 0.9 * min(len(head), 512):
        raise MarcFileError(
            "the file is not MARC (ISO 2709, MARCXML or MARC-in-JSON): it holds binary data "
            f"(it starts with bytes {head[:8].hex(' ')})"
        )
    sample = text[:30].decode("ascii", "replace").splitlines()[0]
    raise MarcFileError(
        f"the file is not MARC (ISO 2709, MARCXML or MARC-in-JSON): it starts with {sample!r}"
    )


def read_records(
    source: str | os.PathLike[str] | bytes | IO[bytes],
    format: str = "auto",  # noqa: A002 - the name the CLI and the issue use
    encoding: str = "auto",
    wanted: Callable[[int], bool] | None = None,
) -> Iterator[ParsedRecord]:
    """Yield one ParsedRecord per record in file order; raise MarcFileError if the file is unreadable.

    `source` is a path, the raw bytes, or a binary stream. The file is read lazily, record by
    record: a broken record is reported (ParsedRecord.reason) and reading goes on with the next.
    With `wanted`, an ISO 2709 record whose number (1, 2, …) it refuses is counted but neither
    parsed nor yielded (the other formats yield every record: the caller filters them itself).
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; expected one of {', '.join(ENCODINGS)}")
    if isinstance(source, bytes | bytearray):
        stream: IO[bytes] = io.BytesIO(bytes(source))
        owned = True
    elif isinstance(source, str | os.PathLike):
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed in the finally below
        except OSError as exc:
            raise MarcFileError(f"the file cannot be opened: {exc.strerror or exc}") from None
        owned = True
    else:
        stream = source
        owned = False
    try:
        head = stream.read(_SNIFF_SIZE)
        if not isinstance(head, bytes):
            raise MarcFileError("the file must be opened in binary mode")
        detected = sniff_format(head)
        if format == "auto":
            format = detected  # noqa: A001
        elif format != detected:
            names = {"iso2709": "ISO 2709", "marcxml": "MARCXML", "marcjson": "MARC-in-JSON"}
            raise MarcFileError(f"the file was given as {names[format]} but its content is {names[detected]}")
        src = _Source(stream, head)
        if format == "iso2709":
            yield from _iter_iso2709(src, encoding, wanted)
        elif format == "marcxml":
            yield from _iter_marcxml(src, encoding)
        else:
            yield from _iter_marcjson(src, encoding)
    finally:
        if owned:
            stream.close()


# --- reading: ISO 2709 --------------------------------------------------------------------------


def _iter_iso2709(
    src: _Source, encoding: str, wanted: Callable[[int], bool] | None = None
) -> Iterator[ParsedRecord]:
    """Split the stream on record terminators and parse each record (each one `wanted` accepts)."""
    buf = b""
    buf_offset = 0  # file offset of buf[0]
    start = 0
    eof = False
    index = 0
    while True:
        if start < len(buf) and buf[start] in _FILLER:
            while start < len(buf) and buf[start] in _FILLER:
                start += 1
            continue
        end = buf.find(b"\x1d", start)
        if end < 0:
            if not eof and len(buf) - start <= _MAX_RECORD_SCAN:
                chunk = src.read(_READ_SIZE)
                buf_offset += start
                buf = buf[start:] + chunk
                start = 0
                eof = not chunk
                continue
            if start >= len(buf):
                return
            index += 1
            offset = buf_offset + start
            if eof:
                if wanted is None or wanted(index):
                    yield _truncated(buf[start:], index, offset)
                return
            # No terminator in the next 16 MiB: skip to the next one without keeping the data.
            skipped = len(buf) - start
            buf, start = b"", 0
            while True:
                chunk = src.read(_READ_SIZE)
                if not chunk:
                    eof = True
                    break
                pos = chunk.find(b"\x1d")
                if pos >= 0:
                    skipped += pos + 1
                    buf, start = chunk, pos + 1
                    break
                skipped += len(chunk)
            skipped_record = ParsedRecord(index, offset, length=skipped)
            skipped_record.reject(
                N_(
                    "no record terminator in %(count)s bytes; the data was skipped up to "
                    "the next record terminator"
                ),
                count=f"{skipped:,}",
            )
            if wanted is None or wanted(index):
                yield skipped_record
            buf_offset = offset + skipped - start
            continue
        index += 1
        if wanted is None or wanted(index):
            yield _parse_iso_record(buf[start : end + 1], index, buf_offset + start, encoding)
        start = end + 1


def _truncated(raw: bytes, index: int, offset: int) -> ParsedRecord:
    """Report the bytes left at the end of the file after the last record terminator."""
    declared = raw[:5]
    result = ParsedRecord(index, offset, length=len(raw))
    if declared.isdigit():
        result.reject(
            N_(
                "the file ends in the middle of a record: the leader says %(declared)d bytes "
                "but only %(size)d remain, without a record terminator"
            ),
            declared=int(declared),
            size=len(raw),
        )
    else:
        result.reject(
            N_("the file ends with %(size)d bytes that are not a complete record (no record terminator)"),
            size=len(raw),
        )
    return result


def _parse_iso_record(raw: bytes, index: int, offset: int, encoding: str) -> ParsedRecord:
    """Parse one ISO 2709 record (ending with its terminator) into a ParsedRecord."""
    size = len(raw)
    result = ParsedRecord(index, offset, length=size)
    if size < 25:
        result.reject(
            N_("the record is only %(size)d bytes long, shorter than its 24-byte leader"), size=size
        )
        return result
    lead = raw[:24]
    if not lead.isascii():
        result.reject(N_("the leader contains bytes that are not ASCII"))
        return result
    leader = lead.decode("ascii")
    result.kind = _KINDS.get(leader[6], "unknown")
    length_text = leader[:5]
    declared = int(length_text) if length_text.isdigit() else None
    if size > ISO2709_LIMIT:
        if declared is not None and declared != size:
            result.reject(
                N_(
                    "record length in the leader (%(declared)d) does not match the data "
                    "(%(size)d bytes); over the ISO 2709 limit of 99,999 bytes"
                ),
                declared=declared,
                size=size,
            )
        else:
            result.reject(
                N_("the record is %(size)s bytes long, over the ISO 2709 limit of 99,999"), size=f"{size:,}"
            )
        return result
    if declared is None:
        result.reject(
            N_("the record length in the leader (%(value)s) is not a number"), value=repr(length_text)
        )
        return result
    base_text = leader[12:17]
    if not base_text.isdigit():
        result.reject(
            N_("the base address of data in the leader (%(value)s) is not a number"), value=repr(base_text)
        )
        return result
    base = int(base_text)
    if base < 25:
        result.reject(N_("the base address of data (%(base)d) points inside the leader"), base=base)
        return result
    if base >= size:
        result.reject(
            N_("the base address of data (%(base)d) is beyond the end of the record (%(size)d bytes)"),
            base=base,
            size=size,
        )
        return result
    directory = raw[24 : base - 1]
    if not directory.isascii():
        result.reject(N_("the directory contains bytes that are not ASCII"))
        return result
    if len(directory) % 12:
        result.reject(
            N_("the directory length (%(size)d bytes) is not a multiple of 12"), size=len(directory)
        )
        return result
    if raw[base - 1] != 0x1E:
        result.reject(
            N_(
                "the directory does not end with a field terminator where the base address "
                "says (byte %(byte)d)"
            ),
            byte=base - 1,
        )
        return result
    if not directory:
        result.reject(N_("the record has no fields"))
        return result
    warnings = result.warnings
    if declared != size:
        warnings.append(f"record length in the leader ({declared}) does not match the data ({size} bytes)")

    # Cut the fields out of the data area using the directory.
    dir_text = directory.decode("ascii")
    area = raw[base : size - 1]
    area_len = len(area)
    tags: list[str] = []
    chunks: list[bytes] = []
    consistent = True
    contiguous = True  # each field starts where the one before it ends
    next_start = 0
    for pos in range(0, len(dir_text), 12):
        tag = dir_text[pos : pos + 3]
        len_text = dir_text[pos + 3 : pos + 7]
        off_text = dir_text[pos + 7 : pos + 12]
        if not (len_text.isdigit() and off_text.isdigit()):
            result.reject(
                N_("directory entry %(entry)d (tag %(tag)s) has a length or position that is not a number"),
                entry=pos // 12 + 1,
                tag=tag,
            )
            return result
        start = int(off_text)
        end = start + int(len_text)
        tags.append(tag)
        if start != next_start:
            contiguous = False
        next_start = end
        if consistent and 0 < end <= area_len and area[end - 1] == 0x1E:
            chunks.append(area[start : end - 1])
        else:
            consistent = False
    if not consistent:
        pieces = area.split(b"\x1e")
        if pieces and pieces[-1] == b"":
            pieces.pop()
        if len(pieces) != len(tags):
            first_bad = len(chunks)
            result.reject(
                N_(
                    "field %(tag)s (directory entry %(entry)d) does not end where the directory says, "
                    "and the fields cannot be recovered from their terminators"
                ),
                tag=tags[first_bad],
                entry=first_bad + 1,
            )
            return result
        chunks = pieces
        warnings.append(
            "the directory's field lengths do not match the field terminators; "
            "the fields were read by their terminators"
        )

    texts = _decode_fields(leader, tags, chunks, encoding, result)
    if texts is None:
        return result
    if result.encoding != "utf-8":
        leader = leader[:9] + "a" + leader[10:]
    record = Record()
    record.leader = Leader(leader)
    record.fields = _make_fields(tags, texts, warnings)
    result.record = record
    if (
        contiguous
        and consistent
        and not warnings
        and result.encoding == "utf-8"
        and next_start == area_len
        and leader[9:12] == "a22"
        and leader[20:] == "4500"
        and area.count(b"\x1e") == len(tags)
    ):
        result.raw = raw
    return result


_MARC8_VALID_ESCAPE = re.compile(rb"\x1b(?:[gbps]|\$?[(,)\-][1234BENQSbgp]|\$1)")


def _marc8_field(converter: MARC8ToUnicode, tag: str, raw: bytes, warnings: list[str]) -> str:
    """Convert one MARC-8 field (subfield by subfield) to Unicode."""
    if b"\x1b" in raw and raw.count(b"\x1b") != len(_MARC8_VALID_ESCAPE.findall(raw)):
        warnings.append(
            f"field {tag} contains an invalid MARC-8 escape sequence; the escape was dropped "
            "and the text around it may be wrong"
        )
    parts = raw.split(b"\x1f")
    out = []
    for part in parts:
        if part.isascii() and b"\x1b" not in part:
            out.append(part.decode("ascii"))
            continue
        converter.g0 = MARC8ToUnicode.basic_latin
        converter.g1 = MARC8ToUnicode.ansel
        try:
            text = converter.translate(part)
        except (IndexError, KeyError, TypeError, ValueError):
            text = part.decode("latin-1")
            warnings.append(f"field {tag} is not valid MARC-8; it was read as Latin-1")
        if "\x1b" in text:
            text = text.replace("\x1b", "")  # an escape the converter could not use
        if "\ufe20" in text or "\ufe22" in text:
            # MARC-8 spells double diacritics as two halves; Unicode puts one mark after the first
            # letter (U+0361, U+0360), as the UTF-8 records of the same catalogues do.
            text = text.replace("\ufe20", "\u0361").replace("\ufe22", "\u0360")
            text = text.replace("\ufe21", "").replace("\ufe23", "")
        out.append(text)
    return _SD.join(out)


def _decode_fields(
    leader: str, tags: list[str], chunks: list[bytes], encoding: str, result: ParsedRecord
) -> list[str] | None:
    """Decode the field bytes to text; set result.encoding, or result.reason and return None."""
    warnings = result.warnings
    scheme = leader[9]
    if encoding == "auto":
        if scheme == "a":
            chosen = "utf-8"
        elif scheme == " ":
            chosen = "marc-8"
        else:
            chosen = "utf-8"
            warnings.append(f"leader/09 is {scheme!r}, not a known character coding; read as UTF-8")
    else:
        chosen = encoding
    if chosen == "marc-8":
        joined = b"\x1e".join(chunks)
        if joined.isascii():
            result.encoding = "marc-8"
            return [c.decode("ascii") for c in chunks]
        if encoding == "auto" and b"\x1b" not in joined:
            try:
                text = joined.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                warnings.append("leader/09 says MARC-8 but the data is UTF-8; read as UTF-8")
                result.encoding = "utf-8-unflagged"
                return text.split(_FT)
        result.encoding = "marc-8"
        converter = MARC8ToUnicode(quiet=True)
        return [_marc8_field(converter, t, c, warnings) for t, c in zip(tags, chunks, strict=True)]
    if chosen == "tcvn3":
        result.encoding = "tcvn3"
        return [tcvn3_to_unicode(c) for c in chunks]
    if chosen == "vni":
        result.encoding = "vni"
        return [vni_to_unicode(c) for c in chunks]
    # UTF-8, declared or forced.
    joined = b"\x1e".join(chunks)
    try:
        texts = joined.decode("utf-8").split(_FT)
    except UnicodeDecodeError as exc:
        if encoding == "auto":
            legacy = detect_legacy(joined)
            if legacy is not None:
                name = {"tcvn3": "TCVN3 (ABC)", "vni": "VNI-Windows"}[legacy]
                warnings.append(f"the record says it is UTF-8 but its text is {name}; converted")
                result.encoding = legacy
                convert = tcvn3_to_unicode if legacy == "tcvn3" else vni_to_unicode
                return [convert(c) for c in chunks]
        # Name the field that holds the bad byte.
        before = joined[: exc.start].count(b"\x1e")
        field_start = joined.rfind(b"\x1e", 0, exc.start) + 1
        bad = joined[exc.start : exc.start + 2].hex(" ").upper()
        if scheme == "a":
            msgid = N_(
                "the record says it is UTF-8 (leader/09 = 'a') but field %(tag)s is not valid UTF-8 "
                "(bytes %(bytes)s at position %(position)d of the field), and it does not look like "
                "TCVN3 or VNI either"
            )
        else:
            msgid = N_(
                "the record was read as UTF-8 but field %(tag)s is not valid UTF-8 (bytes %(bytes)s at "
                "position %(position)d of the field), and it does not look like TCVN3 or VNI either"
            )
        result.reject(msgid, tag=tags[before], bytes=bad, position=exc.start - field_start)
        return None
    if len(texts) != len(tags):
        # A field terminator inside a field (overlapping directory entries): decode one by one.
        texts = [c.decode("utf-8") for c in chunks]
    result.encoding = "utf-8"
    return texts


_new_field = Field.__new__
_tuple_new = tuple.__new__
_INDICATORS: dict[str, Indicators] = {}  # one (immutable) Indicators per pair of characters


def _make_fields(tags: list[str], texts: list[str], warnings: list[str]) -> list[Field]:
    """Build pymarc fields from tags and decoded field texts (without terminators)."""
    fields: list[Field] = []
    append = fields.append
    for tag, text in zip(tags, texts, strict=True):
        if tag < "010" and tag.isdigit():
            f = _new_field(Field)
            f.tag = tag
            f.data = text
            f._indicators = None
            f.subfields = []
            f.control_field = True
            append(f)
            continue
        parts = text.split(_SD)
        ind = parts[0]
        if len(ind) != 2:
            if len(ind) < 2:
                warnings.append(
                    f"field {tag} has {len(ind)} indicator characters instead of 2; "
                    "the missing ones were set to blank"
                )
                ind = (ind + "  ")[:2]
            else:
                warnings.append(
                    f"field {tag} has text before its first subfield ({ind[2:]!r}); it was "
                    "kept as subfield $a"
                    if len(parts) == 1
                    else f"field {tag} has {len(ind)} indicator characters instead of 2; "
                    "the extra ones were dropped"
                )
                if len(parts) == 1:
                    parts.append("a" + ind[2:])
                ind = ind[:2]
        subfields = []
        for part in parts[1:]:
            if part:
                subfields.append(_tuple_new(Subfield, (part[0], part[1:])))
            else:
                warnings.append(f"field {tag} has an empty subfield (no code); it was dropped")
        indicators = _INDICATORS.get(ind)
        if indicators is None:
            indicators = _tuple_new(Indicators, (ind[0], ind[1]))
            if len(_INDICATORS) < 10_000:
                _INDICATORS[ind] = indicators
        f = _new_field(Field)
        f.tag = tag
        f.data = None
        f._indicators = indicators
        f.subfields = subfields
        f.control_field = False
        append(f)
    return fields


# --- reading: MARCXML --------------------------------------------------------------------------


def _local(tag: str) -> str:
    """Return an XML element name without its namespace."""
    return tag.rpartition("}")[2]


def _iter_marcxml(src: _Source, encoding: str) -> Iterator[ParsedRecord]:
    """Parse MARCXML incrementally (a <collection> or a single <record>), clearing as it goes."""
    convert = _legacy_converter(encoding)
    events = ET.iterparse(src, events=("start", "end"))  # noqa: S314 - see the import note
    root = None
    index = 0
    depth = 0
    try:
        for event, elem in events:
            if event == "start":
                depth += 1
                if root is None:
                    root = elem
                    name = _local(elem.tag)
                    if name not in ("collection", "record"):
                        raise MarcFileError(
                            f"the XML is not MARCXML: its root element is <{name}>, "
                            "not <collection> or <record>"
                        )
                continue
            depth -= 1
            if _local(elem.tag) != "record" or depth > 1:
                continue
            index += 1
            result = ParsedRecord(index, None)
            try:
                record = _record_from_element(elem, result.warnings, convert)
            except MarcRecordError as exc:
                result.set_reason(exc.parts)
                leader_text = _xml_leader_text(elem)
                result.kind = _KINDS.get(leader_text[6:7], "unknown")
            else:
                result.record = record
                result.kind = _KINDS.get(str(record.leader)[6:7], "unknown")
                result.encoding = encoding if convert else "utf-8"
            elem.clear()
            if root is not None and root is not elem:
                root.clear()
            yield result
    except ET.ParseError as exc:
        raise MarcFileError(f"the XML is malformed: {exc}") from None
    if root is None:
        raise MarcFileError("the XML is malformed: no element found")


def _xml_leader_text(elem: ET.Element) -> str:
    """Return the text of a record element's <leader>, or an empty string."""
    for child in elem:
        if _local(child.tag) == "leader":
            return child.text or ""
    return ""


def _legacy_converter(encoding: str) -> Callable[[str], str] | None:
    """Return the function converting legacy-encoded text, for the XML and JSON readers."""
    if encoding == "tcvn3":
        return tcvn3_to_unicode
    if encoding == "vni":
        return vni_to_unicode
    return None


def _record_from_element(
    elem: ET.Element, warnings: list[str], convert: Callable[[str], str] | None
) -> Record:
    """Build a Record from a MARCXML <record> element or raise MarcRecordError."""
    problems: list[str] = []
    leader: str | None = None
    fields: list[Field] = []
    for child in elem:
        name = _local(child.tag)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            tag = child.get("tag")
            if tag is None:
                problems.append(["", N_("a <controlfield> has no tag"), {}])
                continue
            if len(tag) != 3:
                problems.append(
                    ["", N_("the field tag %(tag)s is not 3 characters long"), {"tag": repr(tag)}]
                )
                continue
            text = child.text or ""
            fields.append(_control_field(tag, convert(text) if convert else text))
        elif name == "datafield":
            tag = child.get("tag")
            if tag is None:
                problems.append(["", N_("a <datafield> has no tag"), {}])
                continue
            if len(tag) != 3:
                problems.append(
                    ["", N_("the field tag %(tag)s is not 3 characters long"), {"tag": repr(tag)}]
                )
                continue
            ind1 = child.get("ind1", " ")
            ind2 = child.get("ind2", " ")
            if len(ind1) != 1 or len(ind2) != 1:
                problems.append(
                    ["", N_("field %(tag)s has an indicator that is not one character"), {"tag": tag}]
                )
                continue
            subfields = []
            for sub in child:
                if _local(sub.tag) != "subfield":
                    continue
                code = sub.get("code")
                if not code:
                    problems.append(["", N_("field %(tag)s has a subfield without a code"), {"tag": tag}])
                    continue
                if len(code) != 1:
                    problems.append(
                        [
                            "",
                            N_("field %(tag)s has a subfield code %(code)s longer than 1"),
                            {"tag": tag, "code": repr(code)},
                        ]
                    )
                    continue
                text = sub.text or ""
                subfields.append(Subfield(code, convert(text) if convert else text))
            fields.append(_data_field(tag, ind1, ind2, subfields))
    if leader is None:
        problems.insert(0, ["", N_("the record has no leader"), {}])
    elif len(leader) != 24:
        problems.insert(
            0, ["", N_("the leader is %(length)d characters long; it must be 24"), {"length": len(leader)}]
        )
    if problems:
        raise MarcRecordError(parts=problems)
    record = Record()
    record.leader = Leader(leader)  # type: ignore[arg-type]
    record.fields = fields
    return record


def _control_field(tag: str, data: str) -> Field:
    """Return a control field (or, for a non-control tag, a data field holding nothing)."""
    f = _new_field(Field)
    f.tag = tag
    f.data = data
    f._indicators = None
    f.subfields = []
    f.control_field = True
    return f


def _data_field(tag: str, ind1: str, ind2: str, subfields: list[Subfield]) -> Field:
    """Return a data field; tags are kept exactly as received (even 00X with subfields)."""
    f = _new_field(Field)
    f.tag = tag
    f.data = None
    f._indicators = Indicators(ind1, ind2)
    f.subfields = subfields
    f.control_field = False
    return f


# --- reading: MARC-in-JSON ---------------------------------------------------------------------


def _iter_json_values(src: _Source) -> Iterator[tuple[int, Any]]:
    """Yield (number, value) for each record object in a JSON array, object or JSON-lines stream."""
    decoder = json.JSONDecoder(strict=False)
    text_decoder = codecs.getincrementaldecoder("utf-8-sig")("strict")
    buf = ""
    pos = 0
    eof = False
    in_array: bool | None = None
    count = 0
    line_base = 1  # line number of buf[0], for messages

    def more() -> bool:
        nonlocal buf, pos, eof, line_base
        if eof:
            return False
        chunk = src.read(_READ_SIZE)
        try:
            text = text_decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            raise MarcFileError("the JSON file is not valid UTF-8 text") from None
        line_base += buf.count("\n", 0, pos)
        buf = buf[pos:] + text
        pos = 0
        eof = not chunk
        return True

    def skip_space() -> None:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or not more():
                return

    def malformed(message: str) -> MarcFileError:
        line = line_base + buf.count("\n", 0, pos)
        return MarcFileError(f"the JSON is malformed: {message} (line {line})")

    skip_space()
    if pos < len(buf) and buf[pos] == "[":
        in_array = True
        pos += 1
    while True:
        skip_space()
        if pos >= len(buf):
            if in_array:
                raise malformed("the list of records is not closed with ']'")
            return
        if in_array and buf[pos] == "]":
            pos += 1
            skip_space()
            if pos < len(buf):
                raise malformed("unexpected text after the end of the list of records")
            return
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if not more():
                    raise malformed(exc.msg) from None
            except RecursionError:
                raise malformed("the records are nested too deeply") from None
        pos = end
        count += 1
        yield count, value
        skip_space()
        if in_array:
            if pos < len(buf) and buf[pos] == ",":
                pos += 1
            elif pos < len(buf) and buf[pos] != "]":
                raise malformed("expected ',' or ']' between records")


def _iter_marcjson(src: _Source, encoding: str) -> Iterator[ParsedRecord]:
    """Read MARC-in-JSON records (one object, a list, or one object per line)."""
    convert = _legacy_converter(encoding)
    for index, value in _iter_json_values(src):
        result = ParsedRecord(index, None)
        try:
            record = record_from_dict(value, convert)
        except MarcRecordError as exc:
            result.set_reason(exc.parts)
            if isinstance(value, dict) and isinstance(value.get("leader"), str):
                result.kind = _KINDS.get(value["leader"][6:7], "unknown")
        else:
            result.record = record
            result.kind = _KINDS.get(str(record.leader)[6:7], "unknown")
            result.encoding = encoding if convert else "utf-8"
        yield result


def record_from_dict(obj: Any, convert: Callable[[str], str] | None = None) -> Record:
    """Build a Record from a MARC-in-JSON object; raise MarcRecordError naming what is wrong."""
    if not isinstance(obj, dict):
        raise MarcRecordError(N_("the record is not a JSON object"))
    leader = obj.get("leader")
    if not isinstance(leader, str):
        raise MarcRecordError(N_("the record has no leader"))
    if len(leader) != 24:
        raise MarcRecordError(
            N_("the leader is %(length)d characters long; it must be 24"), length=len(leader)
        )
    raw_fields = obj.get("fields")
    if not isinstance(raw_fields, list):
        raise MarcRecordError(N_("the record has no list of fields"))
    fields: list[Field] = []
    for n, item in enumerate(raw_fields, 1):
        if not isinstance(item, dict) or len(item) != 1:
            raise MarcRecordError(N_("field number %(number)d is not an object with one tag"), number=n)
        ((tag, body),) = item.items()
        if len(tag) != 3:
            raise MarcRecordError(N_("the field tag %(tag)s is not 3 characters long"), tag=repr(tag))
        if isinstance(body, str):
            fields.append(_control_field(tag, convert(body) if convert else body))
            continue
        if not isinstance(body, dict):
            raise MarcRecordError(N_("field %(tag)s is neither text nor an object"), tag=tag)
        ind1 = body.get("ind1", " ")
        ind2 = body.get("ind2", " ")
        if not (isinstance(ind1, str) and isinstance(ind2, str)) or len(ind1) != 1 or len(ind2) != 1:
            raise MarcRecordError(N_("field %(tag)s has an indicator that is not one character"), tag=tag)
        subs = body.get("subfields")
        if not isinstance(subs, list):
            raise MarcRecordError(N_("field %(tag)s has no list of subfields"), tag=tag)
        subfields = []
        for sub in subs:
            if not isinstance(sub, dict) or len(sub) != 1:
                raise MarcRecordError(
                    N_("field %(tag)s has a subfield that is not one code and value"), tag=tag
                )
            ((code, value),) = sub.items()
            if not code:
                raise MarcRecordError(N_("field %(tag)s has a subfield without a code"), tag=tag)
            if len(code) != 1:
                raise MarcRecordError(
                    N_("field %(tag)s has a subfield code %(code)s longer than 1"), tag=tag, code=repr(code)
                )
            if not isinstance(value, str):
                raise MarcRecordError(N_("field %(tag)s subfield $%(code)s is not text"), tag=tag, code=code)
            subfields.append(Subfield(code, convert(value) if convert else value))
        fields.append(_data_field(tag, ind1, ind2, subfields))
    record = Record()
    record.leader = Leader(leader)
    record.fields = fields
    return record


def record_to_dict(record: Record) -> dict[str, Any]:
    """Return the MARC-in-JSON object for `record` (leader and fields, exactly as stored)."""
    fields: list[dict[str, Any]] = []
    for f in record.fields:
        if f.control_field:
            fields.append({f.tag: f.data or ""})
        else:
            fields.append(
                {
                    f.tag: {
                        "ind1": f.indicators[0],
                        "ind2": f.indicators[1],
                        "subfields": [{s[0]: s[1]} for s in f.subfields],
                    }
                }
            )
    return {"leader": str(record.leader), "fields": fields}


def records_equal(a: Record, b: Record) -> bool:
    """True when two records hold the same data (the leader's length and base address aside)."""
    la, lb = str(a.leader), str(b.leader)
    if la[5:12] != lb[5:12] or la[17:] != lb[17:]:
        return False
    da, db = record_to_dict(a)["fields"], record_to_dict(b)["fields"]
    return bool(da == db)


# --- normalised text and extraction ------------------------------------------------------------


def normalize_text(text: str | None) -> str:
    """Return `text` in NFC, with Vietnamese combining marks put in the order NFC can compose."""
    return nfc(text)


_TRAILING = " /:;,=+"
_TRAILING_OR_DOT = frozenset(_TRAILING + ".")


def _trim(text: str, period: bool = True) -> str:
    """Strip ISBD punctuation from the end of `text` (and a full stop, unless it ends an initial)."""
    text = text.strip()
    if not text or text[-1] not in _TRAILING_OR_DOT:
        return text
    while text and text[-1] in _TRAILING:
        text = text[:-1].rstrip()
    if (
        period
        and text.endswith(".")
        and not text.endswith("..")
        and not (len(text) >= 2 and text[-2].isalpha() and (len(text) == 2 or not text[-3].isalpha()))
    ):
        text = text[:-1].rstrip()
        while text and text[-1] in _TRAILING:
            text = text[:-1].rstrip()
    return text


@dataclass(slots=True)
class RecordFields:
    """The fields of a record used for indexing, matching and display, all in NFC."""

    title: str = ""
    sort_title: str = ""
    responsibility: str = ""
    authors: list[str] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)
    invalid_isbns: list[str] = field(default_factory=list)
    issns: list[str] = field(default_factory=list)
    publisher: str = ""
    place: str = ""
    date: str = ""
    year: int | None = None
    edition: str = ""
    language: str | None = None
    languages: list[str] = field(default_factory=list)
    classification: str | None = None
    classification_scheme: str | None = None
    classifications: list[tuple[str, str]] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    physical_description: str = ""
    series: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    control_number: str | None = None
    control_number_source: str | None = None
    lccn: str | None = None
    system_numbers: list[str] = field(default_factory=list)

    @property
    def main_author(self) -> str:
        """The first author, or an empty string."""
        return self.authors[0] if self.authors else ""


_ISBN_RE = re.compile(r"\d[\d\- ]{8,16}[\dXx]")
_ISSN_RE = re.compile(r"(\d{4})-?(\d{3}[\dXx])")
_YEAR_RE = re.compile(r"1[0-9]{3}|20[0-9]{2}")
_AUTHOR_CODES = frozenset("abcdnq")
_SUBJECT_SKIP = frozenset("0123456789e4")  # control subfields, relators
_SUBDIVISIONS = frozenset("vxyz")
_AUTHOR_TAGS = ("100", "110", "111", "700", "710", "711")
_EXTRACT_TAGS = frozenset(
    [
        "001",
        "003",
        "008",
        "010",
        "020",
        "022",
        "035",
        "041",
        "050",
        "080",
        "082",
        "084",
        "100",
        "110",
        "111",
        "245",
        "250",
        "260",
        "264",
        "300",
        "440",
        "490",
        "500",
        "700",
        "710",
        "711",
        "800",
        "810",
        "811",
        "830",
    ]
)
_CLASS_ORDER = {"ddc": 0, "bbk": 1, "udc": 2, "other": 3, "lcc": 4}


def _isbn10_ok(digits: str) -> bool:
    """Check an ISBN-10 checksum (digits may end with X)."""
    if not (digits[:9].isdigit() and (digits[9].isdigit() or digits[9] == "X")):
        return False
    total = sum([(10 - i) * int(d) for i, d in enumerate(digits[:9])])
    total += 10 if digits[9] == "X" else int(digits[9])
    return total % 11 == 0


def _isbn13_check(digits12: str) -> str:
    """Return the ISBN-13 (EAN-13) check digit for 12 digits."""
    total = sum(map(int, digits12[0::2])) + 3 * sum(map(int, digits12[1::2]))
    return str((10 - total % 10) % 10)


def isbn10_to_isbn13(isbn10: str) -> str:
    """Convert a 10-character ISBN to its 978 ISBN-13."""
    body = "978" + isbn10[:9]
    return body + _isbn13_check(body)


def isbn_is_valid(isbn: str) -> bool:
    """True when a normalised ISBN (10 or 13 characters) has a correct checksum."""
    if len(isbn) == 10:
        return _isbn10_ok(isbn)
    return (
        len(isbn) == 13
        and isbn.isdigit()
        and isbn[:3] in ("978", "979")
        and _isbn13_check(isbn[:12]) == isbn[12]
    )


def normalize_isbn(text: str | None) -> str | None:
    """Return the ISBN in `text` without hyphens or qualifiers, as ISBN-13 when it is a valid ISBN-10."""
    if not text:
        return None
    match = _ISBN_RE.search(text)
    if match is None:
        return None
    digits = match.group().replace("-", "").replace(" ", "").upper()
    if len(digits) == 10 and _isbn10_ok(digits):
        return isbn10_to_isbn13(digits)
    return digits


def _subfield_text(f: Field, codes: frozenset[str] | str) -> str:
    """Join the values of the subfields of `f` whose code is in `codes`."""
    return " ".join([v for c, v in f.subfields if c in codes and v])


def _title(f: Field) -> str:
    """Title proper and remainder from 245 ($a $b $n $p), keeping ISBD punctuation between parts."""
    parts: list[str] = []
    for code, value in f.subfields:
        if code in "abnp" and code:
            parts.append(value.strip())
        elif code == "h" and parts:
            # A medium designator between $a and $b carries the punctuation for $b.
            tail = value.rstrip()[-1:]
            if tail in (":", "=", ";"):
                parts[-1] = parts[-1] + " " + tail
    return " ".join([p for p in parts if p])


def _subject(f: Field) -> str:
    """One subject heading, subdivisions joined with ' -- '."""
    main: list[str] = []
    parts: list[str] = []
    for code, value in f.subfields:
        if code in _SUBDIVISIONS:
            value = _trim(nfc(value))
            if value:
                parts.append(value)
        elif code not in _SUBJECT_SKIP and code:
            main.append(value.strip())
    head = _trim(nfc(" ".join([m for m in main if m])))
    return " -- ".join([head, *parts] if head else parts)


def _append_unique(items: list[str], value: str) -> None:
    """Append a non-empty value that is not yet in the list."""
    if value and value not in items:
        items.append(value)


def extract(record: Record) -> RecordFields:
    """Return the NFC-normalised display and index fields of a bibliographic record."""
    by_tag: dict[str, list[Field]] = {}
    subject_fields: list[Field] = []
    wanted = _EXTRACT_TAGS
    for f in record.fields:
        tag = f.tag
        if tag in wanted:
            lst = by_tag.get(tag)
            if lst is None:
                by_tag[tag] = [f]
            else:
                lst.append(f)
        elif tag[:1] == "6" and not f.control_field:
            subject_fields.append(f)
    out = RecordFields()
    norm = nfc  # normalize_text
    get = by_tag.get

    f245 = get("245")
    if f245:
        t = f245[0]
        if not t.control_field:
            out.title = _trim(norm(_title(t)))
            skip = t.indicators[1] if t.indicators else "0"
            n = int(skip) if skip.isdigit() else 0
            out.sort_title = out.title[n:] if 0 < n < len(out.title) else out.title
            out.responsibility = _trim(norm(_subfield_text(t, "c")))

    authors: list[str] = []
    for tag in _AUTHOR_TAGS:
        for f in get(tag, ()):
            if not f.control_field:
                _append_unique(authors, _trim(norm(_subfield_text(f, _AUTHOR_CODES))))
    out.authors = authors

    for f in get("020", ()):
        for code, value in f.subfields:
            if code == "a":
                isbn = normalize_isbn(value)
                if isbn:
                    _append_unique(out.isbns, isbn)
                    if not isbn_is_valid(isbn):
                        _append_unique(out.invalid_isbns, isbn)
    for f in get("022", ()):
        for code, value in f.subfields:
            if code == "a":
                m = _ISSN_RE.search(value)
                if m:
                    _append_unique(out.issns, f"{m.group(1)}-{m.group(2).upper()}")

    pub = get("260") or [f for f in get("264", ()) if f.indicators and f.indicators[1] == "1"]
    pub = pub or get("264")
    if pub and not pub[0].control_field:
        p = pub[0]
        for code, value in p.subfields:
            if code == "a" and not out.place:
                out.place = _trim(norm(value))
            elif code == "b" and not out.publisher:
                out.publisher = _trim(norm(value))
            elif code == "c" and not out.date:
                out.date = _trim(norm(value), period=False)

    f008 = get("008")
    data008 = f008[0].data or "" if f008 else ""
    year_text = data008[7:11]
    if year_text.isdigit() and data008[6:7] != "b" and 1000 <= int(year_text) <= 2099:
        out.year = int(year_text)
    elif out.date:
        m = _YEAR_RE.search(out.date)
        if m:
            out.year = int(m.group())

    f250 = get("250")
    if f250 and not f250[0].control_field:
        out.edition = _trim(norm(_subfield_text(f250[0], "ab")), period=False)

    lang = data008[35:38]
    if len(lang) == 3 and lang.isalpha():
        out.languages.append(lang.lower())
    for f in get("041", ()):
        for code, value in f.subfields:
            if code == "a":
                value = value.strip().lower()
                for i in range(0, len(value) - 2, 3):
                    if value[i : i + 3].isalpha():
                        _append_unique(out.languages, value[i : i + 3])
    out.language = out.languages[0] if out.languages else None

    classes: list[tuple[str, str]] = []
    for tag, scheme in (("082", "ddc"), ("084", None), ("080", "udc"), ("050", "lcc")):
        for f in get(tag, ()):
            if f.control_field:
                continue
            number = ""
            source = ""
            for code, value in f.subfields:
                if code == "a" and not number:
                    number = value.strip()
                elif code == "b" and tag == "050" and number:
                    number = f"{number} {value.strip()}"
                elif code == "2":
                    source = value.strip().lower()
            if tag == "082":
                number = number.replace("/", "").replace("'", "")
            if not number:
                continue
            name = scheme or ("bbk" if "bbk" in source else "other")
            classes.append((name, norm(number)))
    if classes:
        out.classifications = classes
        best = min(classes, key=lambda c: _CLASS_ORDER[c[0]])
        out.classification_scheme, out.classification = best

    subjects: list[str] = []
    for f in subject_fields:
        _append_unique(subjects, _subject(f))
    out.subjects = subjects

    f300 = get("300")
    if f300 and not f300[0].control_field:
        out.physical_description = _trim(norm(_subfield_text(f300[0], "abce")))

    series: list[str] = []
    for tag in ("490", "440", "830", "800", "810", "811"):
        for f in get(tag, ()):
            if f.control_field:
                continue
            name = _trim(norm(_subfield_text(f, "abcdnpqt")))
            number = _trim(norm(_subfield_text(f, "v")))
            _append_unique(series, f"{name} ; {number}" if name and number else name)
    out.series = series

    for f in get("500", ()):
        if not f.control_field:
            _append_unique(out.notes, norm(_subfield_text(f, "a").strip()))

    f001 = get("001")
    if f001 and f001[0].data:
        out.control_number = f001[0].data.strip() or None
    f003 = get("003")
    if f003 and f003[0].data:
        out.control_number_source = f003[0].data.strip() or None
    f010 = get("010")
    if f010 and not f010[0].control_field:
        lccn = "".join(v for c, v in f010[0].subfields if c == "a").strip()
        out.lccn = lccn.replace(" ", "") or None
    for f in get("035", ()):
        for code, value in f.subfields:
            if code == "a":
                _append_unique(out.system_numbers, norm(value.strip()))
    return out


class MatchKey(NamedTuple):
    """A duplicate-matching key: its kind ("isbn", "lccn", "control_number", …) and its value."""

    kind: str
    value: str


_NON_WORD = re.compile(r"[\W_]+")
_NON_LETTER = re.compile(r"[\W\d_]+")
_OCLC_PREFIX = re.compile(r"^\(ocolc\)(?:ocm|ocn|on)?0*", re.IGNORECASE)


def _key_text(text: str, letters_only: bool = False) -> str:
    """Fold `text` and keep its words only, for the title/author/year key."""
    pattern = _NON_LETTER if letters_only else _NON_WORD
    folded = text.casefold() if text.isascii() else fold(text)  # fold() is a no-op on ASCII
    return " ".join(pattern.sub(" ", folded).split())


def match_keys(fields: RecordFields) -> list[MatchKey]:
    """Return the keys on which two records count as duplicates (ISBN, LCCN, 003+001, 035, title)."""
    keys = [MatchKey("isbn", isbn) for isbn in fields.isbns]
    if fields.lccn:
        keys.append(MatchKey("lccn", fields.lccn))
    if fields.control_number and fields.control_number_source:
        keys.append(MatchKey("control_number", f"{fields.control_number_source}|{fields.control_number}"))
    for number in fields.system_numbers:
        compact = "".join(number.split())
        oclc = _OCLC_PREFIX.match(compact)
        if oclc:
            compact = "(OCoLC)" + compact[oclc.end() :]
        keys.append(MatchKey("system_number", compact))
    title = _key_text(fields.sort_title or fields.title)
    author = _key_text(fields.main_author, letters_only=True)
    if title and (author or fields.year):
        keys.append(MatchKey("title_author_year", f"{title}|{author}|{fields.year or ''}"))
    return keys


# --- validation --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """A problem found in a record: the field ("LDR" for the leader), what is wrong, how serious.

    `msgid` is an English gettext msgid (marked with N_) with %(name)s placeholders filled from
    `params`; `message` is the English text, and the web edge translates msgid and params.
    """

    tag: str
    msgid: str
    severity: str = "error"
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def message(self) -> str:
        """The problem in English."""
        return self.msgid % dict(self.params) if self.params else self.msgid

    @property
    def part(self) -> ReasonPart:
        """The problem as a reason part: [tag, msgid, params] (see `render_reason`)."""
        return [self.tag, self.msgid, dict(self.params)]

    def __str__(self) -> str:
        return f"{self.tag}: {self.message}"


def _problem(tag: str, msgid: str, severity: str = "error", /, **params: Any) -> Problem:
    return Problem(tag, msgid, severity, tuple(params.items()))


_LEADER_POSITIONS = {
    "bibliographic": (
        (5, N_("leader/05 (record status) %(value)s is not valid"), "acdnp"),
        (7, N_("leader/07 (bibliographic level) %(value)s is not valid"), "abcdims"),
        (8, N_("leader/08 (type of control) %(value)s is not valid"), " a"),
    ),
    "holdings": ((5, N_("leader/05 (record status) %(value)s is not valid"), "cdn"),),
    "authority": ((5, N_("leader/05 (record status) %(value)s is not valid"), "acdnosx"),),
}
_LEADER_WARN_POSITIONS = {
    "bibliographic": (
        (17, N_("leader/17 (encoding level) %(value)s is unusual"), " 12345678uzIJKLM"),
        (18, N_("leader/18 (descriptive cataloguing form) %(value)s is unusual"), " acinu"),
        (19, N_("leader/19 (multipart resource record level) %(value)s is unusual"), " abc"),
    ),
}
LEADER_TYPE_PROBLEM = N_("leader/06 (type of record) %(value)s is not a MARC 21 type")
_INDICATOR_OK = frozenset("0123456789abcdefghijklmnopqrstuvwxyz ")
_CODE_OK = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
_CODE_SCHEMA = frozenset(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!\"#$%&'()*+,-./:;<=>?{}_^`~[]\\"
)
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NON_REPEATABLE = ("001", "003", "005", "008", "100", "110", "111", "130", "245", "250", "300")


def validate(record: Record) -> list[Problem]:
    """Check a record's structure and name each problem's field in plain words."""
    problems, kind = _leader_problems(str(record.leader))
    fields = record.fields
    counts = _clean_field_counts(fields, kind)
    if counts is None:  # some field has a problem: look at each one closely
        counts = _field_problems(fields, kind, problems)
    if kind == "bibliographic" and "245" not in counts:
        problems.append(_problem("245", N_("there is no 245 (title) field")))
    for tag in _NON_REPEATABLE:
        if counts.get(tag, 0) > 1:
            problems.append(
                _problem(
                    tag,
                    N_("field %(tag)s appears %(count)d times; it is not repeatable"),
                    tag=tag,
                    count=counts[tag],
                )
            )
    return problems


def _leader_problems(leader: str) -> tuple[list[Problem], str]:
    """Return the leader's problems and the kind of record it says."""
    problems: list[Problem] = []
    add = problems.append
    if len(leader) != 24:
        add(
            _problem("LDR", N_("the leader is %(length)d characters long; it must be 24"), length=len(leader))
        )
        kind = "unknown"
    else:
        kind = _KINDS.get(leader[6], "unknown")
        if kind == "unknown":
            add(_problem("LDR", LEADER_TYPE_PROBLEM, value=repr(leader[6])))
        for pos, msgid, allowed in _LEADER_POSITIONS.get(kind, ()):
            if leader[pos] not in allowed:
                add(_problem("LDR", msgid, value=repr(leader[pos])))
        if leader[9] not in " a":
            add(
                _problem(
                    "LDR",
                    N_("leader/09 (character coding) %(value)s must be blank or 'a'"),
                    value=repr(leader[9]),
                )
            )
        if leader[10:12] != "22":
            add(_problem("LDR", N_("leader/10-11 must be '22', not %(value)s"), value=repr(leader[10:12])))
        if leader[20:24] != "4500":
            add(_problem("LDR", N_("leader/20-23 must be '4500', not %(value)s"), value=repr(leader[20:24])))
        for part, msgid in (
            (leader[0:5], N_("leader/00-04 (record length) must be digits, not %(value)s")),
            (leader[12:17], N_("leader/12-16 (base address) must be digits, not %(value)s")),
        ):
            if part.strip(" 0123456789"):
                add(_problem("LDR", msgid, value=repr(part)))
        for pos, msgid, allowed in _LEADER_WARN_POSITIONS.get(kind, ()):
            if leader[pos] not in allowed:
                add(_problem("LDR", msgid, "warning", value=repr(leader[pos])))

    return problems, kind


_CONTROL_TAGS = frozenset(f"{n:03d}" for n in range(1, 10))
_DATA_TAGS = frozenset(f"{n:03d}" for n in range(10, 1000))
_first = itemgetter(0)
_second = itemgetter(1)


def _clean_field_counts(fields: list[Field], kind: str) -> dict[str, int] | None:
    """Count the fields by tag when none of them has a problem `_field_problems` would name, else None.

    The quick path of `validate`: one look at each field and one search of all the text for control
    characters, instead of a check of every subfield.
    """
    counts: dict[str, int] = {}
    texts: list[str] = []
    subfields: list[Any] = []
    control_tags = _CONTROL_TAGS
    data_tags = _DATA_TAGS
    indicator_ok = _INDICATOR_OK
    try:
        for f in fields:
            tag = f.tag
            counts[tag] = counts.get(tag, 0) + 1
            if tag in data_tags:
                if f.control_field or f.data:
                    return None
                subs = f.subfields
                ind = f.indicators
                if not subs or ind is None or ind[0] not in indicator_ok or ind[1] not in indicator_ok:
                    return None
                subfields += subs
            elif tag in control_tags:
                data = f.data
                if not data or f.subfields or not f.control_field or _SD in data:
                    return None
                if tag == "008" and kind == "bibliographic" and len(data) != 40:
                    return None
                texts.append(data)
            else:
                return None
        if not _CODE_OK.issuperset(map(_first, subfields)):
            return None
        texts.extend(map(_second, subfields))
        if _BAD_CHARS.search("".join(texts)):
            return None
    except (TypeError, AttributeError, IndexError):
        return None
    return counts


def _field_problems(fields: list[Field], kind: str, problems: list[Problem]) -> dict[str, int]:
    """Append every field's problems to `problems`; return the number of fields of each tag."""
    add = problems.append
    counts: dict[str, int] = {}
    for f in fields:
        tag = f.tag
        counts[tag] = counts.get(tag, 0) + 1
        if len(tag) != 3:
            add(_problem(tag, N_("the tag %(tag)s is not 3 characters long"), tag=repr(tag)))
            continue
        if not tag.isdigit():
            add(_problem(tag, N_("the tag %(tag)s is not numeric"), tag=repr(tag)))
            continue
        if tag == "000":
            add(_problem(tag, N_("000 is not a valid tag")))
        if tag < "010":
            if f.subfields or (f.data and _SD in f.data):
                add(
                    _problem(
                        tag, N_("control field %(tag)s has subfields; control fields hold only data"), tag=tag
                    )
                )
            elif not f.control_field:
                add(_problem(tag, N_("control field %(tag)s is stored as a data field"), tag=tag))
            elif not f.data:
                add(_problem(tag, N_("control field %(tag)s is empty"), "warning", tag=tag))
            if f.data and _BAD_CHARS.search(f.data.replace(_SD, "")):
                add(_problem(tag, N_("field %(tag)s contains control characters"), tag=tag))
            if tag == "008" and kind == "bibliographic" and f.data and len(f.data) != 40:
                add(_problem(tag, N_("008 is %(length)d characters long; it must be 40"), length=len(f.data)))
            continue
        if f.control_field or f.data:
            add(_problem(tag, N_("data field %(tag)s holds plain data instead of subfields"), tag=tag))
            continue
        ind = f.indicators or ("", "")
        for msgid, value in (
            (N_("the first indicator %(value)s is not a digit, a blank or a lowercase letter"), ind[0]),
            (N_("the second indicator %(value)s is not a digit, a blank or a lowercase letter"), ind[1]),
        ):
            if len(value) != 1 or value not in _INDICATOR_OK:
                add(_problem(tag, msgid, value=repr(value)))
        if not f.subfields:
            add(_problem(tag, N_("data field %(tag)s has no subfields"), tag=tag))
        for code, value in f.subfields:
            if not code:
                add(_problem(tag, N_("a subfield has no code")))
            elif len(code) != 1 or code not in _CODE_SCHEMA:
                add(_problem(tag, N_("the subfield code %(code)s is not a letter or digit"), code=repr(code)))
            elif code not in _CODE_OK:
                add(
                    _problem(
                        tag,
                        N_("the subfield code %(code)s is not a lowercase letter or digit"),
                        "warning",
                        code=repr(code),
                    )
                )
            if _BAD_CHARS.search(value):
                add(_problem(tag, N_("subfield $%(code)s contains control characters"), code=code))
    return counts


# --- writing -----------------------------------------------------------------------------------


def record_to_iso2709(record: Record) -> bytes:
    """Serialise a record as UTF-8 ISO 2709 (leader/09 'a'); raise MarcWriteError if it cannot be."""
    leader = str(record.leader)
    if len(leader) != 24:
        raise MarcWriteError(f"the leader is {len(leader)} characters long; it must be 24")
    directory: list[str] = []
    data: list[bytes] = []
    offset = 0
    for f in record.fields:
        tag = f.tag
        if len(tag) != 3 or not tag.isascii():
            raise MarcWriteError(f"the tag {tag!r} cannot be written: it must be 3 ASCII characters")
        if f.control_field:
            text = (f.data or "") + _FT
            if _RT in text or text.count(_FT) != 1:
                raise MarcWriteError(f"field {tag} contains a MARC terminator character")
        else:
            ind = f.indicators
            subs = f.subfields
            text = ind[0] + ind[1] + "".join([_SD + c + v for c, v in subs]) + _FT
            if (
                len(ind[0]) != 1
                or len(ind[1]) != 1
                or _RT in text
                or text.count(_FT) != 1
                or text.count(_SD) != len(subs)
                or any(len(c) != 1 for c, _ in subs)
            ):
                raise MarcWriteError(
                    f"field {tag} cannot be written: a bad indicator or subfield code, or a MARC "
                    "delimiter inside its data"
                )
        raw = text.encode("utf-8")
        if len(raw) > 9999:
            raise MarcWriteError(f"field {tag} is {len(raw):,} bytes long, over the ISO 2709 limit of 9,999")
        directory.append(f"{tag}{len(raw):04d}{offset:05d}")
        data.append(raw)
        offset += len(raw)
    base = 24 + 12 * len(directory) + 1
    total = base + offset + 1
    if total > ISO2709_LIMIT:
        raise MarcWriteError(f"the record would be {total:,} bytes long, over the ISO 2709 limit of 99,999")
    head = f"{total:05d}{leader[5:9]}a22{base:05d}{leader[17:20]}4500"
    return b"".join([head.encode("ascii"), "".join(directory).encode("ascii"), b"\x1e", *data, b"\x1d"])


def _handle(
    on_error: Callable[[int, Record, MarcWriteError], None] | None,
    number: int,
    record: Record,
    exc: MarcWriteError,
) -> None:
    """Pass a write error to `on_error` (the record is skipped), or raise it naming the record."""
    if on_error is None:
        raise MarcWriteError(f"record {number}: {exc}") from None
    on_error(number, record, exc)


def iter_iso2709(
    records: Iterable[Record | dict[str, Any] | str],
    on_error: Callable[[int, Any, MarcWriteError], None] | None = None,
) -> Iterator[bytes]:
    """Yield each record as ISO 2709 bytes: a pymarc Record, a MARC-in-JSON object or its stored text."""
    for number, record in enumerate(records, 1):
        try:
            if isinstance(record, str):
                yield iso2709_from_json(record)
            elif isinstance(record, dict):
                yield iso2709_from_dict(record)
            else:
                yield record_to_iso2709(record)
        except MarcWriteError as exc:
            _handle(on_error, number, record, exc)


def write_iso2709(
    records: Iterable[Record],
    stream: IO[bytes],
    on_error: Callable[[int, Record, MarcWriteError], None] | None = None,
) -> int:
    """Write records as UTF-8 ISO 2709 to a binary stream, one at a time; return how many."""
    count = 0
    for chunk in iter_iso2709(records, on_error):
        stream.write(chunk)
        count += 1
    return count


_LEADER_SCHEMA = re.compile(
    r"[\d ]{5}[\dA-Za-z ][\dA-Za-z][\dA-Za-z ]{3}(2| )(2| )[\d ]{5}[\dA-Za-z ]{3}(4500|    )"
)
_CONTROL_TAG_SCHEMA = re.compile(r"00[1-9A-Za-z]")
_DATA_TAG_SCHEMA = re.compile(
    r"(0([1-9A-Z][0-9A-Z])|0([1-9a-z][0-9a-z]))|(([1-9A-Z][0-9A-Z]{2})|([1-9a-z][0-9a-z]{2}))"
)
_IND_SCHEMA = frozenset("0123456789abcdefghijklmnopqrstuvwxyz ")


def _xml_text(text: str) -> str:
    """Escape character data for XML (carriage returns too, so they survive a round trip)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _xml_attr(text: str) -> str:
    """Escape an attribute value for XML."""
    return _xml_text(text).replace('"', "&quot;")


def record_to_marcxml(record: Record, namespace: bool = False) -> str:
    """Return one <record> element as MARCXML text valid against MARC21slim.xsd, or raise."""
    leader = str(record.leader)
    if not _LEADER_SCHEMA.fullmatch(leader):
        raise MarcWriteError(f"the leader {leader!r} is not valid MARCXML")
    out = [f'<record xmlns="{MARCXML_NS}">' if namespace else "<record>"]
    out.append(f"<leader>{leader}</leader>")
    for f in record.fields:
        tag = f.tag
        if f.control_field:
            if not _CONTROL_TAG_SCHEMA.fullmatch(tag):
                raise MarcWriteError(f"the control field tag {tag!r} is not valid MARCXML")
            out.append(f'<controlfield tag="{tag}">{_xml_text(f.data or "")}</controlfield>')
            continue
        ind = f.indicators
        if (
            not _DATA_TAG_SCHEMA.fullmatch(tag)
            or ind[0] not in _IND_SCHEMA
            or ind[1] not in _IND_SCHEMA
            or len(ind[0]) != 1
            or len(ind[1]) != 1
        ):
            raise MarcWriteError(f"field {tag} has a tag or indicator that is not valid MARCXML")
        if not f.subfields:
            raise MarcWriteError(f"field {tag} has no subfields, which MARCXML does not allow")
        out.append(f'<datafield tag="{tag}" ind1="{ind[0]}" ind2="{ind[1]}">')
        for code, value in f.subfields:
            if len(code) != 1 or code not in _CODE_SCHEMA:
                raise MarcWriteError(f"field {tag} has a subfield code {code!r} not valid MARCXML")
            out.append(f'<subfield code="{_xml_attr(code)}">{_xml_text(value)}</subfield>')
        out.append("</datafield>")
    out.append("</record>")
    text = "".join(out)
    if _BAD_CHARS.search(text):
        raise MarcWriteError("the record contains control characters, which XML cannot hold")
    return text


# --- fast paths: writing straight from MARC-in-JSON objects (what the catalogue stores) -------

_TAG_OK: dict[str, bool] = {}
_PADS: dict[str, tuple[list[str], list[str]]] = {}


def _pads() -> tuple[list[str], list[str]]:
    """Zero-padded field lengths and offsets for ISO 2709 directories, built on first use (~6 MB)."""
    pads = _PADS.get("iso2709")
    if pads is None:
        # Built whole, then stored in one step: safe when two threads get here at once.
        pads = ([f"{n:04d}" for n in range(10_000)], [f"{n:05d}" for n in range(ISO2709_LIMIT + 1)])
        _PADS["iso2709"] = pads
    return pads


def _marcxml_tag_ok(tag: str, control: bool) -> bool:
    """Return whether `tag` is a valid MARCXML control (00X) or data field tag (memoised)."""
    key = ("c" if control else "d") + tag
    ok = _TAG_OK.get(key)
    if ok is None:
        schema = _CONTROL_TAG_SCHEMA if control else _DATA_TAG_SCHEMA
        ok = _TAG_OK[key] = schema.fullmatch(tag) is not None
    return ok


def iso2709_from_dict(obj: dict[str, Any]) -> bytes:
    """Serialise a MARC-in-JSON object as record_to_iso2709 would, without building pymarc objects.

    Anything unusual (a bad tag, indicator or code, a delimiter inside data, a record or field over
    the limits) is handed to record_to_iso2709, so the bytes and the error messages are the same.
    """
    leader = obj["leader"]
    texts: list[str] = []
    tags: list[str] = []
    ok = len(leader) == 24
    subs_total = 0
    for item in obj["fields"]:
        for tag, body in item.items():
            tags.append(tag)
            if body.__class__ is str:
                texts.append(body)
                continue
            ind1 = body["ind1"]
            ind2 = body["ind2"]
            if len(ind1) != 1 or len(ind2) != 1:
                ok = False
            parts = [ind1 + ind2]
            for sub in body["subfields"]:
                for code, value in sub.items():
                    if len(code) != 1:
                        ok = False
                    parts.append(code + value)
            subs_total += len(parts) - 1
            texts.append(_SD.join(parts))
    joined = _FT.join(texts)
    if (
        not ok
        or _RT in joined
        or joined.count(_FT) != len(texts) - 1
        or joined.count(_SD) != subs_total
        or any(len(t) != 3 for t in tags)
        or not "".join(tags).isascii()
    ):
        return record_to_iso2709(_as_record(obj))
    assembled = _assemble_iso2709(leader, tags, texts, joined)
    return assembled if assembled is not None else record_to_iso2709(_as_record(obj))


def _assemble_iso2709(leader: str, tags: list[str], texts: list[str], joined: str) -> bytes | None:
    """Return the ISO 2709 bytes of checked field texts, or None when a length limit is exceeded."""
    if joined.isascii():
        sizes = [len(t) + 1 for t in texts]
    else:
        sizes = [len(t) + 1 if t.isascii() else len(t.encode("utf-8")) + 1 for t in texts]
    if max(sizes, default=0) > 9999 or sum(sizes) > ISO2709_LIMIT:
        return None
    pad4, pad5 = _pads()
    directory: list[str] = []
    offset = 0
    for tag, size in zip(tags, sizes, strict=True):
        directory.append(tag + pad4[size] + pad5[offset])
        offset += size
    base = 24 + 12 * len(directory) + 1
    total = base + offset + 1
    if total > ISO2709_LIMIT:
        return None
    head = f"{total:05d}{leader[5:9]}a22{base:05d}{leader[17:20]}4500"
    area = joined + _FT if texts else ""
    return f"{head}{''.join(directory)}{_FT}{area}{_RT}".encode()


_CODE_OPEN = {c: f'<subfield code="{_xml_attr(c)}">' for c in _CODE_SCHEMA}


def marcxml_from_dict(obj: dict[str, Any]) -> str:
    """Return one <record> element for a MARC-in-JSON object, as record_to_marcxml would (no namespace)."""
    leader = obj["leader"]
    if not _LEADER_SCHEMA.fullmatch(leader):
        return record_to_marcxml(_as_record(obj))
    out = ["<record><leader>", leader, "</leader>"]
    add = out.append
    esc = _xml_text
    opens = _CODE_OPEN
    tag_ok = _TAG_OK
    try:
        for item in obj["fields"]:
            for tag, body in item.items():
                if body.__class__ is str:
                    if not (tag_ok.get("c" + tag) or _marcxml_tag_ok(tag, True)):
                        raise MarcWriteError(tag)
                    add(f'<controlfield tag="{tag}">{esc(body)}</controlfield>')
                    continue
                ind1 = body["ind1"]
                ind2 = body["ind2"]
                subs = body["subfields"]
                if (
                    not (tag_ok.get("d" + tag) or _marcxml_tag_ok(tag, False))
                    or ind1 not in _IND_SCHEMA
                    or ind2 not in _IND_SCHEMA
                    or not subs
                ):
                    raise MarcWriteError(tag)
                add(f'<datafield tag="{tag}" ind1="{ind1}" ind2="{ind2}">')
                for sub in subs:
                    for code, value in sub.items():
                        add(f"{opens[code]}{esc(value)}</subfield>")
                add("</datafield>")
    except (MarcWriteError, KeyError):
        return record_to_marcxml(_as_record(obj))
    add("</record>")
    text = "".join(out)
    if _BAD_CHARS.search(text):
        raise MarcWriteError("the record contains control characters, which XML cannot hold")
    return text


# Stored MARC-in-JSON text, as json.dumps(..., ensure_ascii=False, separators=(",", ":")) writes it:
# when it holds no backslash, no value holds a quote or a control character, so the fields can be cut
# out with a regular expression and a few replacements instead of building a dict per subfield.
_JSON_RECORD = re.compile(r'\{"leader":"([^"]{24})","fields":\[(.*)\]\}', re.DOTALL)
_JSON_FIELD_ISO = re.compile(
    r'\{"([^"]{3})":(?:"([^"]*)"|\{"ind1":"([^"])","ind2":"([^"])","subfields":\['
    r'(\{"[^"]":"[^"]*"\}(?:,\{"[^"]":"[^"]*"\})*)\]\})\}'
)
_JSON_FIELD_XML = re.compile(
    r'\{"([^"]{3})":(?:"([^"]*)"|\{"ind1":"([0-9a-z ])","ind2":"([0-9a-z ])","subfields":\['
    r'(\{"[0-9A-Za-z]":"[^"]*"\}(?:,\{"[0-9A-Za-z]":"[^"]*"\})*)\]\})\}'
)
_JSON_CONTROL_EXTRA = len('{"001":""}')
_JSON_DATA_EXTRA = len('{"245":{"ind1":" ","ind2":" ","subfields":[]}}')


def _json_fields(
    text: str, pattern: re.Pattern[str], escape: bool = False
) -> tuple[str, list[tuple[str, str, str, str, str]]] | None:
    """Split stored MARC-in-JSON text into its leader and fields; None when it needs the JSON parser."""
    if "\\" in text:
        return None
    whole = _JSON_RECORD.fullmatch(text)
    if whole is None:
        return None
    body = whole.group(2)
    if escape and ("&" in body or "<" in body or ">" in body):
        body = body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    fields = pattern.findall(body)
    # The fields found must cover the whole list: their lengths plus the commas between them.
    covered = len(fields) - 1 if fields else 0
    for _tag, data, _ind1, _ind2, subs in fields:
        covered += len(subs) + _JSON_DATA_EXTRA if subs else len(data) + _JSON_CONTROL_EXTRA
    if covered != len(body):
        return None
    return whole.group(1), fields


def _as_record(obj: dict[str, Any]) -> Record:
    """Build the pymarc record the slow writers need; a malformed object is a MarcWriteError."""
    try:
        return record_from_dict(obj)
    except MarcRecordError as exc:
        raise MarcWriteError(str(exc)) from None


def _loads_for_writing(text: str) -> dict[str, Any]:
    """Parse stored MARC-in-JSON text; raise MarcWriteError if it is not JSON."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise MarcWriteError(f"the stored MARC-in-JSON text is not valid JSON: {exc}") from None


def iso2709_from_json(text: str) -> bytes:
    """Serialise stored MARC-in-JSON text as ISO 2709, as record_to_iso2709 would; raise MarcWriteError."""
    split = _json_fields(text, _JSON_FIELD_ISO)
    if split is None:
        return iso2709_from_dict(_loads_for_writing(text))
    leader, fields = split
    tags: list[str] = []
    texts: list[str] = []
    for tag, data, ind1, ind2, subs in fields:
        tags.append(tag)
        if subs:
            texts.append(ind1 + ind2 + _SD + subs[2:-2].replace('"},{"', _SD).replace('":"', ""))
        else:
            texts.append(data)
    tagtext = "".join(tags)
    joined = _FT.join(texts)
    if not tagtext.isascii():
        return iso2709_from_dict(_loads_for_writing(text))
    assembled = _assemble_iso2709(leader, tags, texts, joined)
    return assembled if assembled is not None else iso2709_from_dict(_loads_for_writing(text))


def marcxml_from_json(text: str) -> str:
    """Return one <record> element for stored MARC-in-JSON text, as record_to_marcxml would; or raise."""
    split = _json_fields(text, _JSON_FIELD_XML, escape=True)
    if split is None or not _LEADER_SCHEMA.fullmatch(split[0]):
        return marcxml_from_dict(_loads_for_writing(text))
    leader, fields = split
    out = ["<record><leader>", leader, "</leader>"]
    add = out.append
    tag_ok = _TAG_OK
    for tag, data, ind1, ind2, subs in fields:
        if subs:
            if not (tag_ok.get("d" + tag) or _marcxml_tag_ok(tag, False)):
                return marcxml_from_dict(_loads_for_writing(text))
            add(
                f'<datafield tag="{tag}" ind1="{ind1}" ind2="{ind2}"><subfield code="'
                + subs[2:-2].replace('"},{"', '</subfield><subfield code="').replace('":"', '">')
                + "</subfield></datafield>"
            )
        else:
            if not (tag_ok.get("c" + tag) or _marcxml_tag_ok(tag, True)):
                return marcxml_from_dict(_loads_for_writing(text))
            add(f'<controlfield tag="{tag}">{data}</controlfield>')
    add("</record>")
    result = "".join(out)
    # Without a backslash the JSON text held no control character; the other characters XML
    # forbids are not ASCII.
    if not result.isascii() and _BAD_CHARS.search(result):
        raise MarcWriteError("the record contains control characters, which XML cannot hold")
    return result


_XML_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<collection xmlns="{MARCXML_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    f'xsi:schemaLocation="{MARCXML_NS} http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd">\n'
)


def iter_marcxml(
    records: Iterable[Record | dict[str, Any] | str],
    on_error: Callable[[int, Any, MarcWriteError], None] | None = None,
) -> Iterator[bytes]:
    """Yield a MARCXML collection piece by piece: the header, one chunk per record, the footer.

    A record is a pymarc Record, a MARC-in-JSON object or its stored text (these two are written
    without building pymarc objects).
    """
    yield _XML_HEAD.encode("utf-8")
    for number, record in enumerate(records, 1):
        try:
            if isinstance(record, str):
                text = marcxml_from_json(record)
            elif isinstance(record, dict):
                text = marcxml_from_dict(record)
            else:
                text = record_to_marcxml(record)
            yield (text + "\n").encode("utf-8")
        except MarcWriteError as exc:
            _handle(on_error, number, record, exc)
    yield b"</collection>\n"


def write_marcxml(
    records: Iterable[Record],
    stream: IO[bytes],
    on_error: Callable[[int, Record, MarcWriteError], None] | None = None,
) -> int:
    """Write a MARCXML collection to a binary stream, one record at a time; return how many."""
    count = -2  # the header and footer chunks are not records
    for chunk in iter_marcxml(records, on_error):
        stream.write(chunk)
        count += 1
    return count


def iter_marcjson(records: Iterable[Record | dict[str, Any] | str], lines: bool = False) -> Iterator[bytes]:
    """Yield MARC-in-JSON: a JSON list, or with `lines` one object per line (JSON Lines).

    A record is a pymarc Record, a MARC-in-JSON object, or compact MARC-in-JSON text as the catalogue
    stores it (copied as it is).
    """
    first = True
    if not lines:
        yield b"["
    for record in records:
        if isinstance(record, str):
            text = record
        else:
            obj = record if isinstance(record, dict) else record_to_dict(record)
            text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        if lines:
            yield (text + "\n").encode("utf-8")
        else:
            yield (("\n" if first else ",\n") + text).encode("utf-8")
        first = False
    if not lines:
        yield b"\n]\n"


def write_marcjson(records: Iterable[Record], stream: IO[bytes], lines: bool = False) -> int:
    """Write MARC-in-JSON to a binary stream, one record at a time; return how many."""
    count = 0
    for chunk in iter_marcjson(records, lines):
        stream.write(chunk)
        if chunk not in (b"[", b"\n]\n"):
            count += 1
    return count


# --- building a record from a simple form ------------------------------------------------------


def _name_field(tag: str, name: str) -> Field:
    """A personal-name field: inverted ("Nguyễn, Du") names get indicator 1, direct order 0."""
    name = name.strip()
    ind1 = "1" if "," in name else "0"
    return Field(tag, Indicators(ind1, " "), [Subfield("a", name)])


def _punctuate(value: str, mark: str) -> str:
    """Append ISBD punctuation `mark` to `value` unless it already ends with it."""
    value = value.strip()
    if mark == "." and value.endswith((".", "?", "!")):
        return value
    return value if value.endswith(mark.strip()) else f"{value}{mark}"


def build_record(
    title: str,
    *,
    subtitle: str | None = None,
    responsibility: str | None = None,
    authors: Iterable[str] = (),
    isbn: str | Iterable[str] | None = None,
    publisher: str | None = None,
    place: str | None = None,
    year: int | str | None = None,
    edition: str | None = None,
    language: str = "vie",
    pages: str | None = None,
    dimensions: str | None = None,
    classification: str | None = None,
    ddc_edition: str = "23",
    subjects: Iterable[str] = (),
    series: str | None = None,
    series_number: str | None = None,
    notes: Iterable[str] = (),
    control_number: str | None = None,
    control_number_source: str | None = None,
    country: str = "vm ",
    today: dt.date | None = None,
) -> Record:
    """Build a valid MARC21 bibliographic record (UTF-8, AACR2/ISBD punctuation) from simple fields."""
    title = (title or "").strip()
    if not title:
        raise ValueError("a title is required")
    language = (language or "vie").strip().lower()
    if len(language) != 3 or not language.isalpha() or not language.isascii():
        raise ValueError(f"language must be a 3-letter ISO 639-2 code, not {language!r}")
    year_text = str(year).strip() if year is not None and str(year).strip() else None
    if year_text is not None and not (year_text.isdigit() and len(year_text) == 4):
        raise ValueError(f"year must be 4 digits, not {year!r}")
    if len(country) not in (2, 3) or not country.strip().isalpha():
        raise ValueError(f"country must be a MARC country code, not {country!r}")
    today = today or dt.date.today()

    record = Record()
    record.leader = Leader("     nam a22     7i 4500")
    fields: list[Field] = []
    if control_number:
        fields.append(Field("001", data=control_number.strip()))
    if control_number_source:
        fields.append(Field("003", data=control_number_source.strip()))
    date_part = f"s{year_text}    " if year_text else "nuuuuuuuu"
    # 00-05 date entered, 06-14 date type and dates, 15-17 place, 18-21 illustrations,
    # 22 audience, 23 form, 24-27 contents, 28 government, 29 conference, 30 festschrift,
    # 31 index, 32 undefined, 33 literary form, 34 biography, 35-37 language, 38 modified,
    # 39 cataloguing source ("d": other).
    f008 = f"{today:%y%m%d}{date_part}{country:<3}" + " " * 11 + f"000 0 {language} d"
    fields.append(Field("008", data=f008))
    isbns = [isbn] if isinstance(isbn, str) else list(isbn or ())
    for value in isbns:
        if value and value.strip():
            fields.append(Field("020", Indicators(" ", " "), [Subfield("a", value.strip())]))
    if classification and classification.strip():
        fields.append(
            Field(
                "082",
                Indicators("0", "4"),
                [Subfield("a", classification.strip()), Subfield("2", ddc_edition)],
            )
        )
    names = [a.strip() for a in authors if a and a.strip()]
    if names:
        fields.append(_name_field("100", names[0]))
    subs = []
    has_b = bool(subtitle and subtitle.strip())
    has_c = bool(responsibility and responsibility.strip())
    subs.append(Subfield("a", _punctuate(title, " :" if has_b else (" /" if has_c else "."))))
    if has_b:
        subs.append(Subfield("b", _punctuate(subtitle or "", " /" if has_c else ".")))
    if has_c:
        subs.append(Subfield("c", _punctuate(responsibility or "", ".")))
    fields.append(Field("245", Indicators("1" if names else "0", "0"), subs))
    if edition and edition.strip():
        fields.append(Field("250", Indicators(" ", " "), [Subfield("a", _punctuate(edition, "."))]))
    imprint = []
    has_pub = bool(publisher and publisher.strip())
    if place and place.strip():
        imprint.append(Subfield("a", _punctuate(place, " :" if has_pub else ",")))
    if has_pub:
        imprint.append(Subfield("b", _punctuate(publisher or "", "," if year_text else ".")))
    if year_text:
        imprint.append(Subfield("c", f"{year_text}."))
    if imprint:
        fields.append(Field("260", Indicators(" ", " "), imprint))
    physical = []
    if pages and pages.strip():
        physical.append(Subfield("a", _punctuate(pages, " ;") if dimensions else pages.strip()))
    if dimensions and dimensions.strip():
        physical.append(Subfield("c", dimensions.strip()))
    if physical:
        fields.append(Field("300", Indicators(" ", " "), physical))
    if series and series.strip():
        series_subs = [Subfield("a", series.strip() + (" ;" if series_number else ""))]
        if series_number:
            series_subs.append(Subfield("v", str(series_number).strip()))
        fields.append(Field("490", Indicators("0", " "), series_subs))
    for note in notes:
        if note and note.strip():
            fields.append(Field("500", Indicators(" ", " "), [Subfield("a", _punctuate(note, "."))]))
    for subject in subjects:
        parts = [p.strip() for p in (subject or "").split("--") if p.strip()]
        if parts:
            sub_list = [Subfield("a", parts[0])] + [Subfield("x", p) for p in parts[1:]]
            fields.append(Field("650", Indicators(" ", "4"), sub_list))
    for name in names[1:]:
        fields.append(_name_field("700", name))
    record.fields = fields
    return record
