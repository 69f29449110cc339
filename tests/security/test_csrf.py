"""CSRF: every state-changing rule of the URL map refuses a POST without a valid token, and changes nothing.

The rules are read from the URL map at run time. Each is posted as an administrator (who may use
every route, so the access check is not what stops the request) with no token, with a forged token,
and with a token taken from another user's session; every answer must be 400 and the database must
be byte-for-byte the same afterwards.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from app.db import Base
from tests.conftest import csrf_from
from tests.security.matrix import CSRF_PAGE, fill

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def snapshot(session) -> dict[str, list[tuple]]:
    """Every row of every table (the world is small), to prove that nothing changed."""
    session.expire_all()
    data = {}
    for table in Base.metadata.sorted_tables:
        order = list(table.primary_key.columns) or list(table.columns)
        rows = session.execute(select(table).order_by(*order)).all()
        data[table.name] = [tuple(r) for r in rows]
    return data


def state_changing_rules(app) -> list[tuple[object, str]]:
    return sorted(
        ((rule, method) for rule in app.url_map.iter_rules() for method in rule.methods & STATE_CHANGING),
        key=lambda pair: (pair[0].rule, pair[1]),
    )


def test_every_state_changing_rule_refuses_a_missing_or_forged_token(app, world, as_role, session):
    admin = as_role("admin")
    admin.get("/lang/en")  # the English CSRF page tells a token refusal from a form's own 400
    other = as_role("rotation")
    foreign_token = csrf_from(other.get("/").get_data(as_text=True))
    own_token = csrf_from(admin.get("/").get_data(as_text=True))
    assert foreign_token != own_token
    forged = re.sub(r"[A-Za-z]", "A", own_token)
    pairs = state_changing_rules(app)
    assert len(pairs) >= 40
    before = snapshot(session)
    failures = []
    for rule, method in pairs:
        url, _complete = fill(rule, world)
        for label, token in (("none", None), ("forged", forged), ("foreign", foreign_token)):
            data = {"received_count": "0", "name": "x", "to_site_id": str(world.point.id)}
            if token is not None:
                data["csrf_token"] = token
            response = admin.open(url, method=method, data=data)
            if response.status_code != 400 or CSRF_PAGE not in response.data:
                failures.append(f"{method} {url} with {label} token → {response.status_code}")
    assert failures == [], "\n".join(failures)
    assert snapshot(session) == before
    # The session is still signed in and a real token still works (the refusals were about tokens).
    assert admin.get("/").status_code == 200


def test_a_token_header_is_accepted_only_when_valid(app, as_role, world, session):
    """Flask-WTF also reads X-CSRFToken: a wrong header value is refused the same way."""
    client = as_role("rotation")
    url = f"/rotation/batches/{world.open_batch.code}/ready"
    before = snapshot(session)
    assert client.post(url, headers={"X-CSRFToken": "nope"}).status_code == 400
    assert snapshot(session) == before


def test_anonymous_login_post_without_token_is_refused(client, world):
    response = client.post("/login", data={"username": world.users["admin"].username, "password": "x" * 10})
    assert response.status_code == 400
    assert client.get("/").status_code == 302
