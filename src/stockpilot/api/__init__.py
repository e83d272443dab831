"""stockpilot.api layer."""
