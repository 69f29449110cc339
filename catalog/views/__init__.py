"""Web pages of the catalogue: staff pages under /catalog, the public catalogue under /opac."""

from flask import Blueprint

bp = Blueprint("catalog", __name__, template_folder="../templates")
opac_bp = Blueprint("opac", __name__, template_folder="../templates")
acq_bp = Blueprint("acquisitions", __name__, template_folder="../templates")

# Each module adds its routes to the blueprints above.
from catalog.views import (  # noqa: E402, F401
    acquisitions,
    exporting,
    importing,
    items,
    labels,
    records,
    registers,
    search,
    stockcheck,
)
