"""stockpilot.io layer."""
