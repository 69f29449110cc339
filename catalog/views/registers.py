"""The registers page under /acquisitions/registers: choose library, register, period and format, download."""

from __future__ import annotations

import tempfile
from datetime import date

from flask import render_template, request, send_file
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import DataRequired

from app.errors import N_, DomainError, NotFound
from app.extensions import db
from app.security import staff_required
from app.timeutil import local_today
from app.web import flash_error
from catalog.acquisitions import queries, registers
from catalog.views import acq_bp

MIMETYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class RegisterForm(FlaskForm):
    """Which register to download (a GET form: nothing changes)."""

    class Meta:
        csrf = False

    library_id = SelectField(_l("Library"), validators=[DataRequired()])
    kind = SelectField(
        _l("Register"),
        choices=[
            SelectChoice("general", _l("General register")),
            SelectChoice("individual", _l("Individual register")),
        ],
        default="individual",
    )
    start = DateField(_l("From"), validators=[DataRequired()])
    end = DateField(_l("To"), validators=[DataRequired()])
    format = SelectField(
        _l("Format"), choices=[SelectChoice("pdf", "PDF"), SelectChoice("xlsx", "XLSX")], default="pdf"
    )


@acq_bp.route("/registers", endpoint="registers")
@staff_required
def registers_page():
    """Choose a register and download it as PDF or XLSX."""
    form = RegisterForm(request.args)
    libraries = queries.libraries(db.session)
    form.library_id.choices = [SelectChoice("", "—")] + [
        SelectChoice(str(s.id), f"{s.code} — {s.name}") for s in libraries
    ]
    if "library_id" not in request.args:
        today = local_today()
        form.start.data = date(today.year, 1, 1)
        form.end.data = date(today.year, 12, 31)
        return render_template("acquisitions/registers.html", form=form)
    if form.validate():
        try:
            library = next((s for s in libraries if str(s.id) == form.library_id.data), None)
            if library is None:
                raise NotFound(N_("No such library."))
            register = registers.build_register(
                db.session, library.id, form.kind.data, form.start.data, form.end.data
            )
            # A spooled file keeps memory flat for a large register; send_file closes it once sent.
            out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)  # noqa: SIM115
            try:
                registers.write_register(register, form.format.data, out)
            except BaseException:
                out.close()
                raise
            out.seek(0)
        except DomainError as err:
            flash_error(err, form)
        else:
            name = registers.file_name(
                form.kind.data, library.code, form.start.data, form.end.data, form.format.data
            )
            return send_file(
                out, mimetype=MIMETYPES[form.format.data], as_attachment=True, download_name=name, max_age=0
            )
    return render_template("acquisitions/registers.html", form=form), 400
