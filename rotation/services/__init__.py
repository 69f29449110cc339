"""Rotation state changes, one module per aggregate: batches, shipments (with receipts and returns), plans."""
