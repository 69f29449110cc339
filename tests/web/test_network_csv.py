"""CSV import and export of sites: encodings, separators, bad rows, the web page and `flask sites`."""

from __future__ import annotations

import io
import unicodedata
from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.network.csvio import COLUMNS, decode, parse_bool, parse_kind, read_sites_csv
from app.network.models import Site, SiteKind
from app.network.services import unit_on
from tests.conftest import post_form
from tests.web.test_network_pages import AFTER, BEFORE, build_units

HEADER = ",".join(COLUMNS)


@pytest.fixture
def units(session):
    return build_units(session)


@pytest.fixture
def staff(logged_in, client):
    def do(role="admin"):
        user = logged_in(role)
        client.get("/lang/en")
        return user

    return do


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(Site)) or 0


def _events(session, action: str) -> int:
    return (
        session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)) or 0
    )


def _site(session, code: str) -> Site | None:
    session.expire_all()
    return session.scalar(select(Site).where(Site.code == code))


def _upload(client, data: bytes, *, filename="sites.csv", **fields):
    form = {"file": (io.BytesIO(data), filename), "mode": "upsert", **fields}
    return post_form(
        client,
        "/network/sites/import",
        form,
        page="/network/sites/import",
        content_type="multipart/form-data",
    )


TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Encode like Windows does for Vietnamese: precomposed where cp1258 has it, else base + tone mark."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONE_MARKS))
            tones = "".join(c for c in decomposed if c in TONE_MARKS)
            out += base.encode("cp1258") + tones.encode("cp1258")
    return bytes(out)


# fmt: off
GOOD = f"""{HEADER}
TV-ML,Thư viện huyện Mường La,district_library,H-ML,,Thị trấn Ít Ong,Lò Văn Hùng,0212 3830 111,5000,1,
BD-IO,Điểm Bưu điện – Văn hóa xã Ít Ong,post_culture_point,X-ITONG,TV-ML,"Bản Bó, Ít Ong",Lò Thị Hoa,+84 912 345 678,250,có,"Mở cửa thứ Hai, thứ Tư"
TH-CK,Thư viện trường Tiểu học Chiềng Khương,school_library,X-CKHUONG,TV-ML,,,,200,không,
"""  # noqa: E501
# fmt: on


# --- pure helpers ---


def test_kind_and_boolean_spellings():
    assert parse_kind("Post_Culture_Point") is SiteKind.POST_CULTURE_POINT
    assert parse_kind("post culture point") is SiteKind.POST_CULTURE_POINT
    assert parse_kind("Điểm Bưu điện – Văn hóa xã") is SiteKind.POST_CULTURE_POINT
    assert parse_kind("School library") is SiteKind.SCHOOL_LIBRARY
    assert parse_kind("Thư viện huyện") is SiteKind.DISTRICT_LIBRARY
    assert parse_kind("castle") is None and parse_kind("") is None
    assert [parse_bool(v) for v in ("1", "TRUE", "Yes", "có", "Có")] == [True] * 5
    assert [parse_bool(v) for v in ("0", "false", "no", "không", "KHÔNG")] == [False] * 5
    assert parse_bool("maybe") is None


def test_decode_detects_encodings():
    text = "tên,Đường"
    assert decode(text.encode("utf-8")) == (text, "utf-8")
    assert decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode(text.encode("utf-16")) == (text, "utf-16")
    decoded, encoding = decode(to_cp1258(text))
    assert encoding == "cp1258" and unicodedata.normalize("NFC", decoded) == text
    with pytest.raises(Exception, match="cannot be read as text"):
        decode(b"PK\x03\x04\x00\x00binary")


def test_reader_normalises_combining_marks_and_counts_lines():
    decomposed = unicodedata.normalize("NFD", "Mường La")
    parsed = read_sites_csv(
        f'{HEADER}\n\nA,{decomposed},other_point\n"B","multi\nline",other_point\n'.encode()
    )
    assert parsed.rows[0].values["name"] == "Mường La"
    assert unicodedata.is_normalized("NFC", parsed.rows[0].values["name"])
    assert [r.line for r in parsed.rows] == [3, 4]
    assert parsed.rows[0].is_bad  # three fields where the header has eleven
    assert parsed.rows[1].values["name"] == "multi\nline"


# --- web import ---


def test_import_good_file(staff, client, session, units):
    user = staff("rotation")
    response = _upload(client, GOOD.encode())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Imported: 3 created, 0 updated, 0 unchanged, 0 skipped." in html
    point = _site(session, "BD-IO")
    assert point.name == "Điểm Bưu điện – Văn hóa xã Ít Ong"
    assert point.kind == "post_culture_point" and point.served_by.code == "TV-ML"
    assert point.address == "Bản Bó, Ít Ong" and point.phone == "+84 912 345 678"
    assert point.capacity == 250 and point.is_active
    assert point.notes == "Mở cửa thứ Hai, thứ Tư"
    assert unit_on(session, point, BEFORE).code == "X-ITONG"
    assert _site(session, "TH-CK").is_active is False
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "site.create")).all()
    assert sorted(e.object_label.split()[0] for e in events) == ["BD-IO", "TH-CK", "TV-ML"]
    assert all(e.actor_id == user.id for e in events)


BAD = f"""{HEADER}
OK-1,Điểm tốt một,other_point,,,,,,,,
,Không có mã,other_point,,,,,,,,
NO-NAME,,other_point,,,,,,,,
BAD-KIND,Điểm loại lạ,castle,,,,,,,,
BAD-UNIT,Điểm đơn vị lạ,other_point,X-NOWHERE,,,,,,,
BAD-LIB,Điểm thư viện lạ,other_point,,TV-NOWHERE,,,,,,
BAD-CAP,Điểm sức chứa,other_point,,,,,,nhiều,,
TOO-LONG,{"Đ" * 201},other_point,,,,,,,,
SHORT,Thiếu cột,other_point
OK-2,Điểm tốt hai,school_library,,,,,,,,
NOT-LIB,Điểm phục vụ bởi điểm,other_point,,OK-1,,,,,,
"""


def test_bad_rows_are_reported_and_nothing_is_imported(staff, client, session, units):
    staff("admin")
    response = _upload(client, BAD.encode())
    html = response.get_data(as_text=True)
    assert _count(session) == 0
    assert "9 rows are bad, so nothing was imported." in html
    expected = {
        3: "The code is required.",
        4: "The name is required.",
        5: "Unknown site kind: castle",
        6: "Unknown administrative unit code: X-NOWHERE",
        7: "Unknown served_by code: TV-NOWHERE",
        8: "The capacity must be a whole number.",
        9: "name is longer than 200 characters.",
        10: "The row has 3 fields; the header has 11.",
        12: "The serving site OK-1 is not a library.",
    }
    rows = html.split('<td data-label="Line">')[1:]
    assert len(rows) == len(expected)
    for chunk in rows:
        line = int(chunk.split("<", 1)[0])
        assert expected[line] in chunk, (line, chunk[:400])
    assert "create 2 sites" in html


def test_skip_bad_imports_the_good_rows(staff, client, session, units):
    staff("admin")
    response = _upload(client, BAD.encode(), skip_bad="y")
    html = response.get_data(as_text=True)
    assert "Imported: 2 created, 0 updated, 0 unchanged, 9 skipped." in html
    assert "Unknown site kind: castle" in html  # the report still lists the skipped rows
    session.expire_all()
    assert sorted(session.scalars(select(Site.code))) == ["OK-1", "OK-2"]


def test_check_only_saves_nothing(staff, client, session, units):
    staff("admin")
    html = _upload(client, GOOD.encode(), check_only="y").get_data(as_text=True)
    assert "Check only, nothing was saved." in html and "would create 3" in html
    assert _count(session) == 0
    assert (
        session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.object_type == "site"))
        == 0
    )


def test_excel_utf8_bom_semicolon_file(staff, client, session, units):
    staff("admin")
    text = (
        "code;name;kind;admin_unit_code;capacity;is_active\r\n"
        "XL-1;Điểm Bưu điện – Văn hóa xã Chiềng Khương;Post_Culture_Point;x-ckhuong;150;Có\r\n"
        "XL-2;Thư viện trường THCS Mường La, điểm 2;school_library;;;\r\n"
        ";;;;;\r\n"
    )
    response = _upload(client, b"\xef\xbb\xbf" + text.encode("utf-8"))
    html = response.get_data(as_text=True)
    assert "UTF-8 (BOM)" in html and "semicolon" in html
    assert "2 created" in html
    site = _site(session, "XL-1")
    assert site.name == "Điểm Bưu điện – Văn hóa xã Chiềng Khương"
    assert site.kind == "post_culture_point" and site.admin_unit.code == "X-CKHUONG"
    assert _site(session, "XL-2").name == "Thư viện trường THCS Mường La, điểm 2"


def test_windows_1258_file(staff, client, session, units):
    staff("admin")
    text = (
        "code\tname\tkind\tcontact_person\r\n"
        "W-1\tĐiểm Bưu điện – Văn hóa xã Mường Sại\tpost_culture_point\tQuàng Thị Thuỷ\r\n"
    )
    data = to_cp1258(text)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    html = _upload(client, data).get_data(as_text=True)
    assert "Windows-1258" in html and "1 created" in html
    site = _site(session, "W-1")
    assert site.name == "Điểm Bưu điện – Văn hóa xã Mường Sại"
    assert site.contact_person == "Quàng Thị Thuỷ"
    assert unicodedata.is_normalized("NFC", site.name)
    # The folded name is searchable without diacritics.
    assert "W-1" in client.get("/network/sites?q=muong+sai").get_data(as_text=True)


def test_duplicate_codes_within_the_file(staff, client, session):
    staff("admin")
    text = "code,name,kind\nDUP,Một,other_point\nUNIQUE,Hai,other_point\ndup,Ba,other_point\n"
    html = _upload(client, text.encode()).get_data(as_text=True)
    assert "The code DUP appears more than once in the file (also on line 4)." in html
    assert "The code DUP appears more than once in the file (also on line 2)." in html
    assert _count(session) == 0


def test_wrong_column_count(staff, client, session):
    staff("admin")
    text = "code,name,kind\nA-1,Bản Hồng, Mường La,other_point\nA-2,Bản Nà,other_point\n"
    html = _upload(client, text.encode()).get_data(as_text=True)
    assert "The row has 4 fields; the header has 3." in html
    assert _count(session) == 0


def test_file_level_errors_are_shown_on_the_form(staff, client, session):
    staff("admin")
    html = _upload(client, b"code,name,kind,adress\nA,B,other_point,x\n").get_data(as_text=True)
    assert "Unknown column(s) in the header: adress." in html
    html = _upload(client, b"ten,loai\n").get_data(as_text=True)
    assert "Unknown column(s) in the header: ten, loai." in html
    html = _upload(client, b"name,kind\nA,other_point\n").get_data(as_text=True)
    assert "missing: code" in html
    html = _upload(client, b"\x00\x01\x02PK").get_data(as_text=True)
    assert "cannot be read as text" in html
    assert _count(session) == 0


def test_create_mode_refuses_existing_codes_upsert_updates(staff, client, session, make_site):
    make_site(code="OLD-1", name="Tên cũ", kind=SiteKind.OTHER_POINT, is_active=False, phone="0123")
    staff("admin")
    text = "code,name,kind,is_active\nOLD-1,Tên mới,school_library,\nNEW-1,Điểm mới,other_point,\n"
    html = _upload(client, text.encode(), mode="create").get_data(as_text=True)
    assert "A site with code OLD-1 already exists." in html
    assert _count(session) == 1

    html = _upload(client, text.encode(), mode="upsert").get_data(as_text=True)
    assert "1 created, 1 updated" in html
    old = _site(session, "OLD-1")
    assert old.name == "Tên mới" and old.kind == "school_library"
    assert old.is_active is False  # empty cell: unchanged
    assert old.phone == "0123"  # column not in the file: unchanged
    assert _site(session, "NEW-1").is_active is True
    updates = session.scalars(select(AuditEvent).where(AuditEvent.action == "site.update")).all()
    assert len(updates) == 1 and set(updates[0].changes) == {"name", "kind"}


def test_import_moves_a_site_to_a_new_unit_from_a_date(staff, client, session, make_site, units):
    make_site(code="MV", name="Điểm Ít Ong", admin_unit_id=units["it_ong"].id)
    staff("admin")
    text = "code,name,kind,admin_unit_code\nMV,Điểm Ít Ong,other_point,XM-MUONGLA\n"
    html = _upload(client, text.encode(), unit_since="2025-07-01").get_data(as_text=True)
    assert "1 updated" in html
    site = _site(session, "MV")
    assert unit_on(session, site, BEFORE).code == "X-ITONG"
    assert unit_on(session, site, AFTER).code == "XM-MUONGLA"


def test_served_by_a_library_later_in_the_same_file(staff, client, session):
    staff("admin")
    text = (
        "code,name,kind,served_by_code\n"
        "P-1,Điểm một,post_culture_point,LIB-NEW\n"
        "LIB-NEW,Thư viện mới,district_library,LIB-PROV\n"
        "LIB-PROV,Thư viện tỉnh Sơn La,provincial_library,\n"
    )
    html = _upload(client, text.encode()).get_data(as_text=True)
    assert "3 created" in html
    assert _site(session, "P-1").served_by.code == "LIB-NEW"
    assert _site(session, "LIB-NEW").served_by.code == "LIB-PROV"


def test_row_pointing_at_a_bad_library_row_is_bad_too(staff, client, session):
    staff("admin")
    text = "code,name,kind,served_by_code\nP-1,Điểm một,post_culture_point,LIB-X\nLIB-X,,district_library,\n"
    html = _upload(client, text.encode(), skip_bad="y").get_data(as_text=True)
    assert "The serving library LIB-X is on a bad row of this file." in html
    assert _count(session) == 0


def test_html_in_imported_names_is_escaped_in_the_report(staff, client, session):
    staff("admin")
    text = "code,name,kind\nX1,<script>alert(1)</script>,castle\n"
    html = _upload(client, text.encode()).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_viewer_cannot_import(logged_in, client, session):
    logged_in("viewer")
    from tests.conftest import csrf_from

    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post(
        "/network/sites/import",
        data={"csrf_token": token, "file": (io.BytesIO(GOOD.encode()), "s.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert _count(session) == 0


# --- export ---


def test_export_has_bom_header_and_sorted_rows(staff, client, make_site):
    make_site(code="B-2", name="Điểm <b>hai</b>", phone="+84 212 000")
    make_site(code="A-1", name="Đường số một", capacity=120, is_active=False)
    staff("viewer")
    response = client.get("/network/sites/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    data = response.data
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == HEADER
    assert lines[1].startswith("A-1,Đường số một,post_culture_point,") and lines[1].endswith(",120,0,")
    assert lines[2].startswith("B-2,Điểm <b>hai</b>,")
    assert ",'+84 212 000," in lines[2]  # a spreadsheet would run a cell starting with + as a formula
    semicolons = client.get("/network/sites/export.csv?sep=semicolon").data.decode("utf-8-sig")
    assert semicolons.splitlines()[0] == ";".join(COLUMNS)


def test_export_then_import_round_trip(staff, client, session, make_site, units):
    library = make_site(code="LIB", name="Thư viện huyện Sông Mã", kind=SiteKind.DISTRICT_LIBRARY)
    make_site(
        code="PT",
        name='Điểm Chiềng Khương; "ngã ba"',
        admin_unit_id=units["chieng_khuong"].id,
        served_by_id=library.id,
        address="Bản Hin, xã Chiềng Khương",
        contact_person="Lường Văn Sơn",
        phone="+84 212 3876 543",
        capacity=300,
        notes="Dòng một\nDòng hai",
        is_active=False,
    )
    staff("admin")
    exported = client.get("/network/sites/export.csv").data
    before = {s.code: _snapshot(s) for s in session.scalars(select(Site))}

    html = _upload(client, exported).get_data(as_text=True)
    assert "0 created, 0 updated, 2 unchanged, 0 skipped" in html
    session.expire_all()
    assert {s.code: _snapshot(s) for s in session.scalars(select(Site))} == before

    edited = exported.decode("utf-8-sig").replace("Lường Văn Sơn", "Lò Văn Sơn").encode("utf-8-sig")
    html = _upload(client, edited).get_data(as_text=True)
    assert "0 created, 1 updated, 1 unchanged" in html
    assert _site(session, "PT").contact_person == "Lò Văn Sơn"


def _snapshot(site: Site) -> tuple:
    return (
        site.name,
        site.kind,
        site.admin_unit_id,
        site.served_by_id,
        site.address,
        site.contact_person,
        site.phone,
        site.capacity,
        site.is_active,
        site.notes,
    )


# --- CLI ---


def test_cli_import_and_export(runner, session, units, tmp_path):
    source = tmp_path / "sites.csv"
    source.write_bytes(GOOD.encode("utf-8"))
    result = runner.invoke(args=["sites", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "created 3, updated 0, skipped 0" in result.output
    assert _count(session) == 3
    assert (
        session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "site.create"))
        == 3
    )

    target = tmp_path / "out.csv"
    result = runner.invoke(args=["sites", "export", "--output", str(target)])
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == HEADER and [ln.split(",")[0] for ln in lines[1:]] == ["BD-IO", "TH-CK", "TV-ML"]

    result = runner.invoke(args=["sites", "export", "--output", "-"])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == HEADER and "Điểm Bưu điện – Văn hóa xã Ít Ong" in result.stdout

    result = runner.invoke(args=["sites", "import", str(target)])
    assert result.exit_code == 0, result.output
    assert "created 0, updated 0, skipped 0, unchanged 3" in result.output


def test_cli_bad_rows_exit_1_and_skip_bad(runner, session, units, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_bytes(BAD.encode("utf-8"))
    result = runner.invoke(args=["sites", "import", str(source)])
    assert result.exit_code == 1
    assert "line 5: Unknown site kind: castle" in result.output
    assert "line 10: The row has 3 fields; the header has 11" in result.output
    assert "9 bad row(s); nothing imported" in result.output
    assert "Traceback" not in result.output
    assert _count(session) == 0

    result = runner.invoke(args=["sites", "import", str(source), "--skip-bad", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "dry run, nothing saved: would have created 2, updated 0, skipped 9" in result.output
    assert _count(session) == 0

    result = runner.invoke(args=["sites", "import", str(source), "--skip-bad"])
    assert result.exit_code == 0, result.output
    assert "created 2, updated 0, skipped 9" in result.output
    assert _count(session) == 2


def test_cli_unreadable_files_give_one_line(runner, session, tmp_path):
    result = runner.invoke(args=["sites", "import", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1
    assert "cannot read" in result.output and "Traceback" not in result.output
    binary = tmp_path / "book.xlsx"
    binary.write_bytes(b"PK\x03\x04\x00\x00\x00")
    result = runner.invoke(args=["sites", "import", str(binary)])
    assert result.exit_code == 1
    assert "cannot be read as text" in result.output
    result = runner.invoke(args=["sites", "export", "--output", str(tmp_path / "no" / "such" / "dir.csv")])
    assert result.exit_code == 1 and "cannot write" in result.output


def test_cli_create_mode_and_unit_since(runner, session, units, make_site, tmp_path):
    make_site(code="MV", name="Điểm Ít Ong", admin_unit_id=units["it_ong"].id)
    source = tmp_path / "move.csv"
    source.write_text("code;name;kind;admin_unit_code\nMV;Điểm Ít Ong;other_point;XM-MUONGLA\n", "utf-8")
    result = runner.invoke(args=["sites", "import", str(source), "--mode", "create"])
    assert result.exit_code == 1 and "A site with code MV already exists" in result.output
    result = runner.invoke(args=["sites", "import", str(source), "--unit-since", "2025-07-01"])
    assert result.exit_code == 0, result.output
    site = _site(session, "MV")
    assert unit_on(session, site, date(2025, 6, 30)).code == "X-ITONG"
    assert unit_on(session, site, date(2025, 7, 1)).code == "XM-MUONGLA"


def test_a_row_refused_while_importing_rolls_back_every_row(staff, client, session, monkeypatch):
    """The good rows go in together or not at all, even when a service refuses one half-way."""
    from app.errors import ValidationError
    from app.network import services

    real_create = services.create_site
    calls = []

    def flaky_create(session_, values, **kwargs):
        calls.append(values["code"])
        if len(calls) == 2:
            raise ValidationError("Refused for the test.")
        return real_create(session_, values, **kwargs)

    monkeypatch.setattr(services, "create_site", flaky_create)
    staff("admin")
    text = "code,name,kind\nR-1,Một,other_point\nR-2,Hai,other_point\nR-3,Ba,other_point\n"
    html = _upload(client, text.encode()).get_data(as_text=True)
    assert calls == ["R-1", "R-2"]
    assert "The import stopped at line 3; nothing was imported. Refused for the test." in html
    assert _count(session) == 0
    assert _events(session, "site.create") == 0
