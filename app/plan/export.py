"""The progress table as CSV and XLSX (pure: the caller passes the translated headings)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from app.plan.progress import Progress


def table(progress: Progress, headings: list[str], label: Callable[[str], str]) -> list[list]:
    """Return the progress as rows: headings, then one row per indicator with numbers as numbers.

    Columns: code, indicator, unit, target, months 1–12, total, % done, expected by now, needed per month.
    """
    rows: list[list] = [headings]
    for row in progress.rows:
        rows.append(
            [
                row.indicator.value,
                label(row.indicator.label),
                label(row.indicator.unit),
                row.target,
                *row.monthly,
                row.total,
                None if row.percent is None else round(row.percent, 1),
                None if row.expected_now is None else round(row.expected_now),
                None if row.needed_per_month is None else round(row.needed_per_month),
            ]
        )
    return rows


def to_csv(rows: list[list]) -> bytes:
    """Return the rows as UTF-8 CSV with a byte-order mark (so that Excel reads the Vietnamese)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list], title: str, sheet_name: str = "Progress") -> bytes:
    """Return the rows as an XLSX workbook: a title line, then the table with bold headings."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name[:31]
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    for row in rows:
        sheet.append(row)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "D3"
    widths = {1: 20, 2: 42, 3: 12}
    for col in range(1, len(rows[0]) + 1):
        sheet.column_dimensions[get_column_letter(col)].width = widths.get(col, 11)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
