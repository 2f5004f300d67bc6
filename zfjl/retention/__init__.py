"""Retention (art. 42) and holds (art. 43): what the vault keeps, and what it may destroy."""
