"""Every route needs a login and a declared role unless it is declared public."""

import re

import pytest

from app.auth.models import Role
from app.security import access_of

# Endpoints that are public on purpose; anything else must demand a login.
EXPECTED_PUBLIC = {"static", "auth.login", "main.set_language", "main.healthz", "opac.search", "opac.record"}


def _fill(rule) -> str:
    """Build a URL for a rule, filling every variable with a plausible value."""
    url = rule.rule
    for name in rule.arguments:
        conv = rule._converters[name].__class__.__name__
        value = "1" if conv in {"IntegerConverter", "NumberConverter"} else "x"
        url = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + ">", value, url)
    return url


def test_every_endpoint_declares_access(app):
    undeclared = []
    public = set()
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            public.add(endpoint)
            continue
        is_public, roles = access_of(view)
        if is_public:
            public.add(endpoint)
        elif not roles:
            undeclared.append(endpoint)
    assert undeclared == [], f"routes without an access rule: {undeclared}"
    assert public == EXPECTED_PUBLIC, f"unexpected public routes: {public - EXPECTED_PUBLIC}"


def test_anonymous_requests_to_non_public_routes_go_to_login(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXPECTED_PUBLIC:
            continue
        url = _fill(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            # 302 to the login page; a POST without a CSRF token may be refused first with 400.
            assert response.status_code in (302, 400), (method, url, response.status_code)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], (method, url)
            checked += 1
    assert checked >= 10


def test_route_without_declaration_is_refused(other_app, make_user):
    """Secure by default: a view that forgets its decorator is closed even to an admin."""
    from flask import Blueprint

    from tests.conftest import DEFAULT_PASSWORD, post_form

    bp = Blueprint("forgotten_test", __name__)

    @bp.get("/forgotten-test")
    def forgotten():
        return "secret"

    # A second app on the same database, so the shared app's URL map stays untouched.
    other = other_app()
    other.register_blueprint(bp)
    admin = make_user(role="admin")
    other_client = other.test_client()
    post_form(other_client, "/login", {"username": admin.username, "password": DEFAULT_PASSWORD})
    assert other_client.get("/").status_code == 200
    assert other_client.get("/forgotten-test").status_code == 403
    assert access_of(other.view_functions["forgotten_test.forgotten"]) == (False, None)


@pytest.mark.parametrize(
    ("role", "url", "status"),
    [
        (Role.VIEWER, "/users", 403),
        (Role.CATALOGUER, "/audit/", 403),
        (Role.ADMIN, "/users", 200),
        (Role.ADMIN, "/audit/", 200),
        (Role.POINT_OPERATOR, "/", 200),
        (Role.POINT_OPERATOR, "/users", 403),
    ],
)
def test_roles(logged_in, client, role, url, status):
    logged_in(role)
    assert client.get(url).status_code == status


def test_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_forms_carry_csrf_tokens_and_posts_without_them_fail(client, make_user):
    user = make_user(role="admin")
    assert 'name="csrf_token"' in client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": user.username, "password": "whatever1"})
    assert response.status_code == 400


def test_may_open_follows_the_same_rule_as_the_request_check(app, make_user):
    """Links are shown by may_open(); it must agree with what the request check then allows."""
    from flask_login import login_user, logout_user

    from app.security import may_open

    acq = make_user(role=Role.ACQUISITIONS)
    rot = make_user(role=Role.ROTATION)
    with app.test_request_context():
        assert may_open("opac.search") is True  # public, even signed out
        assert may_open("acquisitions.withdrawal_new") is False  # signed out
        assert may_open("no.such_endpoint") is False
        login_user(acq)
        assert may_open("acquisitions.withdrawal_new") is True
        logout_user()
        login_user(rot)
        assert may_open("acquisitions.withdrawal_new") is False
        assert may_open("rotation.batches") is True
