"""The plan's yearly targets per library and indicator, and progress against them."""
