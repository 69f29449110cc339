"""Error pages in the layout, the SQLite settings, and escaping of user-supplied text."""

from flask import Blueprint
from sqlalchemy import text

from app.security import any_user
from tests.conftest import DEFAULT_PASSWORD, post_form


def test_404_page_is_in_the_layout(logged_in, client):
    logged_in("viewer")
    response = client.get("/khong-co-trang-nay")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'class="topbar"' in html and "404" in html


def test_403_page_is_in_the_layout(logged_in, client):
    logged_in("viewer")
    response = client.get("/users")
    assert response.status_code == 403
    assert 'class="topbar"' in response.get_data(as_text=True)


def test_500_page_hides_the_traceback(other_app, make_user):
    bp = Blueprint("boom_test", __name__)

    @bp.get("/boom-test")
    @any_user
    def boom():
        raise RuntimeError("secret internals")

    other = other_app(PROPAGATE_EXCEPTIONS=False)
    other.register_blueprint(bp)
    user = make_user(role="viewer")
    client = other.test_client()
    post_form(client, "/login", {"username": user.username, "password": DEFAULT_PASSWORD})
    response = client.get("/boom-test")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "secret internals" not in html and "Traceback" not in html
    assert 'class="topbar"' in html


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app, engine, db_engine_name):
    if db_engine_name != "sqlite":
        assert engine.dialect.name == "postgresql"
        return
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 5000


def test_language_switch_keeps_the_page_and_refuses_foreign_redirects(client):
    response = client.get("/lang/en?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert 'lang="en"' in client.get("/login").get_data(as_text=True)
    response = client.get("/lang/vi?next=//evil.example/")
    assert response.headers["Location"] == "/"
    assert 'lang="vi"' in client.get("/login").get_data(as_text=True)
