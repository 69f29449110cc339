"""Rotation web forms (the web edge); each helper keeps its forms in its own headed section."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

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
