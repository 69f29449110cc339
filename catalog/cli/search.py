"""`flask catalog` commands: search."""
