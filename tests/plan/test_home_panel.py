"""The plan's home-page panel (the lead registers it in HOME_PANELS; the test does it for itself)."""

from __future__ import annotations

import pytest

from app.auth.models import Role
from app.main.views import HOME_PANELS
from app.plan.home import home_panel
from app.plan.services import set_targets
from app.timeutil import local_today


@pytest.fixture
def panel_registered():
    added = home_panel not in HOME_PANELS
    if added:
        HOME_PANELS.append(home_panel)
    yield
    if added:
        HOME_PANELS.remove(home_panel)


def test_panel_shows_the_province_for_staff(client, session, logged_in, libs, panel_registered):
    set_targets(
        session, library_id=libs["d1"].id, year=local_today().year, values={"talks": 6}, actor_id=None
    )
    session.commit()
    logged_in(Role.VIEWER)
    html = client.get("/").get_data(as_text=True)
    assert 'id="home-plan"' in html and 'data-indicator="talks"' in html
    assert 'data-indicator="copies_acquired"' not in html  # no target: not shown


def test_no_panel_without_targets(client, logged_in, libs, panel_registered):
    logged_in(Role.ADMIN)
    assert 'id="home-plan"' not in client.get("/").get_data(as_text=True)


def test_point_operators_get_no_panel(session, make_user, libs):
    user = make_user(role=Role.POINT_OPERATOR)
    assert home_panel(session, user) is None
