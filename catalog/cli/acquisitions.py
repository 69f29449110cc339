"""`flask acquisitions …`: registers and intakes from the terminal."""

from app.cli_util import AppCommandGroup

acquisitions_cli = AppCommandGroup("acquisitions", help="Intakes, registers and stock checks.")
