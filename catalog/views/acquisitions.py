"""Web pages of acquisitions under /acquisitions."""

from catalog.views import acq_bp  # noqa: F401
