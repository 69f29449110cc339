"""The full MARC editor: round trip, validation next to the offending row, reordering, locking."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from pymarc import Field, Indicators, Subfield
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from app.audit.models import AuditEvent
from app.auth.models import Role
from catalog import marc
from catalog.indexing import record_from_json
from catalog.models import Record
from catalog.services import create_record
from tests.conftest import DEFAULT_PASSWORD, post_form

INPUT_RE = re.compile(r"<input\b[^>]*>")
ATTR_RE = re.compile(r'(\w[\w-]*)="([^"]*)"')


def form_inputs(html: str) -> list[tuple[str, str]]:
    """The (name, value) pairs of the page's text and hidden inputs, in page order."""
    pairs = []
    for tag in INPUT_RE.findall(html):
        attrs = dict(ATTR_RE.findall(tag))
        if "name" in attrs and attrs.get("type", "text") in ("text", "hidden"):
            pairs.append((attrs["name"], htmllib.unescape(attrs.get("value", ""))))
    return pairs


def tags_of(pairs: list[tuple[str, str]]) -> list[str]:
    """The tags of the editor's field rows, in order."""
    return [v for n, v in pairs if re.fullmatch(r"f\d+_tag", n)]


def row_of(pairs: list[tuple[str, str]], tag: str) -> int:
    """The row number of the first field with this tag in the editor."""
    for name, value in pairs:
        m = re.fullmatch(r"f(\d+)_tag", name)
        if m and value == tag:
            return int(m.group(1))
    raise AssertionError(f"no row with tag {tag}")


def section(html: str, row: int) -> str:
    """The HTML of one field row of the editor."""
    start = html.index(f'id="row-{row}"')
    return html[start : html.index("</section>", start)]


def stored(session, record_id: int) -> Record:
    session.expire_all()
    return session.get(Record, record_id)


@pytest.fixture
def record(session) -> Record:
    built = marc.build_record(
        "Số đỏ",
        authors=["Vũ Trọng Phụng"],
        year=1936,
        publisher="Văn học",
        place="Hà Nội",
        subjects=["Văn học Việt Nam -- Tiểu thuyết"],
    )
    built.add_ordered_field(Field("999", Indicators(" ", " "), [Subfield("a", "local")]))
    row = create_record(session, built, actor_id=None)
    session.commit()
    return row


@pytest.fixture
def cataloguer(client, logged_in):
    return logged_in(Role.CATALOGUER)


def open_editor(client, record_id: int) -> tuple[str, list[tuple[str, str]]]:
    html = client.get(f"/catalog/records/{record_id}/marc").get_data(as_text=True)
    return html, form_inputs(html)


def send(client, url: str, pairs: list[tuple[str, str]], action: str):
    return client.post(url, data=MultiDict([*pairs, ("action", action)]))


def test_editor_shows_every_field_and_saving_unchanged_changes_nothing(client, cataloguer, session, record):
    marc_before, version = record.marc, record.version
    html, pairs = open_editor(client, record.id)
    names = dict(pairs)
    stored_record = record_from_json(record.marc)
    assert names["leader"] == str(stored_record.leader)
    tags = tags_of(pairs)
    assert tags == [f.tag for f in stored_record.fields]
    response = send(client, f"/catalog/records/{record.id}/marc", pairs, "save")
    assert response.status_code == 302
    assert stored(session, record.id).marc == marc_before
    assert stored(session, record.id).version == version


def test_editing_a_subfield_saves_and_is_audited(client, cataloguer, session, record):
    html, pairs = open_editor(client, record.id)
    row = row_of(pairs, "260")
    changed = [(n, "Kim Đồng," if n == f"f{row}_s1_value" else v) for n, v in pairs]
    response = send(client, f"/catalog/records/{record.id}/marc", changed, "save")
    assert response.status_code == 302
    after = stored(session, record.id)
    assert after.publisher == "Kim Đồng"
    assert record_from_json(after.marc)["999"]["a"] == "local"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "record.update")).one()
    assert event.actor_id == cataloguer.id
    assert "Kim Đồng" in event.changes["marc"][1] and "Kim Đồng" not in event.changes["marc"][0]


def _without_row(pairs, row: int):
    return [(n, v) for n, v in pairs if not re.match(rf"f{row}_", n)]


def _set(pairs, name: str, value: str):
    assert name in dict(pairs), name
    return [(n, value if n == name else v) for n, v in pairs]


@pytest.mark.parametrize(
    ("case", "tag_shown", "words"),
    [
        ("no 245", "245", "no 245"),
        ("bad indicator", "245", "first indicator 'X'"),
        ("non-numeric tag", "24A", "not numeric"),
        ("leader of wrong length", "LDR", "23 characters long"),
        ("control field with wrong length", "008", "must be 40"),
    ],
)
def test_validation_names_the_field_next_to_its_row_and_saves_nothing(
    client, cataloguer, session, record, case, tag_shown, words
):
    marc_before = record.marc
    client.get("/lang/en")
    html, pairs = open_editor(client, record.id)
    row = row_of(pairs, "245")
    if case == "no 245":
        pairs = _without_row(pairs, row)
    elif case == "bad indicator":
        pairs = _set(pairs, f"f{row}_ind1", "X")
    elif case == "non-numeric tag":
        pairs = _set(pairs, f"f{row}_tag", "24A")
    elif case == "leader of wrong length":
        pairs = _set(pairs, "leader", dict(pairs)["leader"][:23])
    else:
        pairs = _set(pairs, f"f{row_of(pairs, '008')}_data", "too short")
    response = send(client, f"/catalog/records/{record.id}/marc", pairs, "save")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert stored(session, record.id).marc == marc_before
    assert 'role="alert" id="problems"' in html
    if tag_shown == "LDR":
        leader_part = html[
            html.index('id="row-leader"') : html.index("</div>", html.index('id="row-leader"'))
        ]
        assert words in leader_part and 'class="error problem"' in leader_part
    elif case == "no 245":
        problems = html[html.index('id="problems"') : html.index("</div>", html.index('id="problems"'))]
        assert "245" in problems and words in problems
    else:
        target = row if case != "control field with wrong length" else row_of(pairs, "008")
        part = section(html, target)
        assert f'data-tag="{tag_shown}"' in part
        assert words in htmllib.unescape(part)
        # ... and only there.
        others = [section(html, i) for i in range(len(tags_of(pairs))) if i != target]
        assert not any("error problem" in o for o in others)
    # The user's input is kept for correction.
    if case == "non-numeric tag":
        assert 'value="24A"' in html


def test_check_button_validates_without_saving(client, cataloguer, session, record):
    html, pairs = open_editor(client, record.id)
    row = row_of(pairs, "260")
    pairs = _set(pairs, f"f{row}_s1_value", "Trẻ,")
    response = send(client, f"/catalog/records/{record.id}/marc", pairs, "check")
    assert response.status_code == 200
    assert "flash-info" in response.get_data(as_text=True)
    assert stored(session, record.id).publisher == "Văn học"


def test_fields_and_subfields_are_reordered_added_and_removed(client, cataloguer, session, record):
    url = f"/catalog/records/{record.id}/marc"
    html, pairs = open_editor(client, record.id)
    tags = tags_of(pairs)
    r650 = row_of(pairs, "650")
    # Move the 650 up one place.
    html = send(client, url, pairs, f"field_up:{r650}").get_data(as_text=True)
    pairs = form_inputs(html)
    moved = tags_of(pairs)
    expected = tags[: r650 - 1] + ["650", tags[r650 - 1]] + tags[r650 + 1 :]
    assert moved == expected
    # Swap the subfields of the 260 ($b before $a).
    r260 = row_of(pairs, "260")
    pairs = form_inputs(send(client, url, pairs, f"subfield_up:{r260}:1").get_data(as_text=True))
    assert [v for n, v in pairs if re.fullmatch(rf"f{r260}_s\d+_code", n)] == ["b", "a", "c"]
    # Add a 500 note: it lands in tag order, with an empty $a to fill.
    pairs = form_inputs(send(client, url, _set(pairs, "new_tag", "500"), "add_field").get_data(as_text=True))
    r500 = row_of(pairs, "500")
    pairs = _set(pairs, f"f{r500}_s0_value", "Ghi chú mới.")
    # Remove the 999.
    pairs = form_inputs(
        send(client, url, pairs, f"remove_field:{row_of(pairs, '999')}").get_data(as_text=True)
    )
    assert "999" not in tags_of(pairs)
    # Nothing is stored until Save.
    assert "Ghi chú" not in stored(session, record.id).marc
    response = send(client, url, pairs, "save")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    after = record_from_json(stored(session, record.id).marc)
    assert [f.tag for f in after.fields] == [t for t in _with_500(expected) if t != "999"]
    assert [s.code for s in after["260"].subfields] == ["b", "a", "c"]
    assert after["500"]["a"] == "Ghi chú mới."
    assert after.get_fields("999") == []


def _with_500(tags: list[str]) -> list[str]:
    at = next(i for i, t in enumerate(tags) if t > "500")
    return tags[:at] + ["500"] + tags[at:]


def test_save_after_someone_else_saved_is_refused(app, make_user, session, record):
    url = f"/catalog/records/{record.id}/marc"
    clients = []
    for _ in range(2):
        c = app.test_client()
        post_form(
            c, "/login", {"username": make_user(role=Role.CATALOGUER).username, "password": DEFAULT_PASSWORD}
        )
        c.get("/lang/en")
        clients.append(c)
    first, second = (form_inputs(c.get(url).get_data(as_text=True)) for c in clients)
    row = row_of(first, "260")
    assert send(clients[0], url, _set(first, f"f{row}_s1_value", "Kim Đồng,"), "save").status_code == 302
    response = send(clients[1], url, _set(second, f"f{row}_s1_value", "Giáo dục,"), "save")
    assert response.status_code == 409
    assert "Someone else saved this record meanwhile" in response.get_data(as_text=True)
    # The second user's input is still on the page, and the record holds the first user's change.
    assert 'value="Giáo dục,"' in response.get_data(as_text=True)
    assert stored(session, record.id).publisher == "Kim Đồng"


def test_new_record_from_scratch_in_the_marc_editor(client, cataloguer, session):
    url = "/catalog/records/new/marc"
    pairs = form_inputs(client.get(url).get_data(as_text=True))
    assert dict(pairs)["leader"][5:8] == "nam"
    row = row_of(pairs, "245")
    pairs = _set(pairs, f"f{row}_s0_value", "Tiếng chim hót trong bụi mận gai")
    response = send(client, url, pairs, "save")
    assert response.status_code == 302
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    row_ = stored(session, record_id)
    assert row_.title == "Tiếng chim hót trong bụi mận gai"
    record = record_from_json(row_.marc)
    # The template rows left empty are not stored.
    assert [f.tag for f in record.fields] == ["008", "082", "245"]
    # Saving the same again (a double click) does not make a second record.
    again = send(client, url, pairs, "save")
    assert again.headers["Location"].endswith(f"/{record_id}")
    assert session.scalar(select(func.count()).select_from(Record)) == 1


def test_html_typed_in_the_editor_stays_text(client, cataloguer, session, record):
    url = f"/catalog/records/{record.id}/marc"
    html, pairs = open_editor(client, record.id)
    pairs = _set(pairs, f"f{row_of(pairs, '245')}_s0_value", '"><script>alert(1)</script>')
    html = send(client, url, pairs, "check").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert "&#34;&gt;&lt;script&gt;" in html or "&quot;&gt;&lt;script&gt;" in html
