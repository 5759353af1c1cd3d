"""EXStreamTV: your media as live TV channels."""

__version__ = "0.1.0"
