"""`flask catalog …`: import, export and search the catalogue from the terminal."""

from app.cli_util import AppCommandGroup

catalog_cli = AppCommandGroup("catalog", help="Import, export and search MARC21 records.")

# Each module adds its commands to the group above.
from catalog.cli import exporting, importing, labels, search  # noqa: E402, F401
