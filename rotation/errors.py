"""Rotation errors (all DomainErrors, so the web and CLI edges show them as messages)."""

from __future__ import annotations

from typing import Any

from app.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError

__all__ = [
    "Conflict",
    "CopyRefused",
    "DomainError",
    "NotFound",
    "PermissionDenied",
    "RotationError",
    "ValidationError",
]


class RotationError(DomainError):
    """A rotation rule was broken."""


# --- batches ----------------------------------------------------------------------------------


class CopyRefused(RotationError):
    """A copy cannot go into a batch; `reasons` holds every (msgid, params) that refused it.

    The message is the first reason. Parameters whose name ends in `_label` are msgids themselves
    (a status label, for instance): the web edge translates them too.
    """

    def __init__(self, reasons: list[tuple[str, dict[str, Any]]], *, code: str = "") -> None:
        message, params = reasons[0]
        super().__init__(message, field="code", **params)
        self.reasons = reasons
        self.code = code
