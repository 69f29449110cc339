"""`flask demo load`: the demo network, its history across the 2025 reform, idempotency, logins, refusal."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.demo import DEMO_PASSWORD, build_plan, load_demo
from app.demo_data import DEMO_USERS
from app.network.models import POINT_KINDS, AdminUnit, Site, SiteKind, SiteUnitPeriod, UnitLevel
from tests.conftest import make_app, post_form

LAST_OLD_DAY = date(2025, 6, 30)
REFORM_DAY = date(2025, 7, 1)
DISTRICT_NAMES = {
    "Thành phố Sơn La",
    "Huyện Quỳnh Nhai",
    "Huyện Thuận Châu",
    "Huyện Mường La",
    "Huyện Bắc Yên",
    "Huyện Phù Yên",
    "Huyện Mộc Châu",
    "Huyện Vân Hồ",
    "Huyện Yên Châu",
    "Huyện Mai Sơn",
    "Huyện Sông Mã",
    "Huyện Sốp Cộp",
}


@pytest.fixture(scope="module")
def demo_app(database_factory):
    """An application on its own database with the demo loaded once, for the read-only checks."""
    from flask_migrate import upgrade

    from app.extensions import db

    application = make_app(database_factory())
    with application.app_context():
        upgrade()
        load_demo(db.session)
        db.session.commit()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def demo_session(demo_app):
    from app.extensions import db

    with demo_app.app_context():
        yield db.session
        db.session.rollback()


def _count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def _counts(session) -> dict[str, int]:
    return {
        model.__name__: _count(session, model)
        for model in (AdminUnit, Site, SiteUnitPeriod, User, AuditEvent)
    }


def test_the_network_has_its_libraries_districts_communes_and_points(demo_session):
    s = demo_session
    assert _count(s, Site, Site.kind == SiteKind.PROVINCIAL_LIBRARY) == 1
    assert _count(s, Site, Site.kind == SiteKind.DISTRICT_LIBRARY) == 12
    assert _count(s, Site, Site.kind == SiteKind.BRANCH) >= 6
    assert _count(s, Site, Site.kind.in_([k.value for k in POINT_KINDS])) >= 200
    for kind in (SiteKind.POST_CULTURE_POINT, SiteKind.SCHOOL_LIBRARY, SiteKind.OTHER_POINT):
        assert _count(s, Site, Site.kind == kind) > 0, kind

    province = s.scalar(select(AdminUnit).where(AdminUnit.level == UnitLevel.PROVINCE))
    assert province.name == "Tỉnh Sơn La" and province.valid_to is None
    districts = list(s.scalars(select(AdminUnit).where(AdminUnit.level == UnitLevel.DISTRICT)))
    assert {d.name for d in districts} == DISTRICT_NAMES
    assert all(d.valid_to == LAST_OLD_DAY and d.parent_id == province.id for d in districts)

    communes = list(s.scalars(select(AdminUnit).where(AdminUnit.level == UnitLevel.COMMUNE)))
    old = [c for c in communes if c.valid_to == LAST_OLD_DAY]
    new = [c for c in communes if c.valid_from == REFORM_DAY]
    assert len(old) >= 204
    assert {c.parent_id for c in old} == {d.id for d in districts}
    assert len(new) == 75
    assert all(c.valid_to is None and c.parent_id == province.id for c in new)
    assert sum(c.name.startswith("Phường ") for c in new) == 8
    assert len(old) + len(new) == len(communes)

    assert s.scalar(select(func.count()).select_from(Site).where(Site.is_demo.is_(False))) == 0
    assert s.scalar(select(func.count()).select_from(AdminUnit).where(AdminUnit.is_demo.is_(False))) == 0


def test_every_point_moves_from_an_old_commune_to_a_new_one_on_1_july_2025(demo_session):
    s = demo_session
    sites = list(s.scalars(select(Site)))
    periods: dict[int, list[SiteUnitPeriod]] = {}
    for period in s.scalars(select(SiteUnitPeriod).order_by(SiteUnitPeriod.valid_from)):
        periods.setdefault(period.site_id, []).append(period)
    for site in sites:
        before, after = periods[site.id]
        assert before.valid_to == LAST_OLD_DAY and before.valid_from < LAST_OLD_DAY, site.code
        assert before.admin_unit.is_valid_on(LAST_OLD_DAY) and not before.admin_unit.is_valid_on(REFORM_DAY)
        assert before.admin_unit.level == UnitLevel.COMMUNE
        assert after.valid_from == REFORM_DAY and after.valid_to is None
        assert after.admin_unit.valid_from == REFORM_DAY and after.admin_unit.level == UnitLevel.COMMUNE
        assert site.admin_unit_id == after.admin_unit_id


def test_points_are_served_by_the_library_of_their_district(demo_session):
    s = demo_session
    libraries = {
        site.id: site for site in s.scalars(select(Site).where(Site.kind == SiteKind.DISTRICT_LIBRARY))
    }
    first_units = {
        p.site_id: p.admin_unit
        for p in s.scalars(select(SiteUnitPeriod).where(SiteUnitPeriod.valid_to == LAST_OLD_DAY))
    }
    points = list(s.scalars(select(Site).where(Site.kind.in_([k.value for k in POINT_KINDS]))))
    for point in points:
        library = libraries[point.served_by_id]
        assert first_units[point.id].district.id == first_units[library.id].district.id, point.code
        assert point.contact_person and point.phone.startswith("0") and point.address
        assert 100 <= point.capacity <= 600


def test_one_demo_user_per_role_and_the_point_operator_runs_post_culture_points(demo_session):
    users = list(demo_session.scalars(select(User)))
    assert sorted(u.role for u in users) == sorted(r.value for r in Role)
    assert all(u.is_demo and u.full_name for u in users)
    operator = next(u for u in users if u.role == Role.POINT_OPERATOR)
    assert 1 <= len(operator.sites) <= 2
    assert all(site.kind == SiteKind.POST_CULTURE_POINT for site in operator.sites)


def test_loading_twice_changes_nothing(demo_session):
    before = _counts(demo_session)
    summary = load_demo(demo_session)
    demo_session.commit()
    assert summary.total_created == 0
    # Nothing is created, so nothing is audited either: the audit count stays the same.
    assert _counts(demo_session) == before


def test_the_plan_is_deterministic():
    first, second = build_plan(), build_plan()
    assert first == second
    assert build_plan(seed=7) != first
    codes = [site.code for site in first.sites]
    assert len(codes) == len(set(codes))


def test_every_demo_user_can_log_in(demo_app):
    for username, role, full_name in DEMO_USERS:
        client = demo_app.test_client()
        response = post_form(client, "/login", {"username": username, "password": DEMO_PASSWORD})
        assert response.status_code == 302, (username, response.get_data(as_text=True)[:300])
        page = client.get("/")
        assert page.status_code == 200, (username, role)
        assert full_name in page.get_data(as_text=True)
    admin = demo_app.test_client()
    post_form(admin, "/login", {"username": "admin", "password": DEMO_PASSWORD})
    listing = admin.get("/network/sites?q=thu+vien+tinh")
    assert listing.status_code == 200
    assert "Thư viện tỉnh Sơn La" in listing.get_data(as_text=True)


def test_first_start_loads_an_empty_database_and_prints_the_logins(runner, session, client, login):
    from app.auth.services import find_by_username, set_password

    result = runner.invoke(args=["demo", "load", "--first-start"])
    assert result.exit_code == 0, result.output
    assert "Demo data loaded" in result.output
    for username, role, _name in DEMO_USERS:
        assert any(
            line.split()[:3] == [username, DEMO_PASSWORD, role] for line in result.output.splitlines()
        ), (username, result.output)
    sites = _count(session, Site)
    assert sites >= 1 + 12 + 200

    login("rotation", DEMO_PASSWORD)
    assert "Lường Văn Phong" in client.get("/").get_data(as_text=True)

    again = runner.invoke(args=["demo", "load", "--first-start"])
    assert again.exit_code == 0, again.output
    assert "Demo data loaded" not in again.output
    assert any(line.split()[:2] == ["admin", DEMO_PASSWORD] for line in again.output.splitlines())
    assert _count(session, Site) == sites

    # A demo user whose password was changed is listed without the demo password.
    set_password(session, find_by_username(session, "viewer"), "another-password", actor_id=None)
    session.commit()
    plain = runner.invoke(args=["demo", "load"])
    assert plain.exit_code == 0, plain.output
    assert "already loaded" in plain.output
    viewer = next(line for line in plain.output.splitlines() if line.split()[:1] == ["viewer"])
    assert DEMO_PASSWORD not in viewer and "(changed)" in viewer


def test_first_start_leaves_a_database_in_use_alone(runner, session, make_user):
    make_user(role="admin", username="thuthu")
    result = runner.invoke(args=["demo", "load", "--first-start"])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert _count(session, Site) == 0
    assert _count(session, AdminUnit) == 0
    assert _count(session, User) == 1


@pytest.mark.parametrize("args", [["demo", "load"], ["demo", "load", "--first-start"]])
def test_refused_when_demo_data_is_off(other_app, session, args):
    production_like = other_app(DEMO_DATA=False)
    # A CLI command runs in the current app context if there is one, so make it this app's.
    with production_like.app_context():
        result = production_like.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "DEMO_DATA" in lines[0]
    assert _count(session, AdminUnit) == 0
    assert _count(session, Site) == 0


def test_production_config_has_no_demo_data():
    from config import ProductionConfig

    assert ProductionConfig.DEMO_DATA is False
