"""Fixtures of the security tests: the world of objects, and clients signed in as each role."""

from __future__ import annotations

import pytest

from tests.conftest import post_form
from tests.security.world import PASSWORD, World, build_world


@pytest.fixture
def world(app, session) -> World:
    return build_world(session)


@pytest.fixture
def as_role(app, world):
    """Return a function giving a new client signed in as the world's user of a role."""

    def make(role: str):
        client = app.test_client()
        response = post_form(client, "/login", {"username": world.users[role].username, "password": PASSWORD})
        assert response.status_code == 302
        return client

    return make
