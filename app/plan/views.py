"""Web pages of the plan's targets and progress under /plan."""

from flask import Blueprint

bp = Blueprint("plan", __name__, template_folder="templates")
