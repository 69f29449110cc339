"""Catalogue pages: items (routes are added to catalog.views.bp / opac_bp)."""
