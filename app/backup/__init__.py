"""Backups: a consistent snapshot of the database (SQLite file or PostgreSQL custom dump) and restore."""
