"""`flask catalog` commands: importing."""
