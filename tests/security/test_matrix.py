"""Every route × every role, opened for real and compared with the access the view declares."""

from __future__ import annotations

from tests.security.matrix import NARROWED, ROLES, expectation, run_matrix


def test_every_route_answers_every_role_as_declared(app, world):
    cells = run_matrix(app, world)
    problems = [p for p in (c.problem() for c in cells) if p]
    assert problems == [], "\n".join(problems)
    # Every endpoint of the URL map was opened by every role.
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert {c.endpoint for c in cells} == endpoints
    assert all({c.role for c in cells if c.endpoint == e} == set(ROLES) for e in endpoints)
    # The matrix is not vacuous: every kind of outcome occurs, and most URLs named real objects.
    kinds = {c.expected for c in cells}
    assert {"public", "allowed", "refused", "login"} <= kinds
    assert sum(c.filled for c in cells) / len(cells) > 0.9
    # The valid token was accepted everywhere (Cell.problem reports a CSRF refusal), and most allowed
    # POSTs were not even a 400: so the 400s of test_csrf.py come from the tokens, not the empty forms.
    allowed_posts = [c for c in cells if c.method == "POST" and c.expected == "allowed"]
    assert len(allowed_posts) >= 40
    assert sum(c.status == 400 for c in allowed_posts) <= len(allowed_posts) // 10


def test_narrowed_entries_still_exist(app):
    """A NARROWED entry must name a live endpoint whose decorator lets those roles in."""
    for (endpoint, method), (roles, _why) in NARROWED.items():
        assert endpoint in app.view_functions, endpoint
        for role in roles:
            assert expectation(app, endpoint, method, role) == "narrowed"
