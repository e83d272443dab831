"""stockpilot.web layer."""
