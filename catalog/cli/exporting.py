"""`flask catalog` commands: exporting."""
