"""Acquisitions: intakes, receiving into numbered copies, withdrawals, stock checks, registers."""
