"""User accounts and roles; a point operator is bound to the rotation points they run."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow


class Role(StrEnum):
    """What a user may do; one role per user."""

    ADMIN = "admin"
    CATALOGUER = "cataloguer"
    ACQUISITIONS = "acquisitions"
    ROTATION = "rotation"
    POINT_OPERATOR = "point_operator"
    VIEWER = "viewer"


STAFF_ROLES = frozenset({Role.ADMIN, Role.CATALOGUER, Role.ACQUISITIONS, Role.ROTATION, Role.VIEWER})
ALL_ROLES = frozenset(Role)

user_sites = Table(
    "user_sites",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A person who logs in. Implements the attributes Flask-Login expects without importing it."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32), default=Role.VIEWER.value)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped when the password changes, so other sessions of the same user end.
    session_version: Mapped[int] = mapped_column(Integer, default=1)

    # Read when asked (a point operator's checks, the user pages), not on every request: most users
    # have no sites, and the query was one more database round trip per page for everybody.
    sites = relationship("Site", secondary=user_sites, lazy="select", order_by="Site.code")

    # --- what Flask-Login reads ---
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    # --- roles ---
    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def has_role(self, *roles: Role | str) -> bool:
        """Return True when the user holds one of `roles`; an admin holds them all."""
        return self.role == Role.ADMIN or self.role in {str(r) for r in roles}

    @property
    def site_ids(self) -> set[int]:
        return {site.id for site in self.sites}

    def __repr__(self) -> str:
        return f"<User {self.username} ({self.role})>"
