"""Demo catalogue: accession series, 60 real Vietnamese LoC records, well-known Vietnamese books, copies."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.network.models import Site, SiteKind
from catalog import marc
from catalog.models import AccessionSequence, ItemStatus, Record
from catalog.queries import author_mark
from catalog.services import add_items, create_record, create_sequence

LOC_FILE = Path(__file__).resolve().parent / "demo_data" / "loc_vietnamese.mrc"
SEED = 1956
# Titles with this subject are local-studies material (tài liệu địa chí) of the province.
LOCAL_STUDIES_SUBJECT = "Sơn La"

# Accession series of the provincial library (DOMAIN.md: VN small, VV medium, VL large, TN children).
SERIES = (
    ("VN", "Sách tiếng Việt khổ nhỏ"),
    ("VV", "Sách tiếng Việt khổ vừa"),
    ("VL", "Sách tiếng Việt khổ lớn"),
    ("TN", "Sách thiếu nhi"),
)

# Well-known Vietnamese books, catalogued by hand for the demo (title, author, publisher, year, DDC,
# subjects, series prefix). Descriptions are illustrative; the titles and authors are real.
BOOKS = (
    ("Truyện Kiều", "Nguyễn Du", "Văn học", 2015, "895.9221", ["Văn học Việt Nam -- Thơ"], "VV"),
    ("Dế Mèn phiêu lưu ký", "Tô Hoài", "Kim Đồng", 2019, "895.9223", ["Văn học thiếu nhi -- Việt Nam"], "TN"),
    ("Số đỏ", "Vũ Trọng Phụng", "Văn học", 2016, "895.9223", ["Văn học Việt Nam -- Tiểu thuyết"], "VN"),
    ("Tắt đèn", "Ngô Tất Tố", "Văn học", 2014, "895.9223", ["Văn học Việt Nam -- Tiểu thuyết"], "VN"),
    ("Chí Phèo", "Nam Cao", "Văn học", 2017, "895.9223", ["Văn học Việt Nam -- Truyện ngắn"], "VN"),
    ("Vợ nhặt", "Kim Lân", "Kim Đồng", 2018, "895.9223", ["Văn học Việt Nam -- Truyện ngắn"], "VN"),
    ("Nỗi buồn chiến tranh", "Bảo Ninh", "Trẻ", 2011, "895.9223", ["Văn học Việt Nam -- Tiểu thuyết"], "VV"),
    (
        "Cánh đồng bất tận",
        "Nguyễn Ngọc Tư",
        "Trẻ",
        2012,
        "895.9223",
        ["Văn học Việt Nam -- Truyện ngắn"],
        "VN",
    ),
    ("Mắt biếc", "Nguyễn Nhật Ánh", "Trẻ", 2019, "895.9223", ["Văn học Việt Nam -- Truyện dài"], "VN"),
    (
        "Cho tôi xin một vé đi tuổi thơ",
        "Nguyễn Nhật Ánh",
        "Trẻ",
        2018,
        "895.9223",
        ["Văn học thiếu nhi -- Việt Nam"],
        "TN",
    ),
    (
        "Đất rừng phương Nam",
        "Đoàn Giỏi",
        "Kim Đồng",
        2020,
        "895.9223",
        ["Văn học thiếu nhi -- Việt Nam"],
        "TN",
    ),
    ("Tuổi thơ dữ dội", "Phùng Quán", "Kim Đồng", 2017, "895.9223", ["Văn học thiếu nhi -- Việt Nam"], "TN"),
    (
        "Nhật ký Đặng Thùy Trâm",
        "Đặng Thùy Trâm",
        "Hội Nhà văn",
        2015,
        "895.9228",
        ["Nhật ký -- Việt Nam"],
        "VN",
    ),
    ("Việt Nam sử lược", "Trần Trọng Kim", "Văn học", 2016, "959.7", ["Lịch sử -- Việt Nam"], "VV"),
    (
        "Lịch sử Sơn La",
        "Ban Tuyên giáo Tỉnh ủy Sơn La",
        "Chính trị quốc gia",
        2010,
        "959.718",
        ["Lịch sử -- Sơn La"],
        "VL",
    ),
    (
        "Sổ tay kỹ thuật trồng cà phê chè",
        "Viện Khoa học Kỹ thuật Nông Lâm nghiệp miền núi phía Bắc",
        "Nông nghiệp",
        2018,
        "633.73",
        ["Cà phê -- Kỹ thuật trồng"],
        "VN",
    ),
    ("Kỹ thuật chăn nuôi bò thịt", "Đinh Văn Cải", "Nông nghiệp", 2016, "636.213", ["Bò -- Chăn nuôi"], "VN"),
    (
        "Xống chụ xon xao (Tiễn dặn người yêu)",
        "Khuyết danh",
        "Văn hóa dân tộc",
        2012,
        "398.209597",
        ["Truyện thơ Thái", "Văn học dân gian -- Thái (Dân tộc Việt Nam)"],
        "VV",
    ),
    (
        "Sống chết mặc bay",
        "Phạm Duy Tốn",
        "Kim Đồng",
        2016,
        "895.9223",
        ["Văn học Việt Nam -- Truyện ngắn"],
        "TN",
    ),
    (
        "Hoàng Lê nhất thống chí",
        "Ngô gia văn phái",
        "Văn học",
        2015,
        "895.9223",
        ["Văn học Việt Nam -- Tiểu thuyết lịch sử"],
        "VV",
    ),
)


def _provincial_library(session: Session) -> Site | None:
    return session.scalar(
        select(Site).where(Site.kind == SiteKind.PROVINCIAL_LIBRARY.value).order_by(Site.id).limit(1)
    )


def load_demo_catalogue(session: Session) -> str | None:
    """Stage the demo catalogue unless demo records exist already; return what was added."""
    if session.scalar(select(exists().where(Record.is_demo.is_(True)))):
        return None
    library = _provincial_library(session)
    if library is None:
        return None
    series = {}
    for prefix, description in SERIES:
        found = session.scalar(select(AccessionSequence).where(AccessionSequence.prefix == prefix))
        series[prefix] = found or create_sequence(
            session, library_id=library.id, prefix=prefix, width=5, description=description, actor_id=None
        )
    rng = random.Random(SEED)
    records = 0
    copies = 0

    def catalogue(
        record, prefix: str, count: int, class_number: str, author_mark: str, local_studies: bool = False
    ) -> None:
        nonlocal records, copies
        row = create_record(session, record, actor_id=None, source="demo")
        row.is_demo = True
        records += 1
        items = add_items(
            session,
            row,
            count=count,
            sequence_id=series[prefix].id,
            values={
                "library_id": library.id,
                "class_number": class_number,
                "author_mark": author_mark,
                "status": ItemStatus.AVAILABLE.value,
                "price_vnd": rng.choice((45000, 60000, 75000, 89000, 120000, 150000)),
                "source": rng.choice(("purchase", "purchase", "donation", "legal_deposit")),
                "is_local_studies": local_studies,
            },
            actor_id=None,
        )
        for item in items:
            item.is_demo = True
        copies += len(items)

    for title, author, publisher, year, ddc, subjects, prefix in BOOKS:
        record = marc.build_record(
            title,
            responsibility=author,
            authors=[author],
            publisher=f"Nxb. {publisher}",
            place="Hà Nội",
            year=year,
            pages=f"{rng.randrange(90, 520, 2)} tr.",
            dimensions=rng.choice(("19 cm", "21 cm", "24 cm")),
            classification=ddc,
            subjects=subjects,
        )
        mark = author_mark(author, title)
        # Rotation stock needs at least three copies of each title (Circular 33/2018).
        # Books about the province are local-studies material (tài liệu địa chí): they never rotate.
        local = any(LOCAL_STUDIES_SUBJECT in s for s in subjects)
        catalogue(record, prefix, rng.choice((3, 3, 4, 5)), ddc, mark, local_studies=local)

    for parsed in marc.read_records(LOC_FILE):
        if not parsed.ok or parsed.kind != "bibliographic":
            continue
        fields = marc.extract(parsed.record)
        ddc = fields.classification or "959.7"
        catalogue(parsed.record, "VV", rng.choice((1, 2)), ddc, author_mark(fields.main_author, fields.title))
    session.flush()
    return f"Demo catalogue: {records} records, {copies} copies in series {', '.join(series)}."
