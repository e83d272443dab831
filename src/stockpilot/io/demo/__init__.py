"""Demo company generator."""
