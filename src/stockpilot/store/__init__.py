"""stockpilot.store layer."""
