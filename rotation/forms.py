"""Rotation web forms (the web edge); each helper keeps its forms in its own headed section."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

# === batches ===================================================================================


class BatchForm(FlaskForm):
    """A new batch: its library, target size, boxes and seal."""

    home_library_id = SelectField(_l("Library"), coerce=int, validators=[DataRequired()])
    target_size = IntegerField(_l("Target size (copies)"), default=200, validators=[NumberRange(1, 10_000)])
    box_count = IntegerField(_l("Number of boxes"), default=1, validators=[NumberRange(1, 100)])
    seal_number = StringField(_l("Seal number"), validators=[Optional(), Length(max=64)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class ScanForm(FlaskForm):
    """One scanned or typed accession number or barcode."""

    code = StringField(_l("Accession number or barcode"), validators=[DataRequired(), Length(max=64)])


class PasteForm(FlaskForm):
    """A pasted list of accession numbers or barcodes, or a text/CSV file of them (first column)."""

    codes = TextAreaField(_l("List of accession numbers or barcodes"), validators=[Optional()])
    file = FileField(_l("Or a text or CSV file (numbers in the first column)"))


class ReadyForm(FlaskForm):
    """Packing a batch: seal number and boxes."""

    seal_number = StringField(_l("Seal number"), validators=[DataRequired(), Length(max=64)])
    box_count = IntegerField(_l("Number of boxes"), default=1, validators=[NumberRange(1, 100)])


class SplitForm(FlaskForm):
    """The copies to move into a new batch."""

    item_ids = SelectMultipleField(_l("Copies to move"), coerce=int, validate_choice=False)


class MergeForm(FlaskForm):
    """Another batch whose copies come into this one."""

    other = SelectField(_l("Batch to merge into this one"), validators=[DataRequired()])


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token (remove a copy, reopen, close)."""


# === end of batches ============================================================================


# === filling (search result, automatic fill) ===================================================


class FillForm(FlaskForm):
    """Filling a batch automatically by rules: size, class and language mix, children, destination."""

    size = IntegerField(_l("Number of copies to add"), validators=[Optional(), NumberRange(1, 2_000)])
    class_mode = SelectField(
        _l("Class mix"),
        choices=[
            SelectChoice("any", _l("Any class")),
            SelectChoice("even", _l("Spread evenly over the DDC main classes")),
            SelectChoice("custom", _l("As typed below")),
        ],
        default="any",
    )
    class_mix = StringField(_l("DDC main classes with percentages"), validators=[Optional(), Length(max=200)])
    languages = StringField(_l("Languages"), default="vie", validators=[Optional(), Length(max=200)])
    children_percent = IntegerField(
        _l("Share of children's books (%)"), validators=[Optional(), NumberRange(0, 100)]
    )
    destination_id = SelectField(_l("Destination point"), coerce=int, default=0)
    last_rotations = IntegerField(
        _l("Leave out titles it had in its last N rotations"),
        default=3,
        validators=[Optional(), NumberRange(0, 50)],
    )
    allow_duplicates = BooleanField(_l("Allow two copies of the same title"))
    strict = BooleanField(_l("Keep the shares strictly (add fewer copies rather than break them)"))
    seed = IntegerField(widget=HiddenInput(), validators=[Optional(), NumberRange(0, 2**31 - 1)])


class AddChosenForm(FlaskForm):
    """Copies chosen by id: ticked in a search result, or shown in a fill preview."""

    item_ids = SelectMultipleField(_l("Copies"), coerce=int, validate_choice=False)
    shown_ids = SelectMultipleField(coerce=int, validate_choice=False)


# === end of filling ============================================================================
