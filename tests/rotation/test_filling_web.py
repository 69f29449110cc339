"""Filling a batch through the pages (search result, automatic fill with preview), scan JSON, CLI."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from app.auth.models import Role
from catalog.models import Item
from rotation.models import BatchItem
from rotation.services import batches as svc
from tests.conftest import post_form
from tests.rotation.test_filling_service import new_batch, title


@pytest.fixture
def library(make_site):
    from app.network.models import SiteKind

    return make_site(code="TVT", name="Thư viện tỉnh Sơn La", kind=SiteKind.PROVINCIAL_LIBRARY)


def members(session, batch_id):
    session.expire_all()
    return set(session.scalars(select(BatchItem.item_id).where(BatchItem.batch_id == batch_id)))


def test_search_shows_copies_with_eligibility_and_adds_ticked_or_all(client, logged_in, session, library):
    good = title(session, library, copies=2, cls="895.922")
    rare = title(session, library, is_rare=True)
    batch = new_batch(session, library)
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    url = f"/rotation/batches/{batch.code}"
    page = client.get(f"{url}/search?q=" + good[0].accession_number)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'id="copy-{good[0].id}" data-eligible="yes"' in html
    # Tick one copy.
    search = f"{url}/search?q={good[0].accession_number}"
    response = post_form(
        client, f"{url}/add-chosen", {"item_ids": [str(good[0].id)], "action": "ticked"}, page=search
    )
    assert response.status_code == 200
    assert members(session, batch.id) == {good[0].id}
    # The rare copy is shown as not eligible, with its reason; "add all" adds only eligible ones shown.
    html = client.get(f"{url}/search?q={rare[0].accession_number}").get_data(as_text=True)
    assert f'id="copy-{rare[0].id}" data-eligible="no"' in html and "rare or precious" in html
    html = client.get(f"{url}/search?q={good[1].accession_number}").get_data(as_text=True)
    assert f'id="copy-{good[0].id}" data-eligible="no"' in html  # already in this batch
    shown = re.findall(r'name="shown_ids" value="(\d+)"', html)
    assert shown == [str(good[1].id)]
    response = post_form(
        client, f"{url}/add-chosen", {"shown_ids": shown, "action": "all"}, page=f"{url}/search?q=x"
    )
    assert response.status_code == 200 and "1 copy added." in response.get_data(as_text=True)
    assert members(session, batch.id) == {good[0].id, good[1].id}


def test_local_studies_copies_are_shown_ineligible_and_never_added(
    client, logged_in, session, library, make_site
):
    local = title(session, library, copies=2, is_local_studies=True)
    point = make_site(code="BDVH-07", name="Điểm xã Chiềng Sinh")
    batch = new_batch(session, library)
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    url = f"/rotation/batches/{batch.code}"
    search = f"{url}/search?q={local[0].accession_number}"
    html = client.get(search).get_data(as_text=True)
    assert f'id="copy-{local[0].id}" data-eligible="no"' in html and "local-studies material" in html
    assert re.findall(r'name="shown_ids" value="(\d+)"', html) == []  # "add all" offers none of them
    # Ticked anyway (a stale page): refused with the reason, nothing added.
    response = post_form(
        client,
        f"{url}/add-chosen",
        {"item_ids": [str(c.id) for c in local], "action": "ticked"},
        page=search,
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f'data-code="{local[0].accession_number}"' in html
    assert html.count("is local-studies material and may not rotate.") == 2
    # The automatic fill never picks them, even when they are all the stock there is.
    response = post_form(
        client,
        f"{url}/fill",
        {
            "size": "5",
            "class_mode": "any",
            "class_mix": "",
            "languages": "vie",
            "children_percent": "",
            "destination_id": str(point.id),
            "last_rotations": "3",
            "seed": "1",
        },
        page=f"{url}/fill",
    )
    assert response.status_code == 200
    assert re.findall(r'name="item_ids" value="(\d+)"', response.get_data(as_text=True)) == []
    assert members(session, batch.id) == set()


def test_add_chosen_reports_refusals(client, logged_in, session, library):
    copies = title(session, library, copies=2)
    other = new_batch(session, library)
    svc.add_copy(session, other, copies[1].accession_number, None)
    session.commit()
    batch = new_batch(session, library)
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    url = f"/rotation/batches/{batch.code}"
    response = post_form(
        client,
        f"{url}/add-chosen",
        {"item_ids": [str(copies[0].id), str(copies[1].id)], "action": "ticked"},
        page=f"{url}/search",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="paste-report"' in html
    assert f'data-code="{copies[1].accession_number}"' in html and other.code in html
    assert members(session, batch.id) == {copies[0].id}


def test_fill_preview_then_add(client, logged_in, session, library, make_site):
    for _ in range(6):
        title(session, library, lang="vie")
        title(session, library, lang="tha")
    title(session, library, lang="eng")
    point = make_site(code="BDVH-09", name="Điểm xã")
    batch = new_batch(session, library, target_size=8)
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    url = f"/rotation/batches/{batch.code}"
    form_page = client.get(f"{url}/fill").get_data(as_text=True)
    assert 'name="size"' in form_page and 'value="8"' in form_page  # target minus what it holds
    response = post_form(
        client,
        f"{url}/fill",
        {
            "size": "6",
            "class_mode": "any",
            "class_mix": "",
            "languages": "vie:50, Thái:50",
            "children_percent": "",
            "destination_id": str(point.id),
            "last_rotations": "3",
            "seed": "4",
        },
        page=f"{url}/fill",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="preview"' in html
    assert '<tr data-language="tha"><td>tha</td><td>3</td>' in html
    assert '<tr data-language="vie"><td>vie</td><td>3</td>' in html
    chosen = re.findall(r'name="item_ids" value="(\d+)" checked', html)
    assert len(chosen) == 6
    assert members(session, batch.id) == set()  # a preview changes nothing
    response = post_form(
        client, f"{url}/fill/add", {"item_ids": chosen, "seed": "4", "destination": "BDVH-09"}, page=url
    )
    assert response.status_code == 200
    assert members(session, batch.id) == {int(i) for i in chosen}
    langs = {
        i.record.language for i in session.scalars(select(Item).where(Item.id.in_([int(i) for i in chosen])))
    }
    assert langs == {"vie", "tha"}


def test_fill_form_errors_are_shown_on_their_fields(client, logged_in, session, library):
    batch = new_batch(session, library)
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    url = f"/rotation/batches/{batch.code}/fill"
    response = post_form(
        client, url, {"class_mode": "custom", "class_mix": "85:10", "languages": "vie", "last_rotations": "3"}
    )
    assert response.status_code == 422 and "Cannot read “85:10”" in response.get_data(as_text=True)


def test_fill_pages_need_rotation_staff(client, logged_in, session, library):
    batch = new_batch(session, library)
    logged_in(Role.CATALOGUER)
    for path in ("search", "fill"):
        assert client.get(f"/rotation/batches/{batch.code}/{path}").status_code == 403


def test_scan_answers_json_for_the_script_and_serves_the_script(client, logged_in, session, library):
    copies = title(session, library, copies=1)
    batch = new_batch(session, library)
    logged_in(Role.ROTATION)
    client.get("/lang/en")
    url = f"/rotation/batches/{batch.code}"
    html = client.get(url).get_data(as_text=True)
    assert '<script src="/rotation/static/rotation/scan.js" defer></script>' in html
    script = client.get("/rotation/static/rotation/scan.js")
    body, status = script.data, script.status_code
    script.close()
    assert status == 200 and b"AudioContext" in body
    headers = {"Accept": "application/json"}
    ok = post_form(client, f"{url}/scan", {"code": copies[0].accession_number}, page=url, headers=headers)
    assert ok.status_code == 200 and ok.json["ok"] is True and f"added={copies[0].id}" in ok.json["url"]
    again = post_form(client, f"{url}/scan", {"code": copies[0].accession_number}, page=url, headers=headers)
    assert (
        again.status_code == 422
        and again.json["ok"] is False
        and "scanned twice" in again.json["messages"][0]
    )
    # Without the script: the plain redirect, marked as an error for the sound on the next page.
    plain = post_form(client, f"{url}/scan", {"code": copies[0].accession_number}, page=url)
    assert plain.status_code == 302 and "scan=error" in plain.headers["Location"]
    assert 'data-scan-result="error"' in client.get(plain.headers["Location"]).get_data(as_text=True)


def test_cli_fill_dry_run_and_for_real(runner, session, library):
    for _ in range(5):
        title(session, library)
    batch = new_batch(session, library, target_size=3)
    result = runner.invoke(args=["rotation", "fill", batch.code, "--dry-run", "--json", "--seed", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["dry_run"] is True and len(data["chosen"]) == 3 and data["added"] == []
    assert members(session, batch.id) == set()
    result = runner.invoke(args=["rotation", "fill", batch.code, "--size", "2"])
    assert result.exit_code == 0, result.output
    assert "added 2; refused 0" in result.output
    assert len(members(session, batch.id)) == 2
    bad = runner.invoke(args=["rotation", "fill", batch.code, "--languages", "klingon"])
    assert bad.exit_code != 0


def test_search_pages_keep_the_batch(client, logged_in, session, library):
    for _ in range(22):  # more than one page of 20 titles in Vietnamese
        title(session, library)
    batch = new_batch(session, library)
    logged_in(Role.ROTATION)
    html = client.get(f"/rotation/batches/{batch.code}/search?language=vie").get_data(as_text=True)
    link = re.search(r'href="([^"]+)" rel="next"', html)
    assert link and f"/rotation/batches/{batch.code}/search?" in link.group(1) and "page=2" in link.group(1)
    second = client.get(link.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and 'rel="prev"' in second.get_data(as_text=True)
