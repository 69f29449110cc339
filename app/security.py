"""Access control for routes: every endpoint is declared public or given the roles that may use it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from app.auth.models import ALL_ROLES, STAFF_ROLES, Role

PUBLIC_ATTR = "_tramsach_public"
ROLES_ATTR = "_tramsach_roles"

# Endpoints of extensions and Flask itself that are public by nature.
PUBLIC_ENDPOINTS = {"static"}


def public(view: Callable) -> Callable:
    """Declare a view public: no login needed."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def roles_required(*roles: Role | str) -> Callable[[Callable], Callable]:
    """Declare which roles may use a view (an admin may use every view)."""
    allowed = frozenset(Role(r) for r in roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            return view(*args, **kwargs)

        setattr(wrapped, ROLES_ATTR, allowed)
        return wrapped

    return decorator


def staff_required(view: Callable) -> Callable:
    """Declare a view open to every staff role (not to point operators)."""
    return roles_required(*STAFF_ROLES)(view)


def any_user(view: Callable) -> Callable:
    """Declare a view open to every logged-in user, point operators included."""
    return roles_required(*ALL_ROLES)(view)


def access_of(view: Callable) -> tuple[bool, frozenset[Role] | None]:
    """Return (is_public, roles) as declared on a view function."""
    return bool(getattr(view, PUBLIC_ATTR, False)), getattr(view, ROLES_ATTR, None)


def _refuse_nul_bytes() -> None:
    """Refuse a NUL character anywhere in the path, the query or the form fields (400).

    No text of the application can contain one, PostgreSQL refuses to store or compare it (a
    DataError, so a 500 page) and SQLite would cut C strings at it: it is only ever an attack.
    """
    values = [request.path, *request.args.values()]
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        values += request.form.values()
    if any("\x00" in v for v in values):
        abort(400)


def _allowed(roles: frozenset[Role] | None) -> bool:
    """True when the signed-in user holds one of the declared roles (nothing declared: nobody)."""
    return roles is not None and current_user.is_authenticated and current_user.has_role(*roles)


def may_open(endpoint: str) -> bool:
    """Return True when the signed-in user may open this endpoint (False if it does not exist).

    The same rule as the check before every request, for a page deciding whether to show a link.
    """
    view = current_app.view_functions.get(endpoint)
    if view is None:
        return False
    is_public, roles = access_of(view)
    return is_public or _allowed(roles)


def _check_access() -> Any:
    """Before every request: public views pass, others need a login and a declared role."""
    _refuse_nul_bytes()
    endpoint = request.endpoint
    if endpoint is None:
        return None  # 404/405 are handled by Flask
    if endpoint in PUBLIC_ENDPOINTS:
        return None
    view = current_app.view_functions.get(endpoint)
    is_public, roles = access_of(view) if view else (False, None)
    if is_public:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if roles is None:
        # Secure by default: a route that declares nothing is closed to everybody.
        current_app.logger.error("endpoint %s declares no access rule; refused", endpoint)
        abort(403)
    if not _allowed(roles):
        abort(403)
    # Settle the language while the user is fresh: asked first after a commit (a flash message),
    # it would read the expired user again, one more database round trip per request.
    get_locale()
    return None


def init_app(app: Flask) -> None:
    """Install the access check and the security headers (and trust a reverse proxy if told to)."""
    hops = int(app.config.get("TRUST_PROXY_HOPS") or 0)
    if hops > 0:
        # Behind nginx every request comes from 127.0.0.1: without this, login throttling would count
        # all users as one address. Only set it when a proxy you run overwrites X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.before_request(_check_access)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("Permissions-Policy", "camera=(self), geolocation=()")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Only look at a user already loaded for this request (every signed-in page has loaded it in
        # _check_access or its template): loading one here would query the database, and while the
        # database is down that error would escape the error handlers as a bare 500.
        if getattr(g.get("_login_user"), "is_authenticated", False):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def safe_next(target: str | None) -> str:
    """Return `target` when it is a local path, else the home page (no open redirects).

    Control characters are refused too: browsers drop a tab or a newline inside a URL, so
    "/<TAB>/evil.example" would become "//evil.example", another site.
    """
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("main.index")


def redirect_next(target: str | None):
    """Redirect to a safe local `next` address."""
    return redirect(safe_next(target))


def role_names(roles: Iterable[Role]) -> list[str]:
    """Return the role values, sorted, for display."""
    return sorted(str(r) for r in roles)
