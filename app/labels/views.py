"""Web pages of the label engine under /labels: templates and printer calibration."""

from flask import Blueprint

bp = Blueprint("labels", __name__, template_folder="templates")
