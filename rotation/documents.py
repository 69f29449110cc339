"""Printable rotation documents as Vietnamese A4 PDFs: handover record, packing list, return record.

The functions take plain dataclasses (no database, no Flask) and return PDF bytes. The wording is
fixed Vietnamese: these are the administrative forms of the rotation (Mẫu số 02 style), printed and
signed on paper whatever language the web interface shows.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.timeutil import local_today, to_local

FONT_DIR = Path(__file__).resolve().parent.parent / "app" / "fonts"
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
SIGN_HINT = "(Ký, ghi rõ họ tên)"

STATE_LABELS = {
    "expected": "Chưa kiểm đếm",
    "received": "Đã nhận",
    "missing": "Thiếu",
    "damaged": "Hư hỏng",
    "extra": "Thừa",
}
RESOLUTION_LABELS = {
    "found_later": "Tìm thấy sau",
    "charged_to_point": "Điểm luân chuyển bồi thường",
    "written_off_lost": "Xuất kho (mất)",
    "written_off_damaged": "Xuất kho (hư hỏng)",
    "returned_to_owner": "Trả lại đơn vị sở hữu",
}

# --- data ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """One side of a handover: a site and the person who represents it."""

    name: str
    representative: str = ""
    address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class CopyRow:
    """One copy in a document's list."""

    accession_number: str
    title: str
    call_number: str = ""
    note: str = ""


@dataclass(frozen=True)
class HandoverData:
    """What the handover record shows: both parties, the batch and its copies."""

    number: str
    batch_code: str
    day: date
    giver: Party
    receiver: Party
    copies: list[CopyRow]
    place: str = "Sơn La"
    box_count: int = 1
    seal_number: str = ""
    due_back_on: date | None = None


@dataclass(frozen=True)
class PackingData:
    """What the packing list of a batch shows: code, boxes, seal and the copies."""

    batch_code: str
    library: str
    day: date
    copies: list[CopyRow]
    box_count: int = 1
    seal_number: str = ""
    destination: str = ""
    due_back_on: date | None = None
    place: str = "Sơn La"


@dataclass(frozen=True)
class ReturnRow:
    """One copy of a return count with what happened to it and how it was settled."""

    accession_number: str
    title: str
    call_number: str
    state: str
    resolution: str | None = None
    note: str = ""


@dataclass(frozen=True)
class ReturnData:
    """What the return (reconciliation) record shows: counts and the differences with resolutions."""

    number: str
    batch_code: str
    day: date
    giver: Party
    receiver: Party
    expected: int
    rows: list[ReturnRow] = field(default_factory=list)
    place: str = "Sơn La"

    def count(self, state: str) -> int:
        """Return how many copies are in a line state."""
        return sum(1 for row in self.rows if row.state == state)

    @property
    def returned(self) -> int:
        """Copies of the batch physically back (received in good or damaged condition)."""
        return self.count("received") + self.count("damaged")


# --- building blocks ----------------------------------------------------------------------------


def register_fonts() -> None:
    """Register the DejaVu Sans fonts with reportlab (once)."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=10, leading=13)
    return {
        "base": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=11),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=9, leading=11),
        "center": ParagraphStyle("center", parent=base, alignment=TA_CENTER),
        "center_bold": ParagraphStyle("center_bold", parent=base, fontName=FONT_BOLD, alignment=TA_CENTER),
        "title": ParagraphStyle(
            "title", parent=base, fontName=FONT_BOLD, fontSize=14, leading=18, alignment=TA_CENTER
        ),
        "right": ParagraphStyle("right", parent=base, alignment=TA_RIGHT),
        "italic_right": ParagraphStyle("italic_right", parent=base, alignment=TA_RIGHT, fontSize=10),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text (escaped; newlines become line breaks)."""
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def date_line(place: str, day: date) -> str:
    """Return the Vietnamese place and date line, e.g. "Sơn La, ngày 05 tháng 03 năm 2026"."""
    return f"{place}, ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def _fmt(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


class _NumberedCanvas(canvas.Canvas):
    """A canvas that writes "Trang N/M" at the foot of every page once the page count is known."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._saved: list[dict] = []

    def showPage(self):  # noqa: N802 (reportlab API)
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            self.setFont(FONT, 8)
            self.drawRightString(A4[0] - 15 * mm, 10 * mm, f"Trang {self._pageNumber}/{total}")
            super().showPage()
        super().save()


def _render(story: list, title: str) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=title,
        author="Trạm Sách",
    )
    doc.build(story, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()


def _heading(organisation: str, number: str, st: dict) -> Table:
    """The two-column heading: organisation and number on the left, the national heading on the right."""
    left = [_p(organisation.upper(), st["center_bold"])]
    if number:
        left.append(_p(f"Số: {number}", st["center"]))
    right = [_p(NATION, st["center_bold"]), _p(MOTTO, st["center_bold"]), _p("―――――――", st["center"])]
    table = Table([[left, right]], colWidths=[70 * mm, 105 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _copies_table(rows: list[list[str]], headers: list[str], widths: list[float], st: dict) -> Table:
    """A long list as a table that splits across pages and repeats its header row."""
    data = [[_p(h, st["head"]) for h in headers]]
    data += [[_p(str(value), st["cell"]) for value in row] for row in rows]
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _signatures(labels: list[tuple[str, str]], st: dict) -> KeepTogether:
    """Signature blocks side by side: a label, the hint, room to sign and the name if known."""
    cells = []
    for label, name in labels:
        cells.append(
            [
                _p(label, st["center_bold"]),
                _p(SIGN_HINT, st["center"]),
                Spacer(1, 22 * mm),
                _p(name, st["center_bold"]),
            ]
        )
    width = 175 * mm / len(labels)
    table = Table([cells], colWidths=[width] * len(labels))
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return KeepTogether([Spacer(1, 6 * mm), table])


def _party_lines(label: str, party: Party, st: dict) -> list:
    lines = [_p(f"{label}: {party.name}", st["base"])]
    if party.address:
        lines.append(_p(f"Địa chỉ: {party.address}", st["base"]))
    lines.append(
        _p(f"Đại diện: {party.representative or '....................................'}", st["base"])
    )
    if party.phone:
        lines.append(_p(f"Điện thoại: {party.phone}", st["base"]))
    return lines


COPY_HEADERS = ["STT", "Số ĐKCB", "Tên sách", "Ký hiệu xếp giá", "Ghi chú"]
COPY_WIDTHS = [12, 30, 78, 33, 22]


def _copy_rows(copies: list[CopyRow]) -> list[list[str]]:
    return [[str(i), c.accession_number, c.title, c.call_number, c.note] for i, c in enumerate(copies, 1)]


# --- documents ----------------------------------------------------------------------------------


def handover_pdf(data: HandoverData) -> bytes:
    """Return the handover record of a shipment (biên bản bàn giao, Mẫu số 02 style) as PDF bytes."""
    register_fonts()
    st = _styles()
    story: list = [
        _heading(data.giver.name, data.number, st),
        Spacer(1, 3 * mm),
        _p(date_line(data.place, data.day), st["italic_right"]),
        Spacer(1, 4 * mm),
        _p("BIÊN BẢN BÀN GIAO TÀI LIỆU LUÂN CHUYỂN", st["title"]),
        _p(f"Lô luân chuyển: {data.batch_code}", st["center"]),
        Spacer(1, 4 * mm),
        _p(f"Hôm nay, {date_line(data.place, data.day).split(', ', 1)[1]}, chúng tôi gồm:", st["base"]),
        Spacer(1, 2 * mm),
        *_party_lines("Bên giao (Bên A)", data.giver, st),
        Spacer(1, 2 * mm),
        *_party_lines("Bên nhận (Bên B)", data.receiver, st),
        Spacer(1, 3 * mm),
    ]
    details = (
        f"Hai bên thống nhất bàn giao {len(data.copies)} bản sách luân chuyển thuộc lô {data.batch_code}"
    )
    details += f", đóng trong {data.box_count} thùng"
    if data.seal_number:
        details += f", số niêm phong {data.seal_number}"
    if data.due_back_on:
        details += f"; thời hạn luân chuyển đến ngày {_fmt(data.due_back_on)}"
    story += [_p(details + ". Danh sách cụ thể như sau:", st["base"]), Spacer(1, 3 * mm)]
    story.append(_copies_table(_copy_rows(data.copies), COPY_HEADERS, COPY_WIDTHS, st))
    story += [
        Spacer(1, 3 * mm),
        _p(f"Tổng cộng: {len(data.copies)} bản sách.", st["head"]),
        Spacer(1, 2 * mm),
        _p(
            "Bên B có trách nhiệm bảo quản, tổ chức phục vụ bạn đọc và hoàn trả đầy đủ tài liệu khi hết "
            "thời hạn luân chuyển. Biên bản được lập thành 02 bản, mỗi bên giữ 01 bản có giá trị như nhau.",
            st["base"],
        ),
        _signatures(
            [
                ("ĐẠI DIỆN BÊN GIAO", data.giver.representative),
                ("ĐẠI DIỆN BÊN NHẬN", data.receiver.representative),
            ],
            st,
        ),
    ]
    return _render(story, "Biên bản bàn giao tài liệu luân chuyển")


def packing_pdf(data: PackingData) -> bytes:
    """Return the packing list of a batch (code, boxes, seal, copies) as PDF bytes."""
    register_fonts()
    st = _styles()
    facts = [
        ["Mã lô", data.batch_code],
        ["Đơn vị gửi", data.library],
        ["Nơi nhận", data.destination or "...................................."],
        ["Số thùng", str(data.box_count)],
        ["Số niêm phong", data.seal_number or "...................................."],
        ["Số bản sách", str(len(data.copies))],
    ]
    if data.due_back_on:
        facts.append(["Hạn trả", _fmt(data.due_back_on)])
    facts_table = Table(
        [[_p(k, st["head"]), _p(v, st["base"])] for k, v in facts], colWidths=[40 * mm, 135 * mm]
    )
    facts_table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey)]))
    story: list = [
        _heading(data.library, "", st),
        Spacer(1, 3 * mm),
        _p(date_line(data.place, data.day), st["italic_right"]),
        Spacer(1, 4 * mm),
        _p("PHIẾU ĐÓNG GÓI LÔ SÁCH LUÂN CHUYỂN", st["title"]),
        Spacer(1, 4 * mm),
        facts_table,
        Spacer(1, 4 * mm),
        _copies_table(_copy_rows(data.copies), COPY_HEADERS, COPY_WIDTHS, st),
        Spacer(1, 3 * mm),
        _p(f"Tổng cộng: {len(data.copies)} bản sách, {data.box_count} thùng.", st["head"]),
        _signatures([("NGƯỜI ĐÓNG GÓI", ""), ("NGƯỜI KIỂM TRA, NIÊM PHONG", "")], st),
    ]
    return _render(story, "Phiếu đóng gói lô sách luân chuyển")


def return_pdf(data: ReturnData) -> bytes:
    """Return the return and reconciliation record of a batch count as PDF bytes."""
    register_fonts()
    st = _styles()
    counts = [
        ["Số bản gửi đi (theo danh sách)", str(data.expected)],
        ["Số bản nhận lại", str(data.returned)],
        ["Trong đó hư hỏng", str(data.count("damaged"))],
        ["Số bản thiếu", str(data.count("missing"))],
        ["Số bản thừa (không thuộc lô)", str(data.count("extra"))],
    ]
    if data.count("expected"):
        counts.append(["Số bản chưa kiểm đếm", str(data.count("expected"))])
    counts_table = Table(
        [[_p(k, st["base"]), _p(v, st["head"])] for k, v in counts], colWidths=[120 * mm, 55 * mm]
    )
    counts_table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey)]))
    differences = [row for row in data.rows if row.state not in ("received",)]
    story: list = [
        _heading(data.receiver.name, data.number, st),
        Spacer(1, 3 * mm),
        _p(date_line(data.place, data.day), st["italic_right"]),
        Spacer(1, 4 * mm),
        _p("BIÊN BẢN KIỂM ĐẾM TÀI LIỆU LUÂN CHUYỂN TRẢ VỀ", st["title"]),
        _p(f"Lô luân chuyển: {data.batch_code}", st["center"]),
        Spacer(1, 4 * mm),
        *_party_lines("Bên trả (điểm luân chuyển)", data.giver, st),
        Spacer(1, 2 * mm),
        *_party_lines("Bên nhận (thư viện)", data.receiver, st),
        Spacer(1, 3 * mm),
        _p("I. Kết quả kiểm đếm", st["head"]),
        Spacer(1, 2 * mm),
        counts_table,
        Spacer(1, 4 * mm),
        _p("II. Danh sách chênh lệch và cách xử lý", st["head"]),
        Spacer(1, 2 * mm),
    ]
    if differences:
        rows = [
            [
                str(i),
                row.accession_number,
                row.title,
                row.call_number,
                STATE_LABELS.get(row.state, row.state),
                RESOLUTION_LABELS.get(row.resolution or "", "Chưa xử lý"),
            ]
            for i, row in enumerate(differences, 1)
        ]
        headers = ["STT", "Số ĐKCB", "Tên sách", "Ký hiệu xếp giá", "Tình trạng", "Xử lý"]
        story.append(_copies_table(rows, headers, [10, 24, 50, 26, 20, 45], st))
    else:
        story.append(_p("Không có chênh lệch: nhận lại đủ số bản sách đã gửi.", st["base"]))
    story += [
        Spacer(1, 3 * mm),
        _p(
            "Các bản sách thiếu, hư hỏng được xử lý theo quy định; tài liệu mất được xuất kho theo biên "
            "bản xuất kho. Biên bản được lập thành 02 bản, mỗi bên giữ 01 bản có giá trị như nhau.",
            st["base"],
        ),
        _signatures(
            [
                ("ĐẠI DIỆN BÊN TRẢ", data.giver.representative),
                ("ĐẠI DIỆN BÊN NHẬN", data.receiver.representative),
            ],
            st,
        ),
    ]
    return _render(story, "Biên bản kiểm đếm tài liệu luân chuyển trả về")


# --- loading from the database ------------------------------------------------------------------


def _party(site, representative: str = "") -> Party:
    return Party(
        name=site.name,
        representative=representative or site.contact_person or "",
        address=site.address or "",
        phone=site.phone or "",
    )


def _full_name(session: Session, user_id: int | None) -> str:
    if user_id is None:
        return ""
    from app.auth.models import User

    user = session.get(User, user_id)
    return (user.full_name or "") if user else ""


def _line_rows(session: Session, shipment_id: int) -> list[tuple]:
    """Return (accession number, title, call number, state, resolution, note) of a shipment's lines."""
    from catalog.models import Item, Record
    from rotation.models import ShipmentLine

    return list(
        session.execute(
            select(
                Item.accession_number,
                Record.title,
                Item.call_number,
                ShipmentLine.state,
                ShipmentLine.resolution,
                ShipmentLine.note,
            )
            .select_from(ShipmentLine)
            .join(Item, Item.id == ShipmentLine.item_id)
            .join(Record, Record.id == Item.record_id)
            .where(ShipmentLine.shipment_id == shipment_id)
            .order_by(Item.accession_number)
        ).all()
    )


def handover_data(session: Session, shipment) -> HandoverData:
    """Return the handover record's data for a shipment: its sites, people and handed-over copies."""
    batch = shipment.batch
    copies = [
        CopyRow(acc, title, call or "")
        for acc, title, call, state, _res, _note in _line_rows(session, shipment.id)
        if state != "extra"
    ]
    return HandoverData(
        number=f"{shipment.id}/BBBG-LC",
        batch_code=batch.code,
        day=to_local(shipment.dispatched_at).date() if shipment.dispatched_at else local_today(),
        giver=_party(shipment.from_site, _full_name(session, shipment.dispatched_by_id)),
        receiver=_party(shipment.to_site, shipment.received_by_name),
        copies=copies,
        box_count=batch.box_count,
        seal_number=batch.seal_number,
        due_back_on=batch.due_back_on,
    )


def packing_data(session: Session, batch) -> PackingData:
    """Return the packing list's data for a batch: its copies and where it is going, if on its way."""
    from rotation import queries

    shipment = queries.open_shipment_for_batch(session, batch.id)
    return PackingData(
        batch_code=batch.code,
        library=batch.home_library.name,
        day=local_today(),
        copies=[
            CopyRow(c.accession_number, c.title, c.call_number or "")
            for c in queries.batch_copies(session, batch.id)
        ],
        box_count=batch.box_count,
        seal_number=batch.seal_number,
        destination=shipment.to_site.name if shipment else "",
        due_back_on=batch.due_back_on,
    )


def return_data(session: Session, shipment) -> ReturnData:
    """Return the return record's data for a shipment back to the library: counts and differences."""
    rows = [
        ReturnRow(acc, title, call or "", state, resolution, note or "")
        for acc, title, call, state, resolution, note in _line_rows(session, shipment.id)
    ]
    receiver_name = _full_name(session, shipment.received_by_id) or shipment.received_by_name
    return ReturnData(
        number=f"{shipment.id}/BBKĐ-LC",
        batch_code=shipment.batch.code,
        day=to_local(shipment.received_at).date() if shipment.received_at else local_today(),
        giver=_party(shipment.from_site),
        receiver=_party(shipment.to_site, receiver_name),
        expected=shipment.expected_count,
        rows=rows,
    )
