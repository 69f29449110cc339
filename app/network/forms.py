"""Forms for the library network: a site, and the CSV import."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.network.services import MAX_LENGTHS


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def int_or_none(value) -> int | None:
    """Coerce a select's value to an int, or None for the empty choice."""
    if value in (None, "", "None"):
        return None
    return int(value)


class SiteForm(FlaskForm):
    """Create or edit a library or rotation point."""

    code = StringField(
        _l("Code"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=MAX_LENGTHS["code"])],
    )
    name = StringField(
        _l("Name"),
        filters=[_strip],
        validators=[DataRequired(), Length(max=MAX_LENGTHS["name"])],
    )
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    admin_unit_id = SelectField(_l("Administrative unit"), coerce=int_or_none)
    unit_since = DateField(_l("The new administrative unit applies from"), validators=[Optional()])
    served_by_id = SelectField(_l("Served by (library)"), coerce=int_or_none)
    address = StringField(
        _l("Address"), filters=[_strip], validators=[Optional(), Length(max=MAX_LENGTHS["address"])]
    )
    contact_person = StringField(
        _l("Person in charge"),
        filters=[_strip],
        validators=[Optional(), Length(max=MAX_LENGTHS["contact_person"])],
    )
    phone = TelField(_l("Phone"), filters=[_strip], validators=[Optional(), Length(max=MAX_LENGTHS["phone"])])
    capacity = IntegerField(
        _l("Capacity (books)"), validators=[Optional(), NumberRange(min=0, max=10_000_000)]
    )
    is_active = BooleanField(_l("Active"), default=True)
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_LENGTHS["notes"])])


IMPORT_MODE_CHOICES = [
    SelectChoice("upsert", _l("Update the existing site")),
    SelectChoice("create", _l("Report the row as bad")),
]


class ImportForm(FlaskForm):
    """Upload a CSV file of sites."""

    file = FileField(_l("CSV file"), validators=[FileRequired(message=_l("Choose a CSV file."))])
    mode = SelectField(_l("When a code already exists"), choices=IMPORT_MODE_CHOICES, default="upsert")
    skip_bad = BooleanField(_l("Import the good rows and skip the bad ones"))
    check_only = BooleanField(_l("Only check the file; import nothing"))
    unit_since = DateField(_l("A changed administrative unit applies from"), validators=[Optional()])
