"""User account services: create, change role, passwords, activation and authentication."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from app.audit import services as audit
from app.auth.models import Role, User
from app.db import utcnow
from app.errors import N_, Conflict, NotFound, ValidationError
from app.network.models import POINT_KINDS, Site

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 8
# A hash to compare against when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))
AUDITED = ("username", "full_name", "email", "role", "is_active", "site_codes")


def _state(user: User) -> dict:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "role": user.role,
        "is_active": user.is_active,
        "site_codes": sorted(s.code for s in user.sites),
    }


def check_password_rules(password: str) -> None:
    """Raise ValidationError when a password is too weak."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            N_("The password must have at least %(n)d characters."),
            field="password",
            n=MIN_PASSWORD_LENGTH,
        )
    if len(password) > 256:
        raise ValidationError(N_("The password is too long."), field="password")


def normalise_username(username: str) -> str:
    """Return the canonical (lower-case, trimmed) form of a user name, or raise ValidationError."""
    name = (username or "").strip().lower()
    if not USERNAME_RE.match(name):
        raise ValidationError(
            N_(
                "A user name has 2 to 64 characters: letters a-z without diacritics, digits, "
                "dot, dash or underscore."
            ),
            field="username",
        )
    return name


def get_user(session: Session, user_id: int) -> User:
    """Return the user with this id or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(N_("No such user."))
    return user


def find_by_username(session: Session, username: str) -> User | None:
    """Return the user with this name (case-insensitive), or None."""
    name = (username or "").strip().lower()
    return session.scalar(select(User).where(func.lower(User.username) == name))


def _resolve_sites(session: Session, role: Role, site_ids: list[int] | None) -> list[Site]:
    if role != Role.POINT_OPERATOR:
        return []
    sites = list(session.scalars(select(Site).where(Site.id.in_(site_ids or []))))
    if not sites:
        raise ValidationError(
            N_("A point operator must be bound to at least one rotation point."), field="sites"
        )
    wrong = [s.code for s in sites if s.kind not in POINT_KINDS]
    if wrong:
        raise ValidationError(
            N_("These sites are not rotation points: %(codes)s"),
            field="sites",
            codes=", ".join(wrong),
        )
    return sites


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    full_name: str = "",
    email: str | None = None,
    site_ids: list[int] | None = None,
    actor_id: int | None = None,
    is_demo: bool = False,
) -> User:
    """Stage a new user with a hashed password; raise Conflict if the name is taken."""
    name = normalise_username(username)
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(N_("Unknown role: %(role)s"), field="role", role=str(role)) from None
    check_password_rules(password)
    if find_by_username(session, name):
        raise Conflict(N_("The user name %(name)s is already taken."), field="username", name=name)
    user = User(
        username=name,
        full_name=(full_name or "").strip()[:200],
        email=(email or "").strip()[:200] or None,
        password_hash=generate_password_hash(password),
        role=role.value,
        is_active=True,
        is_demo=is_demo,
        password_changed_at=utcnow(),
    )
    user.sites = _resolve_sites(session, role, site_ids)
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="user.create",
        object_type="user",
        object_id=user.id,
        object_label=user.username,
        changes={k: [None, v] for k, v in _state(user).items()},
    )
    return user


def update_user(
    session: Session,
    user: User,
    *,
    actor_id: int | None,
    full_name: str | None = None,
    email: str | None = None,
    role: Role | str | None = None,
    is_active: bool | None = None,
    site_ids: list[int] | None = None,
) -> User:
    """Change a user's details, role, activation or points; record the change."""
    before = _state(user)
    if full_name is not None:
        user.full_name = full_name.strip()[:200]
    if email is not None:
        user.email = email.strip()[:200] or None
    new_role = Role(role) if role is not None else Role(user.role)
    if role is not None:
        user.role = new_role.value
    if is_active is not None:
        if not is_active and actor_id == user.id:
            raise ValidationError(N_("You cannot deactivate your own account."), field="is_active")
        user.is_active = is_active
    if role is not None or site_ids is not None:
        ids = site_ids if site_ids is not None else [s.id for s in user.sites]
        user.sites = _resolve_sites(session, new_role, ids)
    if before["role"] == Role.ADMIN and (user.role != Role.ADMIN or not user.is_active):
        _ensure_another_admin(session, user)
    if user.role != before["role"] or user.is_active != before["is_active"]:
        user.session_version += 1  # sign the user out everywhere
    changes = audit.diff(before, _state(user))
    if changes:
        audit.record(
            session,
            actor_id=actor_id,
            action="user.update",
            object_type="user",
            object_id=user.id,
            object_label=user.username,
            changes=changes,
        )
    session.flush()
    return user


def _ensure_another_admin(session: Session, user: User) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN.value, User.is_active.is_(True), User.id != user.id)
    )
    if not others:
        raise ValidationError(N_("The last active administrator cannot be removed."), field="role")


def set_role(session: Session, user: User, role: Role | str, *, actor_id: int | None) -> User:
    """Give the user another role."""
    try:
        role = Role(role)
    except ValueError:
        raise ValidationError(N_("Unknown role: %(role)s"), field="role", role=str(role)) from None
    return update_user(session, user, actor_id=actor_id, role=role)


def set_password(session: Session, user: User, password: str, *, actor_id: int | None) -> None:
    """Replace the user's password (hashed) and end their other sessions."""
    check_password_rules(password)
    user.password_hash = generate_password_hash(password)
    user.password_changed_at = utcnow()
    user.session_version += 1
    audit.record(
        session,
        actor_id=actor_id,
        action="user.password" if actor_id == user.id else "user.reset_password",
        object_type="user",
        object_id=user.id,
        object_label=user.username,
        changes={"password": ["***", "***"]},
    )
    session.flush()


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """Change a user's own password after checking the current one."""
    if not check_password_hash(user.password_hash, current):
        raise ValidationError(N_("The current password is wrong."), field="current_password")
    if current == new:
        raise ValidationError(N_("The new password must differ from the current one."), field="new_password")
    set_password(session, user, new, actor_id=user.id)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the active user whose name and password match, else None (same cost either way)."""
    user = find_by_username(session, username)
    if user is None or not user.is_active:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    user.last_login_at = utcnow()
    return user


def load_user(session: Session, token: str) -> User | None:
    """Return the user for a session token "id:version", or None when it is stale."""
    try:
        user_id, version = (int(part) for part in token.split(":", 1))
    except (ValueError, AttributeError):
        return None
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.session_version != version:
        return None
    return user


def list_users(session: Session) -> list[User]:
    """Return every user, by user name."""
    return list(session.scalars(select(User).options(selectinload(User.sites)).order_by(User.username)))
