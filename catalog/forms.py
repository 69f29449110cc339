"""Catalogue forms: the simple record form and its mapping to MARC, the MARC editor, copies, series.

The WTForms classes are the web edge. The functions below them are plain (no Flask): they turn a
record into the simple form's values and back (an edit rebuilds only the fields whose form values
changed and keeps every other field: 880, 9XX, local tags), and they parse and change the MARC
editor's rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from pymarc import Field, Indicators, Leader, Record, Subfield
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.errors import N_
from app.text import nfc
from catalog import marc
from catalog.models import ItemStatus

# --- choices ----------------------------------------------------------------------------------

LANGUAGES = {
    "vie": N_("Vietnamese"),
    "eng": N_("English"),
    "fra": N_("French"),
    "rus": N_("Russian"),
    "chi": N_("Chinese"),
    "tha": N_("Thai"),
    "tai": N_("Tai languages (Thái of Sơn La)"),
    "hmn": N_("Hmong"),
    "lao": N_("Lao"),
    "khm": N_("Khmer"),
    "ger": N_("German"),
    "jpn": N_("Japanese"),
    "kor": N_("Korean"),
    "mul": N_("Multiple languages"),
    "und": N_("Undetermined"),
}

ITEM_SOURCES = {
    "purchase": N_("Purchase"),
    "donation": N_("Donation"),
    "legal_deposit": N_("Legal deposit"),
    "exchange": N_("Exchange"),
    "programme": N_("Programme funds"),
}

NEW_ITEM_STATUSES = (ItemStatus.IN_PROCESSING, ItemStatus.AVAILABLE)
MAX_COPIES = 500


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def int_or_none(value) -> int | None:
    """Coerce a select's value to an int, or None for the empty choice."""
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def lines(text: str | None) -> list[str]:
    """Return the non-empty, stripped, NFC lines of a text area."""
    return [nfc(line).strip() for line in (text or "").splitlines() if line.strip()]


# --- WTForms ----------------------------------------------------------------------------------


class RecordForm(FlaskForm):
    """The simple cataloguing form: the common fields, no MARC tags."""

    title = StringField(_l("Title"), filters=[_strip], validators=[DataRequired(), Length(max=1000)])
    subtitle = StringField(
        _l("Other title information (subtitle)"), filters=[_strip], validators=[Length(max=1000)]
    )
    responsibility = StringField(
        _l("Statement of responsibility"), filters=[_strip], validators=[Length(max=1000)]
    )
    authors = TextAreaField(
        _l("Authors (one per line, the main author first)"), validators=[Length(max=5000)]
    )
    isbns = TextAreaField(_l("ISBN (one per line)"), validators=[Length(max=1000)])
    publisher = StringField(_l("Publisher"), filters=[_strip], validators=[Length(max=500)])
    place = StringField(_l("Place of publication"), filters=[_strip], validators=[Length(max=300)])
    year = StringField(
        _l("Year of publication"),
        filters=[_strip],
        validators=[Optional(), Regexp(r"^\d{4}$", message=_l("Write the year with 4 digits."))],
    )
    edition = StringField(_l("Edition"), filters=[_strip], validators=[Length(max=300)])
    language = SelectField(_l("Language"), default="vie")
    pages = StringField(_l("Extent (pages)"), filters=[_strip], validators=[Length(max=300)])
    dimensions = StringField(_l("Size"), filters=[_strip], validators=[Length(max=100)])
    classification = StringField(_l("DDC classification"), filters=[_strip], validators=[Length(max=100)])
    subjects = TextAreaField(
        _l("Subjects (one per line; subdivisions after --)"), validators=[Length(max=5000)]
    )
    series = StringField(_l("Series"), filters=[_strip], validators=[Length(max=500)])
    series_number = StringField(_l("Number in the series"), filters=[_strip], validators=[Length(max=50)])
    notes = TextAreaField(_l("Notes (one per line)"), validators=[Length(max=5000)])
    version = HiddenField()
    # Copies added together with a new record (optional).
    copies_count = IntegerField(
        _l("Add copies now"), validators=[Optional(), NumberRange(min=0, max=MAX_COPIES)], default=0
    )
    copies_sequence_id = SelectField(_l("Accession-number series"), coerce=int_or_none)
    copies_call_number = StringField(
        _l("Call number (empty: class number and author mark)"),
        filters=[_strip],
        validators=[Length(max=120)],
    )
    copies_location = StringField(_l("Location"), filters=[_strip], validators=[Length(max=120)])


class MarcEditorForm(FlaskForm):
    """The MARC editor's fixed part (CSRF, the version being edited); its rows are parsed by hand."""

    version = HiddenField()


class ItemsForm(FlaskForm):
    """Add one or many copies of a record in one action."""

    count = IntegerField(
        _l("Number of copies"), validators=[Optional(), NumberRange(min=1, max=MAX_COPIES)], default=1
    )
    library_id = SelectField(_l("Library"), coerce=int_or_none, validators=[DataRequired()])
    sequence_id = SelectField(_l("Accession-number series"), coerce=int_or_none)
    accession_numbers = TextAreaField(
        _l("Or type the accession numbers (one per line)"), validators=[Length(max=20_000)]
    )
    barcode = StringField(_l("Barcode (one copy only)"), filters=[_strip], validators=[Length(max=64)])
    class_number = StringField(_l("Class number"), filters=[_strip], validators=[Length(max=60)])
    author_mark = StringField(_l("Author mark"), filters=[_strip], validators=[Length(max=30)])
    call_number = StringField(
        _l("Call number (empty: class number and author mark)"),
        filters=[_strip],
        validators=[Length(max=120)],
    )
    location = StringField(_l("Location"), filters=[_strip], validators=[Length(max=120)])
    price_vnd = StringField(_l("Price (VND)"), filters=[_strip], validators=[Length(max=20)])
    source = SelectField(_l("Source"), default="purchase")
    status = SelectField(_l("Status"), default=ItemStatus.IN_PROCESSING.value)
    notes = TextAreaField(_l("Notes"), validators=[Length(max=2000)])
    is_rare = BooleanField(_l("Rare or precious (never sent on rotation)"))
    is_local_studies = BooleanField(_l("Local-studies material (never sent on rotation)"))
    # How many copies the record had when the form was opened: recognises a form sent twice.
    copies_before = HiddenField()


class ItemForm(FlaskForm):
    """Edit one copy; the status offers only the allowed next statuses."""

    accession_number = StringField(
        _l("Accession number"), filters=[_strip], validators=[DataRequired(), Length(max=40)]
    )
    barcode = StringField(_l("Barcode"), filters=[_strip], validators=[Length(max=64)])
    class_number = StringField(_l("Class number"), filters=[_strip], validators=[Length(max=60)])
    author_mark = StringField(_l("Author mark"), filters=[_strip], validators=[Length(max=30)])
    call_number = StringField(
        _l("Call number (empty: class number and author mark)"),
        filters=[_strip],
        validators=[Length(max=120)],
    )
    library_id = SelectField(_l("Library"), coerce=int_or_none, validators=[DataRequired()])
    location = StringField(_l("Location"), filters=[_strip], validators=[Length(max=120)])
    status = SelectField(_l("Status"))
    price_vnd = StringField(_l("Price (VND)"), filters=[_strip], validators=[Length(max=20)])
    source = SelectField(_l("Source"))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=2000)])
    is_rare = BooleanField(_l("Rare or precious (never sent on rotation)"))
    is_local_studies = BooleanField(_l("Local-studies material (never sent on rotation)"))
    version = HiddenField()


class SequenceForm(FlaskForm):
    """Create an accession-number series for a library."""

    library_id = SelectField(_l("Library"), coerce=int_or_none, validators=[DataRequired()])
    prefix = StringField(
        _l("Prefix"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=16)],
        description="VN, VV, VL, TN",
    )
    width = IntegerField(_l("Digits"), default=5, validators=[DataRequired(), NumberRange(min=1, max=12)])
    next_number = IntegerField(
        _l("Next number"), default=1, validators=[DataRequired(), NumberRange(min=1, max=10**12 - 1)]
    )
    description = StringField(_l("Description"), filters=[_strip], validators=[Length(max=200)])


# --- the simple form <-> MARC (no Flask below this line) ---------------------------------------


@dataclass(slots=True)
class SimpleValues:
    """The simple form's values, compared group by group to decide what an edit rebuilds."""

    title: str = ""
    subtitle: str = ""
    responsibility: str = ""
    authors: list[str] = field(default_factory=list)
    isbns: list[str] = field(default_factory=list)
    publisher: str = ""
    place: str = ""
    year: str = ""
    edition: str = ""
    language: str = ""
    pages: str = ""
    dimensions: str = ""
    classification: str = ""
    subjects: list[str] = field(default_factory=list)
    series: str = ""
    series_number: str = ""
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> SimpleValues:
        """Build the values from form data (text areas split into lines, text in NFC)."""
        values = cls()
        for f in fields(cls):
            raw = data.get(f.name)
            if f.name in ("authors", "isbns", "subjects", "notes"):
                setattr(values, f.name, lines(raw if isinstance(raw, str) else ""))
            else:
                setattr(values, f.name, nfc(str(raw or "")).strip())
        values.language = values.language.lower()
        return values

    def as_form_data(self) -> dict[str, str]:
        """Return the values as a form's initial data (lists joined one per line)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = "\n".join(value) if isinstance(value, list) else value
        return out


# The groups of form fields and the MARC fields each one owns.
GROUPS = {
    "title": ("title", "subtitle", "responsibility"),
    "authors": ("authors",),
    "isbns": ("isbns",),
    "publication": ("place", "publisher", "year"),
    "edition": ("edition",),
    "language": ("language",),
    "physical": ("pages", "dimensions"),
    "classification": ("classification",),
    "subjects": ("subjects",),
    "series": ("series", "series_number"),
    "notes": ("notes",),
}

_END = " /:;,=+"


def clean_end(text: str | None, keep_period: bool = False) -> str:
    """Strip ISBD punctuation from the end of a subfield; a final full stop too unless told not to."""
    text = nfc(text or "").strip()
    while text and text[-1] in _END:
        text = text[:-1].rstrip()
    if not keep_period and text.endswith(".") and not text.endswith(".."):
        last_word = text[:-1].rsplit(" ", 1)[-1]
        # Keep the stop of an initial ("Nguyễn V.") or of initials such as "J.R.R."
        if len(last_word) > 1 and "." not in last_word:
            text = text[:-1].rstrip()
            while text and text[-1] in _END:
                text = text[:-1].rstrip()
    return text


def _first(record: Record, *tags: str) -> Field | None:
    for f in record.fields:
        if f.tag in tags and not f.control_field:
            return f
    return None


def _all(record: Record, *tags: str) -> list[Field]:
    return [f for f in record.fields if f.tag in tags and not f.control_field]


def _sub(f: Field | None, code: str) -> str:
    if f is None:
        return ""
    for c, v in f.subfields:
        if c == code:
            return v
    return ""


def name_text(f: Field) -> str:
    """The name of a 100/700 field as a cataloguer types it (name, numeration, titles, dates)."""
    return clean_end(" ".join(v.strip() for c, v in f.subfields if c in "abcdq" and v.strip()))


def subject_text(f: Field) -> str:
    """A subject field as one line: the heading, then each subdivision after ' -- '."""
    head = " ".join(v.strip() for c, v in f.subfields if c in "abcdqt" and v.strip())
    subdivisions = [clean_end(v) for c, v in f.subfields if c in "vxyz" and v.strip()]
    return " -- ".join(p for p in [clean_end(head), *subdivisions] if p)


def _publication_field(record: Record) -> Field | None:
    f = _first(record, "260")
    if f is not None:
        return f
    for f in _all(record, "264"):
        if f.indicators and f.indicators[1] == "1":
            return f
    return _first(record, "264")


def _control(record: Record, tag: str) -> Field | None:
    for f in record.fields:
        if f.tag == tag and f.control_field:
            return f
    return None


def simple_values(record: Record) -> SimpleValues:
    """Return the simple form's values for a stored record (what the edit form shows)."""
    v = SimpleValues()
    f245 = _first(record, "245")
    if f245 is not None:
        v.title = clean_end(_sub(f245, "a"))
        v.subtitle = clean_end(_sub(f245, "b"))
        v.responsibility = clean_end(_sub(f245, "c"))
    v.authors = [t for f in _all(record, "100", "700") if (t := name_text(f))]
    v.isbns = [t for f in _all(record, "020") if (t := clean_end(_sub(f, "a"), keep_period=True))]
    pub = _publication_field(record)
    v.place = clean_end(_sub(pub, "a"))
    v.publisher = clean_end(_sub(pub, "b"))
    fields_ = marc.extract(record)
    v.year = str(fields_.year) if fields_.year else ""
    f250 = _first(record, "250")
    v.edition = clean_end(" ".join(x for c, x in f250.subfields if c in "ab")) if f250 else ""
    v.language = fields_.language or ""
    f300 = _first(record, "300")
    v.pages = clean_end(_sub(f300, "a"), keep_period=True)
    v.dimensions = clean_end(_sub(f300, "c"), keep_period=True)
    v.classification = nfc(_sub(_first(record, "082"), "a")).strip()
    v.subjects = [t for f in record.fields if _is_subject(f) if (t := subject_text(f))]
    f490 = _first(record, "490", "440")
    v.series = clean_end(_sub(f490, "a"))
    v.series_number = clean_end(_sub(f490, "v"))
    v.notes = [t for f in _all(record, "500") if (t := clean_end(_sub(f, "a")))]
    return v


def _is_subject(f: Field) -> bool:
    return f.tag[:1] == "6" and f.tag.isdigit() and not f.control_field


def record_from_simple(v: SimpleValues, today: dt.date | None = None) -> Record:
    """Build a new MARC21 record from the simple form's values (raises ValueError on bad values)."""
    return marc.build_record(
        v.title,
        subtitle=v.subtitle or None,
        responsibility=v.responsibility or None,
        authors=v.authors,
        isbn=v.isbns,
        publisher=v.publisher or None,
        place=v.place or None,
        year=v.year or None,
        edition=v.edition or None,
        language=v.language or "vie",
        pages=v.pages or None,
        dimensions=v.dimensions or None,
        classification=v.classification or None,
        subjects=v.subjects,
        series=v.series or None,
        series_number=v.series_number or None,
        notes=v.notes,
        today=today,
    )


def changed_groups(old: SimpleValues, new: SimpleValues) -> list[str]:
    """Return the names of the groups whose values differ."""
    return [name for name, names in GROUPS.items() if any(getattr(old, n) != getattr(new, n) for n in names)]


def _place(record: Record, old: list[Field], new: list[Field]) -> None:
    """Replace the fields `old` by `new`: where the first old one was, or in tag order."""
    old_ids = {id(f) for f in old}
    position = None
    kept: list[Field] = []
    for f in record.fields:
        if id(f) in old_ids:
            if position is None:
                position = len(kept)
            continue
        kept.append(f)
    if position is None:
        for f in new:
            at = next((i for i, g in enumerate(kept) if g.tag > f.tag), len(kept))
            kept.insert(at, f)
    else:
        kept[position:position] = new
    record.fields = kept


def _built(built: Record, tag: str) -> list[Field]:
    return [f for f in built.fields if f.tag == tag]


def _retag(f: Field, tag: str) -> Field:
    if f.tag == tag:
        return f
    return Field(tag, Indicators(*f.indicators), list(f.subfields))


def _set_008(record: Record, today: dt.date, *, year: str | None = None, language: str | None = None) -> None:
    f008 = _control(record, "008")
    if f008 is None:
        data = next(f.data for f in marc.build_record("x", today=today).fields if f.tag == "008")
        f008 = Field("008", data=data)
        _place(record, [], [f008])
    data = (f008.data or "").ljust(40)
    if year is not None:
        data = data[:6] + (f"s{year}    " if year else "nuuuuuuuu") + data[15:]
    if language is not None:
        data = data[:35] + (language or "und").ljust(3)[:3] + data[38:]
    f008.data = data


def apply_simple(
    record: Record, old: SimpleValues, new: SimpleValues, *, now: dt.datetime | None = None
) -> list[str]:
    """Rebuild in `record` the fields of the groups the user changed; return those group names.

    Every other field stays exactly as stored. Within a changed group, a line left as it was (an
    author, an ISBN, a subject, a note) keeps its original field with all its subfields.
    """
    now = now or dt.datetime.now(dt.UTC)
    groups = changed_groups(old, new)
    if not groups:
        return []
    built = record_from_simple(replace(new, title=new.title or old.title or "?"), today=now.date())
    if "title" in groups:
        _apply_title(record, new, built, old)
    if "authors" in groups:
        _apply_authors(record, new)
    if "isbns" in groups:
        previous = {clean_end(_sub(f, "a"), keep_period=True): f for f in _all(record, "020")}
        _place(record, _all(record, "020"), [previous.get(i) or _new_020(i) for i in new.isbns])
    if "publication" in groups:
        _apply_publication(record, old, new, built)
        if old.year != new.year:
            _set_008(record, now.date(), year=new.year)
    if "edition" in groups:
        _place(record, _all(record, "250")[:1], _built(built, "250"))
    if "language" in groups:
        _set_008(record, now.date(), language=new.language)
    if "physical" in groups:
        _apply_physical(record, new)
    if "classification" in groups:
        _apply_classification(record, new, built)
    if "subjects" in groups:
        previous_subjects = {subject_text(f): f for f in record.fields if _is_subject(f)}
        new_fields = []
        for line in new.subjects:
            f = previous_subjects.get(line)
            if f is None:
                f = marc.build_record("x", subjects=[line]).get_fields("650")[0]
            new_fields.append(f)
        new_fields.sort(key=lambda f: f.tag)
        _place(record, [f for f in record.fields if _is_subject(f)], new_fields)
    if "series" in groups:
        _apply_series(record, new, built)
    if "notes" in groups:
        previous_notes = {clean_end(_sub(f, "a")): f for f in _all(record, "500")}
        note_fields = [previous_notes.get(n) or _built_note(n) for n in new.notes]
        _place(record, _all(record, "500"), note_fields)
    if "title" in groups or "authors" in groups:
        has_main = any(f.tag in ("100", "110", "111", "130") for f in record.fields)
        f245 = _first(record, "245")
        if f245 is not None:
            f245.indicators = Indicators("1" if has_main else "0", f245.indicators[1])
    f005 = _control(record, "005")
    if f005 is not None:
        f005.data = now.strftime("%Y%m%d%H%M%S.0")
    return groups


def _new_020(isbn: str) -> Field:
    return Field("020", Indicators(" ", " "), [Subfield("a", isbn)])


def _built_note(note: str) -> Field:
    return marc.build_record("x", notes=[note]).get_fields("500")[0]


def _apply_title(record: Record, new: SimpleValues, built: Record, old: SimpleValues) -> None:
    new245 = _built(built, "245")[0]
    f245 = _first(record, "245")
    if f245 is None:
        _place(record, [], [new245])
        return
    abc = {c: v for c, v in new245.subfields}
    linkage = [s for s in f245.subfields if s.code == "6"]
    others = [s for s in f245.subfields if s.code not in "abc6"]
    subs = [*linkage, Subfield("a", abc["a"]), *others]
    subs += [Subfield(c, abc[c]) for c in "bc" if c in abc]
    ind2 = f245.indicators[1] if f245.indicators else "0"
    if ind2.isdigit() and int(ind2) and old.title[: int(ind2)] != new.title[: int(ind2)]:
        ind2 = "0"
    _place(record, [f245], [Field("245", Indicators(f245.indicators[0], ind2), subs)])


def _apply_authors(record: Record, new: SimpleValues) -> None:
    previous: dict[str, Field] = {}
    for f in _all(record, "100", "700"):
        previous.setdefault(name_text(f), f)
    has_other_main = any(f.tag in ("110", "111", "130") for f in record.fields)
    wanted: list[Field] = []
    for i, name in enumerate(new.authors):
        tag = "100" if i == 0 and not has_other_main else "700"
        f = previous.get(name)
        if f is None:
            f = marc.build_record("x", authors=[name]).get_fields("100")[0]
        wanted.append(_retag(f, tag))
    _place(record, _all(record, "100"), [f for f in wanted if f.tag == "100"])
    _place(record, _all(record, "700"), [f for f in wanted if f.tag == "700"])


def _apply_publication(record: Record, old: SimpleValues, new: SimpleValues, built: Record) -> None:
    pub = _publication_field(record)
    made = _built(built, "260")
    subs = list(made[0].subfields) if made else []
    if pub is not None and old.year == new.year:
        # The year did not change: keep the date as written ("[2000]", "c1999").
        old_c = [s for s in pub.subfields if s.code == "c"]
        subs = [s for s in subs if s.code != "c"]
        if old_c and subs and subs[-1].value.endswith("."):
            subs[-1] = Subfield(subs[-1].code, subs[-1].value[:-1] + ",")
        subs += old_c
    if pub is None:
        if subs:
            _place(record, [], [Field("260", Indicators(" ", " "), subs)])
        return
    extra = [s for s in pub.subfields if s.code not in "abc"]
    if not subs and not extra:
        _place(record, [pub], [])
        return
    _place(record, [pub], [Field(pub.tag, Indicators(*pub.indicators), subs + extra)])


def _apply_physical(record: Record, new: SimpleValues) -> None:
    f300 = _first(record, "300")
    b = clean_end(_sub(f300, "b"), keep_period=True)
    e = clean_end(_sub(f300, "e"), keep_period=True)
    parts = [(c, v) for c, v in (("a", new.pages), ("b", b), ("c", new.dimensions), ("e", e)) if v]
    marks = {"b": " :", "c": " ;", "e": " +"}
    subs = []
    for i, (code, value) in enumerate(parts):
        nxt = parts[i + 1][0] if i + 1 < len(parts) else None
        subs.append(Subfield(code, f"{value}{marks[nxt]}" if nxt else value))
    new_fields = [Field("300", Indicators(" ", " "), subs)] if subs else []
    _place(record, [f300] if f300 is not None else [], new_fields)


def _apply_classification(record: Record, new: SimpleValues, built: Record) -> None:
    f082 = _first(record, "082")
    if f082 is None:
        _place(record, [], _built(built, "082"))
        return
    if not new.classification:
        _place(record, [f082], [])
        return
    subs = []
    done = False
    for s in f082.subfields:
        if s.code == "a" and not done:
            subs.append(Subfield("a", new.classification))
            done = True
        else:
            subs.append(s)
    if not done:
        subs.insert(0, Subfield("a", new.classification))
    _place(record, [f082], [Field("082", Indicators(*f082.indicators), subs)])


def _apply_series(record: Record, new: SimpleValues, built: Record) -> None:
    f490 = _first(record, "490", "440")
    made = _built(built, "490")
    if f490 is None or not made:
        _place(record, [f490] if f490 is not None else [], made)
        return
    extra = [s for s in f490.subfields if s.code not in "av"]
    subs = list(made[0].subfields)
    subs[1:1] = extra
    _place(record, [f490], [Field(f490.tag, Indicators(*f490.indicators), subs)])


# --- the MARC editor's rows (no Flask) -------------------------------------------------------------

_BLANKS = {"", " ", "#", "_", "\\"}
_ROW_KEY = re.compile(r"^f(\d+)_(tag|ind1|ind2|data|s(\d+)_(code|value))$")
NEW_LEADER = "     nam a22     7i 4500"


@dataclass(slots=True)
class EditorSubfield:
    """One subfield row: its code and value as typed."""

    code: str = ""
    value: str = ""


@dataclass(slots=True)
class EditorField:
    """One field row; `data` is the content of a control field (None for a data field)."""

    tag: str = ""
    ind1: str = " "
    ind2: str = " "
    data: str | None = None
    subfields: list[EditorSubfield] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def is_control(self) -> bool:
        return self.data is not None


@dataclass(slots=True)
class EditorState:
    """The MARC editor's content: the leader, the field rows and the problems found."""

    leader: str = NEW_LEADER
    fields: list[EditorField] = field(default_factory=list)
    leader_problems: list[str] = field(default_factory=list)
    general_problems: list[str] = field(default_factory=list)

    @property
    def has_problems(self) -> bool:
        return bool(self.leader_problems or self.general_problems or any(f.problems for f in self.fields))


def is_control_tag(tag: str) -> bool:
    """True for 001-009 (and the 00X tags some systems use): fields with data and no subfields."""
    return len(tag) == 3 and tag.startswith("00")


def editor_state(record: Record) -> EditorState:
    """Return the editor rows of a record."""
    state = EditorState(leader=str(record.leader))
    for f in record.fields:
        if f.control_field:
            state.fields.append(EditorField(tag=f.tag, data=f.data or ""))
        else:
            ind = f.indicators or (" ", " ")
            state.fields.append(
                EditorField(
                    tag=f.tag,
                    ind1=ind[0],
                    ind2=ind[1],
                    subfields=[EditorSubfield(c, v) for c, v in f.subfields],
                )
            )
    return state


def new_record_state(today: dt.date | None = None) -> EditorState:
    """Return the editor rows for a new book record: a leader, an 008 and the usual empty fields."""
    built = marc.build_record("x", today=today)
    state = EditorState(leader=str(built.leader))
    state.fields.append(EditorField(tag="008", data=built.get_fields("008")[0].data))
    for tag, ind1, ind2, codes in (
        ("020", " ", " ", "a"),
        ("082", "0", "4", "a2"),
        ("100", "0", " ", "a"),
        ("245", "1", "0", "abc"),
        ("250", " ", " ", "a"),
        ("260", " ", " ", "abc"),
        ("300", " ", " ", "ac"),
        ("650", " ", "4", "a"),
    ):
        subs = [EditorSubfield(c, "23" if (tag, c) == ("082", "2") else "") for c in codes]
        state.fields.append(EditorField(tag=tag, ind1=ind1, ind2=ind2, subfields=subs))
    return state


def _indicator(value: str | None) -> str:
    value = value if value is not None else " "
    return " " if value in _BLANKS else value


def parse_editor(form: Mapping[str, str]) -> EditorState:
    """Read the editor rows from posted form data (keys f<i>_tag, f<i>_s<j>_code, …), in row order."""
    rows: dict[int, dict] = {}
    for key in form:
        m = _ROW_KEY.match(key)
        if not m:
            continue
        i = int(m.group(1))
        row = rows.setdefault(i, {"subs": {}})
        if m.group(3) is not None:
            row["subs"].setdefault(int(m.group(3)), {})[m.group(4)] = form.get(key) or ""
        else:
            row[m.group(2)] = form.get(key)
    leader = (form.get("leader") or "").replace("#", " ")
    state = EditorState(leader=leader)
    for i in sorted(rows)[:10_000]:
        row = rows[i]
        tag = (row.get("tag") or "").strip()
        subs = [
            EditorSubfield((s.get("code") or "").strip().lstrip("$"), s.get("value") or "")
            for _, s in sorted(row["subs"].items())
        ]
        if is_control_tag(tag):
            data = row.get("data")
            if data is None:  # a data row turned into a control field: keep what was typed
                data = "".join(s.value for s in subs)
            state.fields.append(EditorField(tag=tag, data=data))
        else:
            if not subs and row.get("data"):
                subs = [EditorSubfield("a", row["data"] or "")]
            state.fields.append(
                EditorField(
                    tag=tag,
                    ind1=_indicator(row.get("ind1")),
                    ind2=_indicator(row.get("ind2")),
                    subfields=subs,
                )
            )
    return state


def apply_action(state: EditorState, action: str, new_tag: str = "") -> None:
    """Change the rows as a button asked: add/remove/move a field or a subfield."""
    name, _, rest = (action or "").partition(":")
    args = [int(x) for x in rest.split(":") if x.isdigit()]
    rows = state.fields
    if name == "add_field":
        tag = (new_tag or "").strip()
        if is_control_tag(tag):
            row = EditorField(tag=tag, data="")
        else:
            row = EditorField(tag=tag, subfields=[EditorSubfield("a", "")])
        at = next((i for i, f in enumerate(rows) if tag and f.tag > tag), len(rows)) if tag else len(rows)
        rows.insert(at, row)
        return
    if not args or not 0 <= args[0] < len(rows):
        return
    i = args[0]
    if name == "remove_field":
        del rows[i]
    elif name == "field_up" and i > 0:
        rows[i - 1], rows[i] = rows[i], rows[i - 1]
    elif name == "field_down" and i + 1 < len(rows):
        rows[i + 1], rows[i] = rows[i], rows[i + 1]
    elif name == "add_subfield" and not rows[i].is_control:
        rows[i].subfields.append(EditorSubfield("", ""))
    elif len(args) == 2 and not rows[i].is_control:
        subs = rows[i].subfields
        j = args[1]
        if not 0 <= j < len(subs):
            return
        if name == "remove_subfield":
            del subs[j]
        elif name == "subfield_up" and j > 0:
            subs[j - 1], subs[j] = subs[j], subs[j - 1]
        elif name == "subfield_down" and j + 1 < len(subs):
            subs[j + 1], subs[j] = subs[j], subs[j + 1]


def state_to_record(state: EditorState) -> tuple[Record, list[int]]:
    """Build a pymarc record from the rows; also return, per MARC field, the row it came from.

    Rows left empty (no tag and no content, or a data field whose subfields are all empty) are
    skipped, so the template rows of a new record need not be deleted by hand.
    """
    record = Record()
    # A leader of the wrong length stays a plain string, so that validation can name the problem.
    record.leader = Leader(state.leader) if len(state.leader) == 24 else state.leader
    out: list[Field] = []
    rows: list[int] = []
    for i, row in enumerate(state.fields):
        subs = [s for s in row.subfields if s.code or s.value]
        if row.is_control:
            if not row.tag and not row.data:
                continue
            out.append(Field(row.tag, data=row.data or ""))
        else:
            if not any(s.value for s in subs):
                continue
            out.append(
                Field(row.tag, Indicators(row.ind1, row.ind2), [Subfield(s.code, s.value) for s in subs])
            )
        rows.append(i)
    record.fields = out
    return record, rows


def check_state(state: EditorState) -> Record | None:
    """Validate the rows; attach each problem to its row (or the leader); return the record if valid."""
    state.leader_problems.clear()
    state.general_problems.clear()
    for row in state.fields:
        row.problems.clear()
    record, rows = state_to_record(state)
    problems = [p for p in marc.validate(record) if p.severity == "error"]
    for p in problems:
        text = gettext(p.msgid, **dict(p.params))  # in the user's language
        if p.tag == "LDR":
            state.leader_problems.append(text)
            continue
        matched = [rows[n] for n, f in enumerate(record.fields) if f.tag == p.tag]
        if not matched:
            state.general_problems.append(f"{p.tag}: {text}")
        for i in matched:
            if text not in state.fields[i].problems:
                state.fields[i].problems.append(text)
    return None if problems else record


def same_marc(a: Record, b: Record) -> bool:
    """True when two records have the same leader (bar length and base address) and fields."""
    return marc.records_equal(a, b)
