"""`flask labels …`: print labels from the terminal (catalogue and rotation add their commands)."""

from app.cli_util import AppCommandGroup

labels_cli = AppCommandGroup("labels", help="Print labels as PDF.")
