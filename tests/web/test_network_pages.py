"""The network pages: site list, filters and search, site view, create and edit, units, access rules."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.network.models import AdminUnit, Site, SiteKind, UnitLevel
from app.network.services import create_site, create_unit, unit_on
from tests.conftest import post_form

BEFORE = date(2025, 6, 30)
AFTER = date(2025, 7, 1)


def build_units(session) -> dict[str, AdminUnit]:
    """Sơn La, two districts with a commune each before the reform, and one commune after it."""
    province = create_unit(
        session, code="SL", name="Tỉnh Sơn La", level=UnitLevel.PROVINCE, valid_from=date(2004, 1, 1)
    )
    muong_la = create_unit(
        session,
        code="H-ML",
        name="Huyện Mường La",
        level=UnitLevel.DISTRICT,
        valid_from=date(2004, 1, 1),
        valid_to=BEFORE,
        parent=province,
    )
    song_ma = create_unit(
        session,
        code="H-SM",
        name="Huyện Sông Mã",
        level=UnitLevel.DISTRICT,
        valid_from=date(2004, 1, 1),
        valid_to=BEFORE,
        parent=province,
    )
    it_ong = create_unit(
        session,
        code="X-ITONG",
        name="Thị trấn Ít Ong",
        level=UnitLevel.COMMUNE,
        valid_from=date(2004, 1, 1),
        valid_to=BEFORE,
        parent=muong_la,
    )
    chieng_khuong = create_unit(
        session,
        code="X-CKHUONG",
        name="Xã Chiềng Khương",
        level=UnitLevel.COMMUNE,
        valid_from=date(2004, 1, 1),
        valid_to=BEFORE,
        parent=song_ma,
    )
    new_muong_la = create_unit(
        session,
        code="XM-MUONGLA",
        name="Xã Mường La",
        level=UnitLevel.COMMUNE,
        valid_from=AFTER,
        parent=province,
    )
    session.commit()
    return {
        "province": province,
        "muong_la": muong_la,
        "song_ma": song_ma,
        "it_ong": it_ong,
        "chieng_khuong": chieng_khuong,
        "new_muong_la": new_muong_la,
    }


@pytest.fixture
def units(session):
    return build_units(session)


@pytest.fixture
def english(client):
    """Switch the signed-in user's interface to English, so assertions read the msgids."""

    def do():
        client.get("/lang/en")

    return do


@pytest.fixture
def staff(logged_in, english):
    """Sign in with a role and switch to English."""

    def do(role="admin"):
        user = logged_in(role)
        english()
        return user

    return do


def _html(response) -> str:
    return response.get_data(as_text=True)


# --- list, filters, search ---


def test_search_finds_names_without_diacritics(staff, client, make_site):
    make_site(code="P-SL", name="Điểm Bưu điện – Văn hóa xã Sơn La")
    make_site(code="P-DH", name="Đường Hoa bookcase")
    make_site(code="P-TC", name="Thư viện trường Thuận Châu")
    staff("viewer")

    html = _html(client.get("/network/sites?q=son+la"))
    assert "P-SL" in html and "P-DH" not in html and "P-TC" not in html

    html = _html(client.get("/network/sites?q=duong"))
    assert "P-DH" in html and "P-SL" not in html

    html = _html(client.get("/network/sites?q=THUAN chau"))
    assert "P-TC" in html and "P-SL" not in html

    html = _html(client.get("/network/sites?q=p-d"))  # by code prefix
    assert "P-DH" in html and "P-TC" not in html


def test_filters_by_kind_group_and_active(staff, client, make_site):
    make_site(code="LIB-1", name="Thư viện huyện Mai Sơn", kind=SiteKind.DISTRICT_LIBRARY)
    make_site(code="SCH-1", name="Trường tiểu học Hát Lót", kind=SiteKind.SCHOOL_LIBRARY)
    make_site(code="OFF-1", name="Điểm đã đóng", kind=SiteKind.SCHOOL_LIBRARY, is_active=False)
    staff("rotation")

    html = _html(client.get("/network/sites?group=libraries"))
    assert "LIB-1" in html and "SCH-1" not in html

    html = _html(client.get("/network/sites?group=points"))
    assert "SCH-1" in html and "LIB-1" not in html and "OFF-1" not in html

    html = _html(client.get("/network/sites?kind=school_library&active=all"))
    assert "SCH-1" in html and "OFF-1" in html and "LIB-1" not in html

    html = _html(client.get("/network/sites?active=no"))
    assert "OFF-1" in html and "SCH-1" not in html

    html = _html(client.get("/network/sites"))  # active only by default
    assert "OFF-1" not in html and "SCH-1" in html


def test_district_filter_follows_the_unit_history(staff, client, session, make_site, units):
    moved = make_site(code="MOVED", name="Điểm Ít Ong", admin_unit_id=units["it_ong"].id)
    other = make_site(code="OTHER", name="Điểm Chiềng Khương", admin_unit_id=units["chieng_khuong"].id)
    from app.network.services import update_site

    update_site(session, moved, {"admin_unit_id": units["new_muong_la"].id}, actor_id=None, unit_since=AFTER)
    session.commit()
    staff("viewer")
    district = units["muong_la"].id

    html = _html(client.get(f"/network/sites?district={district}"))
    assert "MOVED" in html and "OTHER" not in html

    html = _html(client.get(f"/network/sites?district={district}&on=2025-06-01"))
    assert "MOVED" in html and "OTHER" not in html

    # After the reform there are no districts: the site is no longer in Mường La district.
    html = _html(client.get(f"/network/sites?district={district}&on=2025-08-01"))
    assert "MOVED" not in html
    assert other.code not in html


def test_list_is_in_vietnamese_order(staff, client, make_site):
    make_site(code="C-3", name="Én")
    make_site(code="C-2", name="Đá Đỏ")
    make_site(code="C-1", name="Dốc Cun")
    staff("viewer")
    html = _html(client.get("/network/sites"))
    # Code-point order would put Đ after E; Vietnamese puts d < đ < e.
    assert html.index("Dốc Cun") < html.index("Đá Đỏ") < html.index("Én")


def test_list_has_pages(staff, client, make_site):
    for n in range(52):
        make_site(code=f"PG-{n:03d}", name=f"Điểm {n:03d}")
    staff("viewer")
    first = _html(client.get("/network/sites"))
    second = _html(client.get("/network/sites?page=2"))
    assert "PG-000" in first and "PG-049" in first and "PG-050" not in first
    assert "PG-050" in second and "PG-051" in second and "PG-000" not in second
    assert "52 sites" in first


def test_list_uses_data_labels_for_phones(staff, client, make_site):
    make_site(code="DL-1", name="Điểm nhãn")
    staff("viewer")
    html = _html(client.get("/network/sites"))
    assert 'data-label="Code"' in html and 'data-label="Name"' in html


def test_html_in_names_is_escaped(staff, client, make_site):
    site = make_site(code="XSS", name='<script>alert("x")</script> & <b>bold</b>')
    staff("viewer")
    for url in ("/network/sites", f"/network/sites/{site.id}"):
        html = _html(client.get(url))
        assert "<script>alert" not in html and "<b>bold</b>" not in html
        assert "&lt;script&gt;alert(" in html


# --- view ---


def test_view_shows_fields_history_and_served_points(staff, client, session, make_site, units):
    library = make_site(code="TV-ML", name="Thư viện huyện Mường La", kind=SiteKind.DISTRICT_LIBRARY)
    point = make_site(
        code="BD-IO",
        name="Điểm BĐ-VH Ít Ong",
        admin_unit_id=units["it_ong"].id,
        served_by_id=library.id,
        contact_person="Lò Thị Hoa",
        phone="0212 3840 123",
        capacity=250,
        address="Bản Bó, Ít Ong",
    )
    from app.network.services import update_site

    update_site(session, point, {"admin_unit_id": units["new_muong_la"].id}, actor_id=None, unit_since=AFTER)
    session.commit()
    admin = staff("admin")
    assert admin.role == "admin"

    html = _html(client.get(f"/network/sites/{point.id}"))
    for text in ("BD-IO", "Lò Thị Hoa", "0212 3840 123", "250", "Bản Bó, Ít Ong", "Thư viện huyện Mường La"):
        assert text in html
    assert "Thị trấn Ít Ong" in html and "Xã Mường La" in html
    assert "01/01/2004" in html and "30/06/2025" in html and "01/07/2025" in html
    assert f"object_id={point.id}" in html and "object_type=site" in html

    html = _html(client.get(f"/network/sites/{library.id}"))
    assert "Sites served by this library" in html and "BD-IO" in html


def test_view_warns_when_the_unit_has_ended(staff, client, make_site, units):
    stale = make_site(code="STALE", name="Điểm chưa chuyển", admin_unit_id=units["it_ong"].id)
    moved = make_site(code="FRESH", name="Điểm đã chuyển", admin_unit_id=units["new_muong_la"].id)
    staff("viewer")
    assert "ended on 30/06/2025" in _html(client.get(f"/network/sites/{stale.id}"))
    assert "ended on" not in _html(client.get(f"/network/sites/{moved.id}"))


def test_unknown_site_is_404(staff, client):
    staff("viewer")
    assert client.get("/network/sites/999999").status_code == 404
    assert client.get("/network/sites/999999/edit").status_code in (403, 404)


# --- create and edit ---


def _form(**overrides) -> dict:
    values = {
        "code": "pc-chieng-sinh",
        "name": "Điểm Bưu điện – Văn hóa xã Chiềng Sinh",
        "kind": "post_culture_point",
        "admin_unit_id": "",
        "served_by_id": "",
        "address": "Tổ 2, phường Chiềng Sinh",
        "contact_person": "Cầm Văn Khánh",
        "phone": "0912 345 678",
        "capacity": "300",
        "is_active": "y",
        "notes": "",
    }
    values.update(overrides)
    return values


def test_create_site_and_audit(staff, client, session, units):
    user = staff("rotation")
    response = post_form(client, "/network/sites/new", _form(admin_unit_id=str(units["new_muong_la"].id)))
    assert response.status_code == 302
    site = session.scalar(select(Site).where(Site.code == "PC-CHIENG-SINH"))
    assert site is not None
    assert response.headers["Location"].endswith(f"/network/sites/{site.id}")
    assert site.name == "Điểm Bưu điện – Văn hóa xã Chiềng Sinh"
    assert site.capacity == 300 and site.is_active
    assert unit_on(session, site, date(2025, 8, 1)).code == "XM-MUONGLA"
    event = session.scalar(select(AuditEvent).where(AuditEvent.object_type == "site"))
    assert event.action == "site.create" and event.actor_id == user.id
    assert event.object_id == str(site.id)


def test_create_shows_validation_errors_next_to_fields(staff, client, session):
    staff("admin")
    response = post_form(client, "/network/sites/new", _form(name=""))
    html = _html(response)
    assert response.status_code == 200
    assert "This field is required." in html
    assert 'class="field has-error"' in html

    # Rules the service enforces are shown next to their field too.
    response = post_form(client, "/network/sites/new", _form(code="mã sai!"))
    html = _html(response)
    assert response.status_code == 200
    error_at = html.index("A code may contain only letters A-Z")
    assert html.rindex('name="code"', 0, error_at) > html.rindex('class="field', 0, error_at) > 0
    assert html.rindex('class="field has-error"', 0, error_at) > html.rindex('name="csrf_token"', 0, error_at)

    response = post_form(client, "/network/sites/new", _form(name="x" * 201))
    assert "Field cannot be longer than 200 characters." in _html(response)

    response = post_form(client, "/network/sites/new", _form(capacity="nhiều"))
    assert response.status_code == 200
    response = post_form(client, "/network/sites/new", _form(kind="castle"))
    assert response.status_code == 200
    assert session.scalar(select(func.count()).select_from(Site)) == 0


def test_served_by_must_be_a_library(staff, client, session, make_site):
    point = make_site(code="NOT-LIB", name="Điểm không phải thư viện")
    staff("admin")
    response = post_form(client, "/network/sites/new", _form(served_by_id=str(point.id)))
    assert response.status_code == 200  # not offered as a choice: the form refuses it
    assert session.scalar(select(func.count()).select_from(Site)) == 1


def test_double_submit_creates_one_site(staff, client, session):
    staff("admin")
    first = post_form(client, "/network/sites/new", _form(), page="/network/sites/new")
    second = post_form(client, "/network/sites/new", _form(), page="/network/sites/new")
    assert first.status_code == 302
    assert second.status_code == 200
    assert "A site with code PC-CHIENG-SINH already exists." in _html(second)
    assert session.scalar(select(func.count()).select_from(Site)) == 1


def test_edit_changes_unit_and_keeps_history(staff, client, session, make_site, units):
    site = make_site(code="MOVE-ME", name="Điểm Ít Ong", admin_unit_id=units["it_ong"].id)
    user = staff("rotation")
    page = client.get(f"/network/sites/{site.id}/edit")
    assert page.status_code == 200 and "MOVE-ME" in _html(page)
    response = post_form(
        client,
        f"/network/sites/{site.id}/edit",
        _form(
            code="MOVE-ME",
            name="Điểm Bưu điện – Văn hóa Mường La",
            admin_unit_id=str(units["new_muong_la"].id),
            unit_since="2025-07-01",
        ),
    )
    assert response.status_code == 302
    session.expire_all()
    site = session.get(Site, site.id)
    assert site.name == "Điểm Bưu điện – Văn hóa Mường La"
    assert unit_on(session, site, BEFORE).code == "X-ITONG"
    assert unit_on(session, site, AFTER).code == "XM-MUONGLA"
    assert [p.valid_to for p in site.unit_history] == [BEFORE, None]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "site.update"))
    assert event.actor_id == user.id and "admin_unit_id" in event.changes and "name" in event.changes


def test_edit_validation_error_changes_nothing(staff, client, session, make_site):
    site = make_site(code="KEEP", name="Tên cũ")
    make_site(code="TAKEN", name="Điểm khác")
    staff("admin")
    response = post_form(client, f"/network/sites/{site.id}/edit", _form(code="TAKEN", name="Tên mới"))
    assert response.status_code == 200
    assert "A site with code TAKEN already exists." in _html(response)
    session.expire_all()
    assert session.get(Site, site.id).name == "Tên cũ"


# --- units ---


def test_units_page_filters_by_date_and_level(staff, client, units):
    staff("viewer")
    today = _html(client.get("/network/units"))
    assert "Xã Mường La" in today and "Thị trấn Ít Ong" not in today
    before = _html(client.get("/network/units?on=2025-06-01"))
    assert "Thị trấn Ít Ong" in before and "Xã Mường La" not in before and "Huyện Mường La" in before
    everything = _html(client.get("/network/units?all=1"))
    assert "Thị trấn Ít Ong" in everything and "Xã Mường La" in everything
    districts = _html(client.get("/network/units?all=1&level=district"))
    assert "Huyện Sông Mã" in districts and "Thị trấn Ít Ong" not in districts


# --- access ---

NETWORK_VIEW_URLS = ["/network/sites", "/network/units", "/network/sites/export.csv"]
NETWORK_EDIT_URLS = ["/network/sites/new", "/network/sites/import"]


def test_point_operator_cannot_open_network_pages(logged_in, client, make_site):
    site = make_site(code="OWN", name="Điểm của tôi")
    logged_in("point_operator", sites=[site])
    for url in [
        *NETWORK_VIEW_URLS,
        *NETWORK_EDIT_URLS,
        f"/network/sites/{site.id}",
        f"/network/sites/{site.id}/edit",
    ]:
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", ["viewer", "cataloguer", "acquisitions"])
def test_other_staff_can_view_but_not_edit(logged_in, english, client, session, make_site, role):
    site = make_site(code="VIEW", name="Điểm xem")
    logged_in(role)
    english()
    for url in [*NETWORK_VIEW_URLS, f"/network/sites/{site.id}"]:
        assert client.get(url).status_code == 200, url
    for url in [*NETWORK_EDIT_URLS, f"/network/sites/{site.id}/edit"]:
        assert client.get(url).status_code == 403, url
    html = _html(client.get("/network/sites"))
    assert "New site" not in html and "Import CSV" not in html
    token_page = _html(client.get("/"))
    from tests.conftest import csrf_from

    response = client.post(
        "/network/sites/new", data={"csrf_token": csrf_from(token_page), **_form(code="SNEAK")}
    )
    assert response.status_code == 403
    assert session.scalar(select(func.count()).select_from(Site)) == 1
    assert "History of this site" not in _html(client.get(f"/network/sites/{site.id}"))


@pytest.mark.parametrize("role", ["admin", "rotation"])
def test_admin_and_rotation_can_edit(staff, client, role):
    staff(role)
    for url in NETWORK_EDIT_URLS:
        assert client.get(url).status_code == 200, url
    assert "New site" in _html(client.get("/network/sites"))


def test_create_via_services_directly_audits_each_site(session):
    for n in range(3):
        create_site(session, {"code": f"A{n}", "name": f"Điểm {n}", "kind": "other_point"}, actor_id=None)
    session.commit()
    count = session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "site.create")
    )
    assert count == 3
