"""Catalogue errors (all DomainErrors, so the edges show them as messages)."""

from app.errors import Conflict, DomainError, NotFound, ValidationError

__all__ = ["CatalogError", "Conflict", "NotFound", "ValidationError", "MarcValidationError"]


class CatalogError(DomainError):
    """A catalogue rule was broken."""


class MarcValidationError(ValidationError):
    """A MARC record failed validation; `problems` lists each field and what is wrong."""

    def __init__(self, message: str, problems: list, **params) -> None:
        super().__init__(message, **params)
        self.problems = problems
