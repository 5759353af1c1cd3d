"""A counter of changes that alter what the guide shows (channels, playouts).

Writers bump it after committing; the guide cache keys on it, so a cached guide is never
served after the data behind it changed. In-process only: one server owns its guide.
"""

from __future__ import annotations


class GuideChanges:
    def __init__(self) -> None:
        self.version = 0

    def bump(self) -> None:
        self.version += 1
