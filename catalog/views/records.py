"""Catalogue pages: records (routes are added to catalog.views.bp / opac_bp)."""
