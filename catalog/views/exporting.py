"""Catalogue pages: exporting (routes are added to catalog.views.bp / opac_bp)."""
