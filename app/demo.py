"""Demo data: the provincial library, district libraries, units, rotation points and one user per role."""

from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demo data for trying the application.")
