"""Benchmarks of the speed targets in the catalogue issue: `python -m bench [NAME ...] [--quick]`."""
