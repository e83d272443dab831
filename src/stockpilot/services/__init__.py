"""stockpilot.services layer."""
