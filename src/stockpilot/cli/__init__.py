"""stockpilot.cli layer."""
