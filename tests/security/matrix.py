"""The route × role matrix: every rule of the URL map opened by every role, compared with its declaration.

The rules are read from `app.url_map` when the matrix runs, so a route added tomorrow is checked
without editing this file. Each view declares its roles with an access decorator (app/security.py);
the expected outcome follows from that declaration:

- public view: any role, anonymous included, gets an answer (no 401/403, no login redirect);
- anonymous on a non-public view: a redirect to the login page;
- a role the declaration allows: no 401/403 and no login redirect (a 404 or a 302 elsewhere is fine:
  the object may be gone after an earlier POST of the matrix);
- a role the declaration leaves out: 403;
- never a 5xx.

Some views narrow their declaration inside the view (a viewer may open the plans page but not make
a plan). Those are listed in NARROWED with the reason, and the matrix expects a 403 there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask

from app.auth.models import Role
from app.security import PUBLIC_ENDPOINTS, access_of
from tests.conftest import csrf_from
from tests.security.world import PASSWORD, ROLES, World

CHECKED_METHODS = ("GET", "POST")
# (endpoint, method) → roles the view refuses although the decorator lets them in, and why.
NARROWED: dict[tuple[str, str], tuple[frozenset[str], str]] = {
    ("rotation.receive", "GET"): (
        frozenset({"cataloguer", "acquisitions", "viewer"}),
        "only rotation staff and the destination's operator confirm a receipt",
    ),
    ("rotation.batch_labels", "GET"): (
        frozenset({"cataloguer", "acquisitions", "viewer"}),
        "box labels are printed by rotation staff and by the operator of the batch's point",
    ),
}
# Endpoints sent last: they end the session or remove the objects other rules name.
LAST = ("auth.logout",)
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")
# Endpoints whose allowed answer is the login page (they end the session).
SIGNS_OUT = {"auth.logout"}


@dataclass(frozen=True)
class Cell:
    """One request of the matrix and its outcome."""

    rule: str
    endpoint: str
    method: str
    role: str
    url: str
    status: int
    location: str
    expected: str  # "public", "allowed", "refused", "login" or "narrowed"
    filled: bool  # every URL variable got a real identifier
    missing_headers: tuple[str, ...] = ()
    csrf_refused: bool = False

    @property
    def to_login(self) -> bool:
        return self.status in (301, 302, 303) and "/login" in self.location

    def problem(self) -> str | None:
        """Return what is wrong with this outcome, or None when it matches the design."""
        where = f"{self.method} {self.url} as {self.role} → {self.status} {self.location}".strip()
        if self.status >= 500:
            return f"server error: {where}"
        if self.csrf_refused:
            return f"refused for its CSRF token although it carried a valid one: {where}"
        if self.missing_headers:
            return f"missing {', '.join(self.missing_headers)}: {where}"
        if self.expected in ("public", "allowed"):
            if self.status in (401, 403) or (self.to_login and self.endpoint not in SIGNS_OUT):
                return f"refused but declared {self.expected}: {where}"
        elif self.expected == "login":
            if not self.to_login:
                return f"anonymous not sent to login: {where}"
        elif self.status != 403:  # refused, narrowed
            return f"expected 403 ({self.expected}): {where}"
        return None


def declared(app: Flask, endpoint: str) -> tuple[bool, frozenset[str]]:
    """Return (public, role values) as declared on the endpoint's view."""
    if endpoint in PUBLIC_ENDPOINTS:
        return True, frozenset()
    is_public, roles = access_of(app.view_functions[endpoint])
    return is_public, frozenset(str(r) for r in roles or ())


def expectation(app: Flask, endpoint: str, method: str, role: str) -> str:
    """Return the outcome the design asks for."""
    is_public, roles = declared(app, endpoint)
    if is_public:
        return "public"
    if role == "anonymous":
        return "login"
    narrowed = NARROWED.get((endpoint, method))
    if narrowed and role in narrowed[0]:
        return "narrowed"
    if role == Role.ADMIN.value or role in roles:
        return "allowed"
    return "refused"


def fill(rule, world: World) -> tuple[str, bool]:
    """Build the rule's URL with the world's identifiers; say whether every variable was known."""
    url = rule.rule
    complete = True
    for name in rule.arguments:
        value = world.ids.get(name)
        if isinstance(value, dict):  # per endpoint, "*" for the others
            value = value.get(rule.endpoint, value.get("*"))
        if value is None:
            complete = False
            conv = rule._converters[name].__class__.__name__
            value = 1 if conv in {"IntegerConverter", "NumberConverter"} else "x"
        url = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + ">", str(value), url)
    return url, complete


def methods_of(rule) -> list[str]:
    """GET when the rule takes it; POST only for POST-only rules (a GET+POST form is opened, not sent)."""
    methods = rule.methods - {"HEAD", "OPTIONS"}
    if "GET" in methods:
        return ["GET"]
    return [m for m in CHECKED_METHODS if m in methods] or sorted(methods)


def rules_in_order(app: Flask) -> list:
    """Every rule, those that end a session last."""
    return sorted(
        app.url_map.iter_rules(), key=lambda r: (r.endpoint in LAST, "delete" in r.endpoint, r.rule)
    )


CSRF_PAGE = b"The form has expired"  # the English title of the CSRF error page (app/factory.py)


def _client_for(app: Flask, world: World, role: str):
    client = app.test_client()
    client.get("/lang/en")  # English pages, so a CSRF refusal can be told from a form's own 400
    if role != "anonymous":
        html = client.get("/login").get_data(as_text=True)
        response = client.post(
            "/login",
            data={
                "csrf_token": csrf_from(html),
                "username": world.users[role].username,
                "password": PASSWORD,
            },
        )
        assert response.status_code == 302, f"{role} cannot log in"
    return client


def _token(client) -> str:
    return csrf_from(client.get("/login" if _anonymous(client) else "/").get_data(as_text=True))


def _anonymous(client) -> bool:
    return client.get("/").status_code != 200


def run_matrix(app: Flask, world: World) -> list[Cell]:
    """Open every rule as every role; return the cells (nothing is asserted here)."""
    clients = {role: _client_for(app, world, role) for role in ROLES}
    tokens = {role: _token(client) for role, client in clients.items()}
    cells: list[Cell] = []
    for rule in rules_in_order(app):
        url, complete = fill(rule, world)
        for method in methods_of(rule):
            # Refused roles first: an allowed POST may change what the others would see.
            order = sorted(
                ROLES, key=lambda r: expectation(app, rule.endpoint, method, r) in ("allowed", "public")
            )
            for role in order:
                client = clients[role]
                data = {"csrf_token": tokens[role]} if method != "GET" else None
                try:
                    response = client.open(url, method=method, data=data)
                except Exception as exc:  # the test app propagates exceptions: record them as a 500
                    status, location = 500, f"{type(exc).__name__}: {exc}"[:200]
                    missing: tuple[str, ...] = ()
                    csrf_refused = False
                else:
                    status, location = response.status_code, response.headers.get("Location", "")
                    missing = tuple(h for h in SECURITY_HEADERS if h not in response.headers)
                    csrf_refused = status == 400 and CSRF_PAGE in response.data
                    response.close()
                cells.append(
                    Cell(
                        rule=rule.rule,
                        endpoint=rule.endpoint,
                        method=method,
                        role=role,
                        url=url,
                        status=status,
                        location=location,
                        expected=expectation(app, rule.endpoint, method, role),
                        filled=complete,
                        missing_headers=missing,
                        csrf_refused=csrf_refused,
                    )
                )
    return cells


SHORT = {
    "anonymous": "anon",
    "admin": "admin",
    "cataloguer": "cat",
    "acquisitions": "acq",
    "rotation": "rot",
    "point_operator": "op",
    "viewer": "view",
}
MARK = {"public": "○", "allowed": "✓", "refused": "✗", "login": "→", "narrowed": "✗*"}


def markdown_table(cells: list[Cell]) -> str:
    """Return the matrix as a markdown table: one row per rule and method, one column per role."""
    by_row: dict[tuple[str, str], dict[str, Cell]] = {}
    for cell in cells:
        by_row.setdefault((cell.rule, cell.method), {})[cell.role] = cell
    head = "| method | rule | " + " | ".join(SHORT[r] for r in ROLES) + " |"
    lines = [head, "|" + "---|" * (len(ROLES) + 2)]
    for (rule, method), row in sorted(by_row.items()):
        any_cell = next(iter(row.values()))
        rule_text = rule.replace("|", "\\|") + ("" if any_cell.filled else " †")
        marks = []
        for role in ROLES:
            cell = row.get(role)
            marks.append(f"{MARK[cell.expected]} {cell.status}" if cell else "")
        lines.append(f"| {method} | `{rule_text}` | " + " | ".join(marks) + " |")
    return "\n".join(lines)
