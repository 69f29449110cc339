"""Box labels of a rotation batch: preview and PDF."""

from rotation.views import bp  # noqa: F401
