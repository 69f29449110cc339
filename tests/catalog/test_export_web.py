"""Export from the web: the export page, the streamed download and one record's download."""

from __future__ import annotations

import re

import pytest

from app.auth.models import Role
from app.network.models import SiteKind
from catalog.marc import build_record, read_records, records_equal
from catalog.models import Record as RecordRow
from catalog.services import add_items, create_record


@pytest.fixture
def records(session):
    built = [
        build_record("Truyện Kiều", authors=["Nguyễn Du"], year=1820, subjects=["Văn học Việt Nam -- Thơ"]),
        build_record("Số đỏ", authors=["Vũ Trọng Phụng"], year=1936),
        build_record("Dế Mèn phiêu lưu ký", authors=["Tô Hoài"], year=1941),
    ]
    stored = [(create_record(session, r, actor_id=None).id, r) for r in built]
    session.commit()
    return stored


def read_back(data: bytes, fmt: str):
    parsed = list(read_records(data, format=fmt))
    assert all(p.ok for p in parsed)
    return [p.record for p in parsed]


@pytest.mark.parametrize(
    ("ext", "fmt", "media"),
    [
        ("xml", "marcxml", "application/marcxml+xml"),
        ("mrc", "iso2709", "application/marc"),
        ("json", "marcjson", "application/json"),
    ],
)
def test_one_record_downloads_in_each_format(client, logged_in, records, ext, fmt, media) -> None:
    logged_in(Role.VIEWER)
    record_id, original = records[1]
    response = client.get(f"/catalog/records/{record_id}/export.{ext}")
    assert response.status_code == 200
    assert response.mimetype == media
    assert (
        response.headers["Content-Disposition"] == f'attachment; filename="tramsach-record-{record_id}.{ext}"'
    )
    (again,) = read_back(response.data, fmt)
    assert records_equal(again, original)


def test_one_record_url_is_built_by_the_endpoint_name(app, records) -> None:
    with app.test_request_context():
        from flask import url_for

        url = url_for("catalog.export_record", record_id=records[0][0], fmt="xml")
    assert url == f"/catalog/records/{records[0][0]}/export.xml"


def test_one_record_with_its_copies(client, logged_in, records, session, make_site) -> None:
    library = make_site(code="TVMC", name="Thư viện Mộc Châu", kind=SiteKind.DISTRICT_LIBRARY)
    record_id, _ = records[0]
    add_items(
        session,
        session.get(RecordRow, record_id),
        accession_numbers=["VN.00100"],
        values={"library_id": library.id},
        actor_id=None,
    )
    session.commit()
    logged_in(Role.CATALOGUER)
    (plain,) = read_back(client.get(f"/catalog/records/{record_id}/export.mrc").data, "iso2709")
    (full,) = read_back(client.get(f"/catalog/records/{record_id}/export.mrc?with_items=1").data, "iso2709")
    assert plain.get_fields("952") == []
    assert [(f["a"], f["i"]) for f in full.get_fields("952")] == [("TVMC", "VN.00100")]


def test_unknown_record_or_format_is_not_found(client, logged_in, records) -> None:
    logged_in(Role.VIEWER)
    assert client.get("/catalog/records/999999/export.xml").status_code == 404
    assert client.get(f"/catalog/records/{records[0][0]}/export.pdf").status_code == 404


def test_export_needs_a_staff_login(client, logged_in, records) -> None:
    response = client.get(f"/catalog/records/{records[0][0]}/export.xml")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/catalog/export?format=marcxml").status_code == 302
    logged_in(Role.POINT_OPERATOR)
    assert client.get(f"/catalog/records/{records[0][0]}/export.xml").status_code == 403
    assert client.get("/catalog/export?format=marcxml").status_code == 403


def test_export_page_shows_the_form(client, logged_in) -> None:
    logged_in(Role.VIEWER)
    client.get("/lang/en")
    response = client.get("/catalog/export?q=truyen")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="export-form"' in html and "Export records" in html
    for value in ("iso2709", "marcxml", "marcjson"):
        assert f'value="{value}"' in html
    assert 'value="truyen"' in html


def test_whole_catalogue_download_is_streamed(client, logged_in, records) -> None:
    logged_in(Role.VIEWER)
    response = client.get("/catalog/export?format=marcxml&scope=all")
    assert response.status_code == 200
    assert response.is_streamed
    assert re.fullmatch(
        r'attachment; filename="tramsach-\d{8}\.xml"', response.headers["Content-Disposition"]
    )
    again = read_back(response.get_data(), "marcxml")
    assert len(again) == 3
    assert all(records_equal(a, b) for a, (_, b) in zip(again, records, strict=True))


def test_bad_export_requests_show_the_form_again(client, logged_in) -> None:
    logged_in(Role.VIEWER)
    assert client.get("/catalog/export?format=csv").status_code == 400
    assert client.get("/catalog/export?format=marcxml&scope=search&q=").status_code == 400
    assert client.get("/catalog/export?format=marcxml&scope=everything").status_code == 400


def test_search_result_download_holds_the_records_found(client, logged_in, records) -> None:
    logged_in(Role.VIEWER)
    response = client.get("/catalog/export?format=iso2709&scope=search&q=so+do")
    assert response.status_code == 200
    assert re.fullmatch(
        r'attachment; filename="tramsach-\d{8}\.mrc"', response.headers["Content-Disposition"]
    )
    (found,) = read_back(response.get_data(), "iso2709")
    assert records_equal(found, records[1][1])


def test_search_result_download_keeps_the_search_filters(client, logged_in, records) -> None:
    logged_in(Role.VIEWER)
    response = client.get("/catalog/export?format=marcjson&scope=search&year_from=1930&year_to=1940")
    assert response.status_code == 200
    (found,) = read_back(response.get_data(), "marcjson")
    assert records_equal(found, records[1][1])
    page = client.get("/catalog/export?scope=search&q=truyen&year_from=1800").get_data(as_text=True)
    assert 'name="year_from" value="1800"' in page


def test_a_search_that_finds_nothing_gives_an_empty_collection(client, logged_in, records) -> None:
    logged_in(Role.VIEWER)
    response = client.get("/catalog/export?format=marcxml&scope=search&q=khongcotrongthuvien")
    assert response.status_code == 200
    assert read_back(response.get_data(), "marcxml") == []
