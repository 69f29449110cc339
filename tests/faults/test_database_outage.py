"""The database goes away under the running app and comes back: clean 503 pages, then recovery by itself.

PostgreSQL: the test server is stopped (pg_ctl, fast mode: every session is cut) while the app holds
pooled connections, then started again; the same app object must serve again without a restart
(pool_pre_ping in config.Config, and the OperationalError handler in app/factory.py that rolls back).
SQLite: another process holds the write lock beyond the busy timeout (5 s): a write request gets the
503 page instead of a 500, reads go on (WAL), and once the lock is released the same write succeeds.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import func, select

from app.network.models import Site
from tests import pg
from tests.conftest import csrf_from

UNAVAILABLE = "The database is not available"
# Another process: take SQLite's write lock, say so, and keep it until stdin is closed.
HOLD_WRITE_LOCK = """
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
c.execute("UPDATE sites SET name = name")
print("locked", flush=True)
sys.stdin.read()
c.rollback()
"""


def assert_clean_503(response) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == 503, (response.status_code, body[:300])
    assert UNAVAILABLE in body and "Traceback" not in body


def new_site(client, token: str, code: str):
    return client.post(
        "/network/sites/new",
        data={"csrf_token": token, "code": code, "name": f"Điểm {code}", "kind": "post_culture_point"},
    )


@pytest.mark.parametrize("who", ["visitor", "staff"])
def test_the_app_recovers_when_its_database_comes_back(
    app, client, logged_in, session, db_engine_name, request, who
) -> None:
    if who == "staff":
        logged_in("admin")
    client.get("/lang/en")
    page = "/network/sites" if who == "staff" else "/opac/?q=sach"
    assert client.get("/healthz").status_code == 200
    assert client.get(page).status_code == 200
    token = csrf_from(client.get("/network/sites/new").get_data(as_text=True)) if who == "staff" else ""
    session.close()  # the test's own connection goes back to the pool, like the app's
    if db_engine_name == "postgresql":
        data = pg.data_directory(request.getfixturevalue("pg_server"))
        pg.stop_server(data)
        try:
            health = client.get("/healthz")
            assert health.status_code == 503 and health.get_json()["database"] != "ok"
            assert_clean_503(client.get(page))
            if who == "staff":
                assert_clean_503(new_site(client, token, "DOWN1"))
        finally:
            pg.start_server(data)
    else:
        path = app.config["SQLALCHEMY_DATABASE_URI"].split("///", 1)[1]
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_WRITE_LOCK, path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout.readline().strip() == "locked"
            assert client.get(page).status_code == 200  # readers are not blocked (WAL)
            if who == "staff":
                assert_clean_503(new_site(client, token, "DOWN1"))  # after the 5 s busy timeout
        finally:
            holder.communicate("")  # release the lock and end the holder
    # Back: the same app object serves again, without a restart.
    assert client.get("/healthz").status_code == 200
    assert client.get(page).status_code == 200
    if who == "staff":
        response = new_site(client, token, "BACK1")
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        session.rollback()
        assert session.scalar(select(func.count()).select_from(Site).where(Site.code == "DOWN1")) == 0
        assert session.scalar(select(func.count()).select_from(Site).where(Site.code == "BACK1")) == 1
