"""`flask sites …`: import and export the network's sites as CSV."""

from flask.cli import AppGroup

sites_cli = AppGroup("sites", help="Import and export sites.")
