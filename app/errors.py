"""Domain errors shared by every package: a translatable message template and its parameters."""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:
    """Mark a message for translation without translating it (the web edge translates)."""
    return message


class DomainError(Exception):
    """A rule of the domain was broken; the message is safe to show to the user.

    `message` is an English gettext msgid with %(name)s placeholders; `params` fill them. The edge
    translates it with `gettext(message, **params)`; `str(error)` gives the English text.
    """

    def __init__(self, message: str, *, field: str | None = None, **params: Any) -> None:
        self.message = message
        self.params = params
        self.field = field
        super().__init__(message % params if params else message)


class NotFound(DomainError):
    """The object asked for does not exist."""


class Conflict(DomainError):
    """The change clashes with the current state (a duplicate, a concurrent change)."""


class PermissionDenied(DomainError):
    """The actor may not do this."""


class ValidationError(DomainError):
    """Input breaks a rule (a missing field, a value out of range)."""
