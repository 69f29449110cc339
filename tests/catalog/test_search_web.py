"""Search pages: the staff search at /catalog/ and the public catalogue at /opac/."""

from __future__ import annotations

import re

import pytest

from catalog.marc import build_record
from catalog.services import add_items, create_record, create_sequence


@pytest.fixture
def books(session, make_site):
    library = make_site(kind="provincial_library", name="Thư viện tỉnh Sơn La")
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    session.commit()
    rows = {}
    for key, title, year in [
        ("duong", "Đường lên Tây Bắc", 2015),
        ("evil", "<script>alert('x')</script> Sách độc", 2001),
    ]:
        row = create_record(
            session,
            build_record(title, authors=["Nguyễn Văn An"], publisher="Nxb. Kim Đồng", year=year),
            actor_id=None,
        )
        add_items(
            session,
            row,
            count=2,
            sequence_id=seq.id,
            values={
                "library_id": library.id,
                "call_number": "895.922 NG-A",
                "price_vnd": 123456,
                "notes": "ghi chú nội bộ bí mật",
                "status": "available",
            },
            actor_id=None,
        )
        rows[key] = row
    session.commit()
    return rows


def test_opac_search_works_without_login(client, books):
    response = client.get("/opac/?q=duong")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Đường lên Tây Bắc" in html
    assert f'href="/opac/records/{books["duong"].id}"' in html
    assert "895.922 NG-A" in html
    assert 'id="results"' in html


def test_opac_page_without_query_shows_only_the_form(client, books):
    response = client.get("/opac/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="q"' in html and 'id="results"' not in html


def test_opac_escapes_html_from_marc_data(client, books):
    html = client.get("/opac/?q=sach doc").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    page = client.get(f"/opac/records/{books['evil'].id}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


def test_opac_record_page_shows_copies_but_no_staff_data(client, books):
    response = client.get(f"/opac/records/{books['duong'].id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Đường lên Tây Bắc" in html
    assert "Nxb. Kim Đồng" in html
    assert html.count("895.922 NG-A") >= 2
    assert "Thư viện tỉnh Sơn La" in html
    assert "123456" not in html and "123.456" not in html
    assert "bí mật" not in html
    assert client.get("/opac/records/999999").status_code == 404


def test_opac_in_english_shows_availability(client, books):
    client.get("/lang/en")
    html = client.get("/opac/?q=đường").get_data(as_text=True)
    assert "2 of 2 copies available" in html
    assert "1 record" in html


def test_opac_filters_and_pages_are_links(client, session, books):
    for n in range(25):
        create_record(session, build_record(f"Truyện ngắn số {n + 1}", year=1990), actor_id=None)
    session.commit()
    html = client.get("/opac/?q=truyen+ngan&year_from=1990&year_to=1990&sort=title").get_data(as_text=True)
    assert len(re.findall(r'class="card hit"', html)) == 20
    assert 'rel="next"' in html
    nxt = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "page=2" in nxt and "year_from=1990" in nxt
    second = client.get(nxt).get_data(as_text=True)
    assert len(re.findall(r'class="card hit"', second)) == 5
    filtered = client.get("/opac/?q=truyen+ngan&year_from=2000").get_data(as_text=True)
    assert 'id="no-results"' in filtered


def test_opac_bad_parameters_do_not_fail(client, books):
    for query in (
        "?q=AND+OR+NOT+(+)+*+%22",
        "?q=x&page=-3",
        "?q=x&page=abc",
        "?year_from=abc&library=x&status=nope&sort=nope",
        "?q=" + "a" * 2000,
    ):
        assert client.get("/opac/" + query).status_code == 200, query


def test_opac_is_rate_limited(client, books):
    codes = [client.get("/opac/?q=duong").status_code for _ in range(61)]
    assert codes[:60] == [200] * 60
    assert codes[60] == 429


def test_staff_search_needs_login(client, books):
    response = client.get("/catalog/?q=duong")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["viewer", "cataloguer", "rotation"])
def test_staff_search_for_staff(client, logged_in, books, role):
    logged_in(role)
    response = client.get("/catalog/?q=đường")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Đường lên Tây Bắc" in html
    assert f"/catalog/records/{books['duong'].id}" in html


def test_point_operator_cannot_use_staff_search(client, logged_in, books):
    logged_in("point_operator")
    assert client.get("/catalog/?q=duong").status_code == 403
