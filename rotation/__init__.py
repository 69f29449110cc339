"""Book rotation: batches, plans, shipments, receipts at the points, reconciliation."""
