"""`flask rotation …`: batches, plans and overdue shipments from the terminal."""

from app.cli_util import AppCommandGroup

rotation_cli = AppCommandGroup("rotation", help="Rotation batches, plans and shipments.")

# Each module adds its commands to the group above.
from rotation.cli import batches, labels, plans, shipments  # noqa: E402, F401
