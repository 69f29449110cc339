"""Trạm Sách foundation: database, users and roles, audit log, the library network, the web shell."""
