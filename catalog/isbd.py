"""A readable ISBD-like description of a MARC21 record, for the record page (no database, no Flask).

The areas follow ISBD order: title proper : other title information / statement of responsibility.
— edition. — place : publisher, date. — physical description. — (series). Records catalogued under
AACR2 carry the ISBD punctuation inside their subfields; records without it get the punctuation
added between subfields. Everything is NFC; escaping is the template's job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pymarc import Field, Record

from app.text import nfc

# Punctuation that may already end a subfield (AACR2 records) or that we put between subfields.
_END_MARKS = " /:;,=+"
_AREA_SEP = ". — "

# Per tag: the subfields shown, and the mark that goes before a subfield when the text before it
# does not already end with punctuation.
_TITLE = ("245", "abnphc", {"b": " : ", "c": " / ", "n": ". ", "p": ", ", "h": " "})
_EDITION = ("250", "ab", {"b": " / "})
_PUBLICATION = ("260", "abc", {"a": " ; ", "b": " : ", "c": ", "})
_PHYSICAL = ("300", "abce", {"b": " : ", "c": " ; ", "e": " + "})
_SERIES = ("490", "avx", {"v": " ; ", "x": ", "})
_NAME_CODES = "abcdqnt"
_NOTE_TAGS = ("500", "501", "502", "504", "505", "508", "511", "518", "520", "521", "546", "586")
_CLASS_TAGS = {"082": "DDC", "084": None, "080": "UDC", "050": "LCC"}


@dataclass(slots=True)
class IsbdView:
    """The parts of a record's readable description, each already joined into display text."""

    heading: str = ""
    areas: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    added_entries: list[str] = field(default_factory=list)
    classifications: list[tuple[str, str]] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)
    issns: list[str] = field(default_factory=list)
    alternate_script: list[tuple[str, str]] = field(default_factory=list)

    @property
    def description(self) -> str:
        """The areas joined with ISBD's '. — ' (an area ending in a full stop keeps only ' — ')."""
        return join_areas(self.areas)

    def text(self) -> str:
        """The whole description as plain text, one part per line."""
        lines = [self.heading, self.description]
        lines += self.notes
        if self.subjects:
            lines.append("; ".join(self.subjects))
        lines += [f"{scheme} {number}".strip() for scheme, number in self.classifications]
        lines += [f"ISBN {isbn}" for isbn in self.isbns]
        lines += [f"ISSN {issn}" for issn in self.issns]
        return "\n".join(line for line in lines if line)


def _trim_end(text: str) -> str:
    """Strip the punctuation and spaces that end a subfield or an area (not a final full stop)."""
    text = text.strip()
    while text and text[-1] in _END_MARKS:
        text = text[:-1].rstrip()
    return text


def join_subfields(f: Field, codes: str, marks: dict[str, str]) -> str:
    """Join the wanted subfields of `f` in order, adding ISBD punctuation where the record has none."""
    out = ""
    for code, value in f.subfields:
        if code not in codes:
            continue
        value = nfc(value).strip()
        if not value:
            continue
        if not out:
            out = value
            continue
        mark = marks.get(code, " ")
        before = out.rstrip()
        mark_char = mark.strip()[:1]
        # AACR2 records carry the mark at the end of the previous subfield (or, rarely, at the start
        # of this one); a full stop alone may end an abbreviation ("143 tr.") and is no mark.
        if before[-1:] in _END_MARKS or value[:1] in _END_MARKS or (mark_char and before.endswith(mark_char)):
            out = f"{before} {value}"
        else:
            out = f"{before}{mark}{value}"
    return _trim_end(out)


def trim_name(text: str) -> str:
    """Strip the punctuation ending a name heading, keeping the full stop of an initial ("Smith, J.")."""
    text = _trim_end(text)
    if text.endswith(".") and not text.endswith(".."):
        last = text[:-1].rsplit(" ", 1)[-1]
        if len(last) > 1 and "." not in last:
            text = _trim_end(text[:-1])
    return text


def join_areas(areas: Iterable[str]) -> str:
    """Join ISBD areas with '. — ', or ' — ' after an area that already ends with a full stop."""
    out = ""
    for area in areas:
        area = _trim_end(area)
        if not area:
            continue
        if not out:
            out = area
        elif out.endswith((".", "?", "!")):
            out = f"{out} — {area}"
        else:
            out = f"{out}{_AREA_SEP}{area}"
    if out and not out.endswith((".", "?", "!", ")")):
        out += "."
    return out


def _fields(record: Record, *tags: str) -> list[Field]:
    return [f for f in record.fields if f.tag in tags and not f.control_field]


def _area(record: Record, spec: tuple[str, str, dict[str, str]], tags: tuple[str, ...] = ()) -> list[str]:
    tag, codes, marks = spec
    return [t for f in _fields(record, tag, *tags) if (t := join_subfields(f, codes, marks))]


def _subject(f: Field) -> str:
    main = [nfc(v).strip() for c, v in f.subfields if c in "abcdqt" and v.strip()]
    subdivisions = [_trim_end(nfc(v)) for c, v in f.subfields if c in "vxyz" and v.strip()]
    head = _trim_end(" ".join(main))
    return " -- ".join(p.rstrip(".") for p in [head, *subdivisions] if p.rstrip("."))


def _linked_tag(f: Field) -> str:
    """Return the tag an 880 field stands for (from $6, e.g. '245-01/$1'), or '880'."""
    for code, value in f.subfields:
        if code == "6" and len(value) >= 3 and value[:3].isdigit():
            return value[:3]
    return "880"


def describe(record: Record) -> IsbdView:
    """Return the readable ISBD-like description of a bibliographic record."""
    view = IsbdView()
    for f in _fields(record, "100", "110", "111", "130"):
        view.heading = trim_name(join_subfields(f, _NAME_CODES, {}))
        break

    titles = _area(record, _TITLE)
    view.areas.extend(titles[:1])
    view.areas.extend(_area(record, _EDITION)[:1])
    publication = _area(record, _PUBLICATION)
    if not publication:
        publication = [
            t
            for f in _fields(record, "264")
            if f.indicators and f.indicators[1] in ("1", " ")
            if (t := join_subfields(f, "abc", _PUBLICATION[2]))
        ]
    view.areas.extend(publication[:1])
    view.areas.extend(_area(record, _PHYSICAL)[:1])
    series = _area(record, _SERIES, ("440",))
    if series:
        view.areas.append(" ".join(f"({_trim_end(s)})" for s in series))

    for f in record.fields:
        if f.control_field:
            continue
        if f.tag in _NOTE_TAGS:
            note = nfc(" ".join(v.strip() for c, v in f.subfields if c.isalpha() and v.strip()))
            if note:
                view.notes.append(note)
        elif f.tag[:1] == "6" and f.tag[1:].isdigit():
            heading = _subject(f)
            if heading and heading not in view.subjects:
                view.subjects.append(heading)
        elif f.tag in ("700", "710", "711", "730"):
            name = trim_name(join_subfields(f, _NAME_CODES, {}))
            if name:
                view.added_entries.append(name)
        elif f.tag in _CLASS_TAGS:
            number = " ".join(v.strip() for c, v in f.subfields if c in "ab" and v.strip())
            scheme = _CLASS_TAGS[f.tag]
            if scheme is None:
                source = " ".join(v for c, v in f.subfields if c == "2").strip()
                scheme = source.upper() if source else ""
            if number:
                view.classifications.append((scheme, nfc(number)))
        elif f.tag == "020":
            for code, value in f.subfields:
                if code == "a" and value.strip():
                    qualifier = " ".join(v.strip() for c, v in f.subfields if c == "q" and v.strip())
                    text = _trim_end(nfc(value))
                    view.isbns.append(f"{text} ({qualifier})" if qualifier else text)
        elif f.tag == "022":
            view.issns.extend(_trim_end(nfc(v)) for c, v in f.subfields if c == "a" and v.strip())
        elif f.tag == "880":
            text = _trim_end(nfc(" ".join(v.strip() for c, v in f.subfields if c != "6" and v.strip())))
            if text:
                view.alternate_script.append((_linked_tag(f), text))
    return view
