"""`flask labels batch CODE …`: the box labels of a rotation batch."""

from app.labels.cli import labels_cli  # noqa: F401
