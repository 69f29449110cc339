"""Copy and spine labels from the catalogue: a list of accession numbers, a search result, a receiving."""

from catalog.views import bp  # noqa: F401
