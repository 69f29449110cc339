"""Suppliers, intakes and their lines, withdrawals and stock checks."""
