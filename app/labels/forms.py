"""Forms of the label pages, and a mixin for other packages' print forms (template, start, printer)."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.labels.engine import MAX_OFFSET, Template, custom_template
from app.labels.presets import PRESETS, get_template
from app.labels.queries import get_printer, list_printers
from app.labels.services import MAX_NAME, MAX_NOTES

CUSTOM = "custom"


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _int_or_none(value) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)


def template_choices(*, with_custom: bool = True) -> list[tuple[str, str]]:
    """(name, translated title) of every preset, plus the custom size."""
    choices = [(name, gettext(template.title)) for name, template in PRESETS.items()]
    if with_custom:
        choices.append((CUSTOM, gettext("Custom size (enter it below)")))
    return choices


class LabelOptionsMixin:
    """Fields to choose how labels print: template (or a custom size), start position, printer.

    Add it to a FlaskForm (`class MyForm(LabelOptionsMixin, FlaskForm)`), call
    `fill_label_choices(session)` before validating, then `label_template()` and `label_offset(session)`
    after; both raise LabelError / NotFound (DomainError) for `flash_error(err, form)`.
    """

    template = SelectField(_l("Label template"), default="a4-3x8")
    start_position = IntegerField(
        _l("Start at label"),
        default=1,
        validators=[Optional(), NumberRange(min=1, max=500)],
        description=_l("On a partly used sheet: the number of the first free label, counted row by row."),
    )
    printer_id = SelectField(_l("Printer"), coerce=_int_or_none, default=None)
    custom_width = DecimalField(
        _l("Label width (mm)"), places=None, validators=[Optional(), NumberRange(5, 300)]
    )
    custom_height = DecimalField(
        _l("Label height (mm)"), places=None, validators=[Optional(), NumberRange(5, 300)]
    )
    custom_columns = IntegerField(_l("Columns"), default=1, validators=[Optional(), NumberRange(1, 20)])
    custom_rows = IntegerField(_l("Rows"), default=1, validators=[Optional(), NumberRange(1, 40)])

    def fill_label_choices(self, session: Session, *, default_template: str | None = None) -> None:
        """Fill the template and printer choices (call before validate)."""
        self.template.choices = template_choices()
        printers = list_printers(session)
        self.printer_id.choices = [(None, gettext("No calibration"))] + [(p.id, p.name) for p in printers]
        if default_template and default_template in PRESETS and not self.template.raw_data:
            self.template.data = default_template

    def label_template(self) -> Template:
        """The chosen preset, or the custom size (raises LabelError naming the dimension)."""
        if self.template.data != CUSTOM:
            return get_template(self.template.data or "")
        return custom_template(
            label_width=float(self.custom_width.data or 0),
            label_height=float(self.custom_height.data or 0),
            columns=self.custom_columns.data or 1,
            rows=self.custom_rows.data or 1,
        )

    def label_start(self) -> int:
        """The 1-based start position (1 when left empty)."""
        return self.start_position.data or 1

    def label_offset(self, session: Session) -> tuple[float, float]:
        """The chosen printer's calibration offset in mm, (0, 0) without a printer."""
        if not self.printer_id.data:
            return (0.0, 0.0)
        return get_printer(session, self.printer_id.data).offset


class LabelOptionsForm(LabelOptionsMixin, FlaskForm):
    """Only the label options (for pages that print a fixed selection)."""


class PrinterForm(FlaskForm):
    """Create or edit a label printer and its calibration offset."""

    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=MAX_NAME)])
    offset_x = DecimalField(
        _l("Horizontal offset (mm)"),
        places=None,
        default=0,
        validators=[Optional(), NumberRange(-MAX_OFFSET, MAX_OFFSET)],
        description=_l("Positive moves the print to the right."),
    )
    offset_y = DecimalField(
        _l("Vertical offset (mm)"),
        places=None,
        default=0,
        validators=[Optional(), NumberRange(-MAX_OFFSET, MAX_OFFSET)],
        description=_l("Positive moves the print down."),
    )
    default_template = SelectField(_l("Usual label template"), default="")
    notes = TextAreaField(_l("Notes"), filters=[_strip], validators=[Optional(), Length(max=MAX_NOTES)])

    def fill_choices(self) -> None:
        """Fill the template choices (call before validate)."""
        self.default_template.choices = [("", gettext("None"))] + template_choices(with_custom=False)
