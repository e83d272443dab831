"""stockpilot.core layer."""
