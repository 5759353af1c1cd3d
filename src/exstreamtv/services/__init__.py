"""Use cases: the only layer that mixes I/O with the pure core."""
