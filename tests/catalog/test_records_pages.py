"""The record page and the simple cataloguing form: create, edit, double submit, access, escaping."""

from __future__ import annotations

import re
import threading
import unicodedata

import pytest
from pymarc import Field, Indicators, Subfield
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.network.models import SiteKind
from app.timeutil import local_today
from catalog import marc
from catalog.indexing import record_from_json
from catalog.models import Item, Record
from catalog.services import add_items, create_record, create_sequence
from tests.conftest import DEFAULT_PASSWORD, csrf_from, post_form

FORM = {
    "title": "Truyện Kiều",
    "subtitle": "thơ lục bát",
    "responsibility": "Nguyễn Du ; Đào Duy Anh chú giải",
    "authors": "Nguyễn Du\r\nĐào Duy Anh",
    "isbns": "978-604-1-23456-7",
    "publisher": "Văn học",
    "place": "Hà Nội",
    "year": "2015",
    "edition": "Tái bản lần thứ 3",
    "language": "tha",
    "pages": "250 tr.",
    "dimensions": "21 cm",
    "classification": "895.9221",
    "subjects": "Văn học Việt Nam -- Thơ\r\nTruyện thơ",
    "series": "Tủ sách văn học",
    "series_number": "5",
    "notes": "Có chú thích",
    "copies_count": "0",
}


@pytest.fixture
def library(make_site):
    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


def stored(session, record_id: int) -> Record:
    session.expire_all()
    return session.get(Record, record_id)


def record_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Record))


def new_record(session, **kwargs) -> Record:
    values = {"authors": ["Nguyễn Du"], "year": 2015, "classification": "895.9221"}
    values.update(kwargs)
    title = values.pop("title", "Truyện Kiều")
    row = create_record(session, marc.build_record(title, **values), actor_id=None)
    session.commit()
    return row


def record_id_from(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.search(r"/catalog/records/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


# --- create --------------------------------------------------------------------------------------


def test_simple_form_builds_a_valid_marc_record(client, logged_in, session) -> None:
    user = logged_in(Role.CATALOGUER)
    response = post_form(client, "/catalog/records/new", FORM)
    row = stored(session, record_id_from(response))
    record = record_from_json(row.marc)

    assert [p for p in marc.validate(record) if p.severity == "error"] == []
    assert str(record.leader)[5:10] == "nam a"
    data008 = record.get_fields("008")[0].data
    assert len(data008) == 40
    assert data008[0:6] == local_today().strftime("%y%m%d")  # date entered
    assert data008[6:11] == "s2015"
    assert data008[15:18] == "vm "  # place: Vietnam
    assert data008[35:38] == "tha"  # language chosen in the select
    assert record["245"]["a"].startswith("Truyện Kiều")
    assert record["245"]["c"].startswith("Nguyễn Du ; Đào Duy Anh")
    assert record["100"]["a"] == "Nguyễn Du"
    assert [f["a"] for f in record.get_fields("700")] == ["Đào Duy Anh"]
    assert [f.value() for f in record.get_fields("650")] == ["Văn học Việt Nam Thơ", "Truyện thơ"]
    assert record["082"]["a"] == "895.9221"
    assert row.title.startswith("Truyện Kiều")
    assert row.language == "tha" and row.year == 2015 and row.isbn == "9786041234567"
    assert row.created_by_id == user.id
    events = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "record")).all()
    assert [(e.action, e.object_id, e.actor_id) for e in events] == [("record.create", str(row.id), user.id)]


def test_simple_form_needs_a_title_and_a_four_digit_year(client, logged_in, session) -> None:
    logged_in(Role.CATALOGUER)
    response = post_form(client, "/catalog/records/new", {**FORM, "title": " ", "year": "15"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('class="error"') >= 2
    assert record_count(session) == 0


def test_two_identical_posts_create_one_record(client, logged_in, session) -> None:
    logged_in(Role.CATALOGUER)
    token = csrf_from(client.get("/catalog/records/new").get_data(as_text=True))
    first = client.post("/catalog/records/new", data={"csrf_token": token, **FORM})
    second = client.post("/catalog/records/new", data={"csrf_token": token, **FORM})
    assert record_id_from(first) == record_id_from(second)
    assert record_count(session) == 1
    # A different record right after is created normally.
    third = client.post("/catalog/records/new", data={"csrf_token": token, **FORM, "title": "Lục Vân Tiên"})
    assert record_id_from(third) != record_id_from(first)
    assert record_count(session) == 2


def test_two_identical_posts_at_the_same_moment_create_one_record(app, make_user, session) -> None:
    user = make_user(role=Role.CATALOGUER)
    clients = [app.test_client() for _ in range(2)]
    tokens = []
    for c in clients:
        post_form(c, "/login", {"username": user.username, "password": DEFAULT_PASSWORD})
        tokens.append(csrf_from(c.get("/catalog/records/new").get_data(as_text=True)))
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def send(n: int) -> None:
        barrier.wait()
        results[n] = clients[n].post("/catalog/records/new", data={"csrf_token": tokens[n], **FORM})

    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert record_id_from(results[0]) == record_id_from(results[1])
    assert record_count(session) == 1


def test_new_record_with_copies_in_the_same_step(client, logged_in, session, library) -> None:
    logged_in(Role.CATALOGUER)
    seq = create_sequence(session, library_id=library.id, prefix="VN", width=5, actor_id=None)
    session.commit()
    data = {**FORM, "copies_count": "3", "copies_sequence_id": str(seq.id), "copies_location": "Kho mở"}
    row = stored(session, record_id_from(post_form(client, "/catalog/records/new", data)))
    items = session.scalars(select(Item).where(Item.record_id == row.id).order_by(Item.id)).all()
    assert [i.accession_number for i in items] == ["VN.00001", "VN.00002", "VN.00003"]
    # Class number from the record, author mark from the given name of "Nguyễn Du".
    assert {i.call_number for i in items} == {"895.9221 DU"}
    assert {i.library_id for i in items} == {library.id}
    assert {i.location for i in items} == {"Kho mở"}


def test_copies_on_the_create_form_need_a_series(client, logged_in, session) -> None:
    logged_in(Role.CATALOGUER)
    response = post_form(client, "/catalog/records/new", {**FORM, "copies_count": "2"})
    assert response.status_code == 200
    assert record_count(session) == 0


# --- edit with the simple form -------------------------------------------------------------------


def record_with_local_fields(session) -> Record:
    built = marc.build_record(
        "Truyện Kiều", authors=["Nguyễn Du"], year=1990, publisher="Văn học", place="Hà Nội", language="vie"
    )
    built.add_ordered_field(Field("001", data="SL-000123"))
    built.add_ordered_field(Field("035", Indicators(" ", " "), [Subfield("a", "(LIBOL)123")]))
    built.add_ordered_field(Field("041", Indicators("0", " "), [Subfield("a", "vie"), Subfield("a", "chi")]))
    built.add_ordered_field(
        Field("880", Indicators("1", "0"), [Subfield("6", "245-01/$1"), Subfield("a", "傳翹 /")])
    )
    built.add_ordered_field(
        Field("952", Indicators(" ", " "), [Subfield("a", "TVT"), Subfield("p", "VV.00042")])
    )
    built.add_ordered_field(Field("999", Indicators(" ", " "), [Subfield("c", "77"), Subfield("d", "77")]))
    row = create_record(session, built, actor_id=None)
    session.commit()
    return row


def edit_form_values(client, record_id: int) -> dict[str, str]:
    """The values the edit page shows, read from its HTML like a browser would submit them."""
    html = client.get(f"/catalog/records/{record_id}/edit").get_data(as_text=True)
    values = {"csrf_token": csrf_from(html)}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html):
        values.setdefault(name, value)
    for name, value in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>\n?(.*?)</textarea>', html, re.S):
        values[name] = value
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', body)
        values[name] = next(g for g in chosen.groups() if g is not None) if chosen else ""
    return {k: _unescape(v) for k, v in values.items()}


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_edit_keeps_880_9xx_and_local_fields(client, logged_in, session) -> None:
    logged_in(Role.CATALOGUER)
    row = record_with_local_fields(session)
    before, version = record_from_json(row.marc), row.version
    values = edit_form_values(client, row.id)
    assert values["title"] == "Truyện Kiều" and values["year"] == "1990"
    values.update(title="Truyện Kiều (Đoạn trường tân thanh)", year="1991")
    response = client.post(f"/catalog/records/{row.id}/edit", data=values)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]

    after = record_from_json(stored(session, row.id).marc)
    untouched = ("001", "035", "041", "100", "880", "952", "999")
    for tag in untouched:
        assert [f.value() for f in after.get_fields(tag)] == [f.value() for f in before.get_fields(tag)], tag
        assert [str(f) for f in after.get_fields(tag)] == [str(f) for f in before.get_fields(tag)], tag
    assert after["245"]["a"].startswith("Truyện Kiều (Đoạn trường tân thanh)")
    assert after["260"]["c"] == "1991."
    assert after.get_fields("008")[0].data[7:11] == "1991"
    assert stored(session, row.id).year == 1991
    assert stored(session, row.id).version == version + 1


def test_edit_without_changes_keeps_the_stored_record_byte_for_byte(client, logged_in, session) -> None:
    logged_in(Role.CATALOGUER)
    # Decomposed text as real records arrive: the form shows NFC, the stored record stays as received.
    decomposed = unicodedata.normalize("NFD", "Dế Mèn phiêu lưu ký")
    row = new_record(session, title=decomposed, authors=["Tô Hoài"])
    marc_before, version = row.marc, row.version
    values = edit_form_values(client, row.id)
    assert values["title"] == unicodedata.normalize("NFC", decomposed)
    response = client.post(f"/catalog/records/{row.id}/edit", data=values)
    assert response.status_code == 302
    assert stored(session, row.id).marc == marc_before
    assert stored(session, row.id).version == version


def test_edit_refused_after_someone_else_saved(app, make_user, session) -> None:
    row = new_record(session)
    user_a, user_b = make_user(role=Role.CATALOGUER), make_user(role=Role.CATALOGUER)
    a, b = app.test_client(), app.test_client()
    for c, u in ((a, user_a), (b, user_b)):
        post_form(c, "/login", {"username": u.username, "password": DEFAULT_PASSWORD})
    values_a = edit_form_values(a, row.id)
    values_b = edit_form_values(b, row.id)
    assert (
        a.post(f"/catalog/records/{row.id}/edit", data={**values_a, "publisher": "Kim Đồng"}).status_code
        == 302
    )
    response = b.post(f"/catalog/records/{row.id}/edit", data={**values_b, "publisher": "Giáo dục"})
    assert response.status_code == 200
    assert "flash-error" in response.get_data(as_text=True)
    assert stored(session, row.id).publisher == "Kim Đồng"
    b.get("/lang/en")
    response = b.post(f"/catalog/records/{row.id}/edit", data={**values_b, "publisher": "Giáo dục"})
    assert "Someone else saved this record meanwhile" in response.get_data(as_text=True)


def test_edit_records_the_change_in_the_audit_log(client, logged_in, session) -> None:
    user = logged_in(Role.ADMIN)
    row = new_record(session)
    values = edit_form_values(client, row.id)
    client.post(f"/catalog/records/{row.id}/edit", data={**values, "classification": "895.92213"})
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "record.update")).one()
    assert event.object_id == str(row.id) and event.actor_id == user.id
    assert event.changes["classification"] == ["895.9221", "895.92213"]
    assert "895.92213" in event.changes["marc"][1]


# --- the record page ----------------------------------------------------------------------------


def test_record_page_shows_description_marc_copies_and_history(client, logged_in, session, library) -> None:
    user = logged_in(Role.CATALOGUER)
    row = new_record(
        session,
        subtitle="thơ",
        responsibility="Nguyễn Du",
        publisher="Văn học",
        place="Hà Nội",
        pages="250 tr.",
        dimensions="21 cm",
        series="Tủ sách văn học",
        series_number="5",
        subjects=["Văn học Việt Nam -- Thơ"],
        isbn="978-604-1-23456-7",
        notes=["Có chú thích"],
    )
    seq = create_sequence(session, library_id=library.id, prefix="VV", width=5, actor_id=None)
    add_items(
        session,
        row,
        count=2,
        sequence_id=seq.id,
        values={"library_id": library.id, "price_vnd": 85000},
        actor_id=user.id,
    )
    session.commit()
    client.get("/lang/en")
    response = client.get(f"/catalog/records/{row.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # The ISBD-like description, in ISBD order.
    assert (
        "Truyện Kiều : thơ / Nguyễn Du. — Hà Nội : Văn học, 2015. — 250 tr. ; 21 cm. — (Tủ sách văn học ; 5)"
        in html
    )
    assert "Văn học Việt Nam -- Thơ" in html and "978-604-1-23456-7" in html and "Có chú thích." in html
    # The MARC view: tags, indicators with # for blank, subfield codes.
    assert "245 10 <b>$a</b>Truyện Kiều :" in html
    assert "082 04 <b>$a</b>895.9221<b>$2</b>23" in html
    # The copies, with a translated status and the price in đồng.
    assert html.count('class="item"') == 2
    assert "VV.00001" in html and "VV.00002" in html and "In processing" in html and "85.000 ₫" in html
    # The history: the two copies, newest first.
    assert re.findall(r'data-action="([^"]+)"', html) == ["item.create", "item.create", "record.create"]


def test_html_in_marc_data_is_escaped(client, logged_in, session) -> None:
    logged_in(Role.VIEWER)
    row = new_record(
        session,
        title="<script>alert('x')</script>",
        authors=['<img src=x onerror="alert(1)">'],
        notes=["<b>bold</b> & more"],
    )
    html = client.get(f"/catalog/records/{row.id}").get_data(as_text=True)
    assert "<script>alert" not in html
    assert "<img src=x" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html


def test_missing_record_is_404(client, logged_in) -> None:
    logged_in(Role.CATALOGUER)
    assert client.get("/catalog/records/999999").status_code == 404
    assert client.get("/catalog/records/999999/edit").status_code == 404
    assert client.get("/catalog/records/999999/marc").status_code == 404


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ROTATION, Role.ACQUISITIONS])
def test_other_staff_view_but_cannot_edit(client, logged_in, session, role) -> None:
    logged_in(role)
    row = new_record(session)
    marc_before = row.marc
    assert client.get(f"/catalog/records/{row.id}").status_code == 200
    html = client.get(f"/catalog/records/{row.id}").get_data(as_text=True)
    assert 'id="edit-record"' not in html
    for url in (
        "/catalog/records/new",
        f"/catalog/records/{row.id}/edit",
        f"/catalog/records/{row.id}/marc",
        "/catalog/records/new/marc",
        f"/catalog/records/{row.id}/items/new",
        "/catalog/sequences",
    ):
        assert client.get(url).status_code == 403, url
    token = csrf_from(client.get(f"/catalog/records/{row.id}").get_data(as_text=True))
    response = client.post(f"/catalog/records/{row.id}/edit", data={"csrf_token": token, **FORM})
    assert response.status_code == 403
    assert stored(session, row.id).marc == marc_before


def test_point_operator_cannot_open_the_record_page(client, logged_in, session) -> None:
    logged_in(Role.POINT_OPERATOR)
    row = new_record(session)
    assert client.get(f"/catalog/records/{row.id}").status_code == 403
    assert client.get("/catalog/records/new").status_code == 403
