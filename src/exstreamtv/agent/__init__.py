"""Troubleshooting and bounded automation (off by default)."""
