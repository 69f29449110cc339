"""`flask labels copies …`: copy and spine labels for accession numbers."""

from app.labels.cli import labels_cli  # noqa: F401
