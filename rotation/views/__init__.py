"""Web pages of rotation under /rotation: batches, shipments and receipts, plans, point usage."""

from flask import Blueprint

bp = Blueprint("rotation", __name__, template_folder="../templates", static_folder="../static")

# Each module adds its routes to the blueprint above.
from rotation.views import batches, documents, labels, plans, points, shipments  # noqa: E402, F401
