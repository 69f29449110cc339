"""The import pages: upload, staging report, commit (once), cancel, progress, size limit, escaping."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalog import marc
from catalog.models import Record
from tests.conftest import DEFAULT_PASSWORD, csrf_from, post_form

DATA = Path(__file__).resolve().parents[1] / "data" / "marc"


@pytest.fixture
def imports(app, tmp_path, monkeypatch):
    """Keep uploads in a temporary folder and run imports inside the request."""
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path / "imports"))
    monkeypatch.setitem(app.config, "IMPORT_INLINE", True)
    return tmp_path / "imports"


def upload(client, content: bytes, name: str = "records.mrc", **fields):
    data = {"file": (io.BytesIO(content), name), "format": "auto", "encoding": "auto", "on_duplicate": "skip"}
    data.update(fields)
    return post_form(client, "/catalog/import", data, content_type="multipart/form-data")


def job_url(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert re.fullmatch(r"/catalog/import/[A-Za-z0-9_-]{20,40}", location)
    return location


def status(html: str) -> str:
    return re.search(r'id="import-job" data-status="(\w+)"', html).group(1)


def count(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Record))


def test_upload_review_commit_and_find_the_record(client, logged_in, session, imports) -> None:
    logged_in("cataloguer")
    url = job_url(upload(client, (DATA / "pymarc/test.dat").read_bytes(), "test.dat"))
    html = client.get(url).get_data(as_text=True)
    assert status(html) == "staged"
    assert 'data-count="read">10<' in html and 'data-count="new">10<' in html
    assert count(session) == 0  # staged only
    response = post_form(client, url + "/commit", {}, page=url)
    assert response.status_code == 302
    html = client.get(url).get_data(as_text=True)
    assert status(html) == "done" and 'id="import-result"' in html
    assert count(session) == 10
    first = session.scalars(select(Record).order_by(Record.id)).first()
    assert f'/catalog/records/{first.id}"' in html
    assert client.get(f"/catalog/records/{first.id}").status_code == 200
    assert not (imports / url.rsplit("/", 1)[1] / "upload").exists()  # the upload is removed


def test_a_second_commit_is_refused(client, logged_in, session, imports) -> None:
    logged_in("cataloguer")
    url = job_url(upload(client, (DATA / "pymarc/test.dat").read_bytes()))
    page = client.get(url).get_data(as_text=True)
    token = csrf_from(page)
    assert client.post(url + "/commit", data={"csrf_token": token}).status_code == 302
    again = client.post(url + "/commit", data={"csrf_token": token}, follow_redirects=True)
    assert again.status_code == 200 and 'class="flash flash-error"' in again.get_data(as_text=True)
    assert count(session) == 10


def test_the_lock_refuses_a_concurrent_commit(client, logged_in, session, imports) -> None:
    logged_in("cataloguer")
    client.get("/lang/en")
    url = job_url(upload(client, (DATA / "pymarc/test.dat").read_bytes()))
    (imports / url.rsplit("/", 1)[1] / "commit.lock").write_text("")  # another request got there first
    response = post_form(client, url + "/commit", {}, page=url, follow_redirects=True)
    assert "already been committed" in response.get_data(as_text=True)
    assert count(session) == 0


def test_report_shows_rejections_duplicates_and_escapes_markup(client, logged_in, session, imports) -> None:
    logged_in("cataloguer")
    client.get("/lang/en")
    evil = marc.build_record("<script>alert('x')</script> & <b>bold</b>", year=2001, authors=["<img src=x>"])
    out = io.BytesIO()
    marc.write_iso2709([evil], out)
    url = job_url(upload(client, out.getvalue()))
    post_form(client, url + "/commit", {}, page=url)
    url = job_url(upload(client, out.getvalue() + (DATA / "pymarc/bad_records.mrc").read_bytes()))
    html = client.get(url).get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x>" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert 'id="import-rejections"' in html and "points inside the leader" in html
    assert 'id="import-duplicates"' in html and "skipped" in html


def test_rejection_reasons_are_shown_in_the_users_language(client, logged_in, session, imports) -> None:
    logged_in("cataloguer")
    client.get("/lang/vi")
    url = job_url(upload(client, (DATA / "pymarc/bad_records.mrc").read_bytes()))
    html = client.get(url).get_data(as_text=True)
    assert 'id="import-rejections"' in html
    # "the base address of data (0) points inside the leader", in Vietnamese, with its number
    assert "địa chỉ gốc của dữ liệu (0) trỏ vào bên trong đầu biểu" in html
    assert "points inside the leader" not in html
    client.get("/lang/en")
    assert "the base address of data (0) points inside the leader" in client.get(url).get_data(as_text=True)


def test_holdings_records_are_listed_not_imported(client, logged_in, session, imports) -> None:
    logged_in("cataloguer")
    url = job_url(upload(client, (DATA / "marc4j/sample1a.xml").read_bytes(), "sample1a.xml"))
    html = client.get(url).get_data(as_text=True)
    assert 'id="import-other"' in html and 'data-count="not_bibliographic">5<' in html
    post_form(client, url + "/commit", {}, page=url)
    assert count(session) == 4


@pytest.mark.parametrize("content", [b"", b"\x1f\x8b\x08\x00garbage", b"<collection><record>"])
def test_an_unreadable_upload_fails_with_a_message(client, logged_in, session, imports, content) -> None:
    logged_in("cataloguer")
    url = job_url(upload(client, content))
    response = client.get(url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and status(html) == "failed"
    assert 'id="import-error"' in html and "Traceback" not in html
    assert 'id="import-commit"' not in html


def test_cancel_drops_the_upload(client, logged_in, session, imports) -> None:
    logged_in("cataloguer")
    url = job_url(upload(client, (DATA / "pymarc/test.dat").read_bytes()))
    folder = imports / url.rsplit("/", 1)[1]
    assert (folder / "upload").exists()
    response = post_form(client, url + "/cancel", {}, page=url)
    assert response.status_code == 302 and response.headers["Location"] == "/catalog/import"
    assert not (folder / "upload").exists() and status(client.get(url).get_data(as_text=True)) == "cancelled"
    refused = post_form(client, url + "/commit", {}, page=url)
    assert refused.status_code == 302 and count(session) == 0


def test_only_cataloguers_and_admins_import(client, logged_in, imports) -> None:
    logged_in("viewer")
    assert client.get("/catalog/import").status_code == 403
    assert client.get("/catalog/import/" + "a" * 24).status_code == 403


def test_unknown_or_malformed_tokens_are_404(client, logged_in, imports) -> None:
    logged_in("admin")
    assert client.get("/catalog/import/" + "a" * 24).status_code == 404
    assert client.get("/catalog/import/..%2F..%2Fetc").status_code == 404


def test_an_upload_over_the_limit_is_refused_with_413(other_app, make_user, tmp_path) -> None:
    small = other_app(MAX_CONTENT_LENGTH=4096, IMPORT_DIR=str(tmp_path), IMPORT_INLINE=True)
    client = small.test_client()
    user = make_user(role="cataloguer")
    assert (
        post_form(client, "/login", {"username": user.username, "password": DEFAULT_PASSWORD}).status_code
        == 302
    )
    response = upload(client, (DATA / "pymarc/test.dat").read_bytes())  # 6,5 kB
    assert response.status_code == 413
    assert "Traceback" not in response.get_data(as_text=True)
    assert list(tmp_path.iterdir()) == []  # nothing was stored


def test_staging_and_commit_run_in_the_background(
    client, logged_in, session, app, tmp_path, monkeypatch
) -> None:
    monkeypatch.setitem(app.config, "IMPORT_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "IMPORT_INLINE", False)
    logged_in("cataloguer")

    def wait(url: str, running: str) -> str:
        for _ in range(300):
            response = client.get(url)
            html = response.get_data(as_text=True)
            if status(html) != running:
                return html
            assert response.headers["Refresh"] == "2" and 'id="import-progress"' in html
            time.sleep(0.1)
        raise AssertionError("the import did not finish")

    url = job_url(upload(client, (DATA / "loc/loc_vietnamese_part1.mrc").read_bytes()))
    assert status(wait(url, "staging")) == "staged"
    post_form(client, url + "/commit", {}, page=url)
    html = wait(url, "committing")
    assert status(html) == "done" and "Refresh" not in client.get(url).headers
    assert count(session) == 60
