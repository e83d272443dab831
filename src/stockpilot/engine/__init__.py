"""stockpilot.engine layer."""
