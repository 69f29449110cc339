"""Saved label printers and their calibration offsets."""
