"""Catalogue pages: importing (routes are added to catalog.views.bp / opac_bp)."""
