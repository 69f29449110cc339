"""Yearly targets and monthly figures entered for the plan's indicators."""
