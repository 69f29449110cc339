"""Tests of the label engine, its printers and pages."""
