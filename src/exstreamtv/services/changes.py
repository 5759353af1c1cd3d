"""What changed that alters what the guide shows: channels, playouts, or everything.

Writers report after committing; the guide keys its caches on what they report, so a
cached guide or fragment is never served after the data behind it changed. In-process
only: one server owns its guide.

- :meth:`GuideChanges.playout_changed`: one channel's playout changed from a moment on (a build
  replaces the rows after its boundary). A guide fragment whose window ends before that
  moment is still right, so the extender's passes, which append beyond the guide's end,
  leave the guide alone.
- :meth:`GuideChanges.listings_changed`: the source guide of a live item a channel relays
  changed from a moment on (a scan read new listings); to the guide it is a change of that
  channel's playout, since the fragment shows the listings in place of the relay.
- :meth:`GuideChanges.channel_changed`: a channel row was created, edited or deleted (the
  lineup changed, and that channel's fragment too).
- :meth:`GuideChanges.bump`: anything may have changed (media metadata, a forced rebuild).

``version`` rises with every report (Plex is asked to reload its guide when it moved);
``lineup`` with channel changes and bumps; ``epoch`` with bumps only.
"""

from __future__ import annotations

from collections import deque

HISTORY = 16
"""Playout changes remembered per channel; a fragment older than all of them counts as stale."""


class GuideChanges:
    def __init__(self) -> None:
        self.version = 0
        self.lineup = 0
        self.epoch = 0
        self._history: dict[int, deque[tuple[int, int]]] = {}  # id -> (version, from ms)

    def bump(self) -> None:
        """Everything may have changed."""
        self.version += 1
        self.lineup += 1
        self.epoch += 1

    def playout_changed(self, channel_id: int, from_ms: int = 0) -> None:
        """Channel ``channel_id``'s playout changed at ``from_ms`` (UTC ms) and after."""
        self.version += 1
        history = self._history.get(channel_id)
        if history is None:
            history = self._history[channel_id] = deque(maxlen=HISTORY)
        history.append((self.version, from_ms))

    def listings_changed(self, channel_id: int, from_ms: int) -> None:
        """A live item channel ``channel_id`` relays has other listings at ``from_ms`` (UTC
        ms) and after."""
        self.playout_changed(channel_id, from_ms)

    def channel_changed(self, channel_id: int, *, deleted: bool = False) -> None:
        """A channel was created, edited or (``deleted``) removed."""
        self.lineup += 1
        self.playout_changed(channel_id)
        if deleted:  # keeps the map bounded by the channels that exist
            self._history.pop(channel_id, None)

    def changed_since(self, channel_id: int, version: int, before_ms: int) -> bool:
        """True when ``channel_id`` changed after ``version`` at a moment before
        ``before_ms``: a guide fragment made at ``version`` for a window ending at
        ``before_ms`` is stale. Unknown (history overflowed) counts as changed."""
        history = self._history.get(channel_id)
        if not history:
            return False
        if len(history) == HISTORY and history[0][0] > version + 1:
            return True
        return any(seen > version and at < before_ms for seen, at in history)
