"""Where media comes from: local folders (and, later, media servers)."""
