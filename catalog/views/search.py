"""Catalogue pages: search (routes are added to catalog.views.bp / opac_bp)."""
