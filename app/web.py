"""Helpers for views: showing domain errors, pagination."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, request
from flask_babel import gettext

from app.errors import DomainError


def error_text(err: DomainError) -> str:
    """Return the translated message of a domain error."""
    return gettext(err.message, **err.params)


def flash_error(err: DomainError, form=None) -> None:
    """Show a domain error on the form field it concerns, or as a flash message."""
    text = error_text(err)
    if form is not None and err.field and hasattr(form, err.field):
        getattr(form, err.field).errors.append(text)
    else:
        flash(text, "error")


# The largest value of a 32-bit signed integer column (ids on PostgreSQL).
INT_MAX = 2**31 - 1
# The highest page number a list accepts; beyond it the page is empty anyway.
MAX_PAGE = 10**6


def int_arg(name: str, default: int | None = None, low: int = 1, high: int = INT_MAX) -> int | None:
    """Return an integer from the query string, or default when it is not a number or not in low … high."""
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return default
    return value if low <= value <= high else default


def page_arg(name: str = "page") -> int:
    """Return the 1-based page number from the query string, clamped to 1 … MAX_PAGE."""
    try:
        return min(max(int(request.args.get(name, 1)), 1), MAX_PAGE)
    except ValueError:
        return 1


@dataclass
class Pagination:
    """What a template needs to draw page links."""

    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max((self.total + self.per_page - 1) // self.per_page, 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages
