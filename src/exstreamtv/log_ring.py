"""The last log records, kept in memory for ``GET /api/logs`` and troubleshooting.

:class:`LogRing` is a logging handler holding at most ``capacity`` records. Every record
passes the process's :class:`~exstreamtv.logs.SecretRedactor` before it is kept, so a
registered secret never enters the ring. Messages are cut to :data:`MAX_MESSAGE_CHARS`.
Listeners (anomaly detection) see each kept record as it arrives, on the logging thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from exstreamtv.logs import SecretRedactor

MAX_MESSAGE_CHARS = 2000
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One kept record. ``time`` is UTC; ``channel`` is the record's channel field, if any;
    ``seq`` increases by one per kept record."""

    seq: int
    time: datetime
    level: str
    logger: str
    message: str
    channel: str | None = None


Listener = Callable[[LogEntry], None]


class LogRing(logging.Handler):
    """A bounded, redacted, in-memory record of recent log lines (see the module docstring)."""

    def __init__(
        self, redactor: SecretRedactor, *, capacity: int = 2000, level: int = logging.INFO
    ) -> None:
        super().__init__(level)
        self.addFilter(redactor)
        self._entries: deque[LogEntry] = deque(maxlen=capacity)
        self._listeners: list[Listener] = []
        self._seq = 0
        self._guard = threading.Lock()

    def listen(self, listener: Listener) -> None:
        """Call ``listener`` with every record kept from now on (it must be quick and
        thread-safe; an exception it raises is swallowed)."""
        self._listeners.append(listener)

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[: MAX_MESSAGE_CHARS - 1] + "…"
        channel = getattr(record, "channel", None)
        with self._guard:
            self._seq += 1
            entry = LogEntry(
                seq=self._seq,
                time=datetime.fromtimestamp(record.created, UTC),
                level=record.levelname,
                logger=record.name,
                message=message,
                channel=str(channel) if channel not in (None, "-") else None,
            )
            self._entries.append(entry)
        for listener in self._listeners:
            # A failing listener is ignored: logging its error from a handler would recurse.
            with contextlib.suppress(Exception):
                listener(entry)

    def records(
        self, *, level: str | None = None, text: str | None = None, limit: int = 100
    ) -> list[LogEntry]:
        """The newest ``limit`` kept records at ``level`` or above whose message or logger
        contains ``text`` (case-insensitive), oldest first."""
        floor = LEVELS.index(level) if level in LEVELS else 0
        needle = text.casefold() if text else None
        with self._guard:
            entries = list(self._entries)
        found: list[LogEntry] = []
        for entry in reversed(entries):
            if len(found) >= limit:
                break
            if _rank(entry.level) < floor:
                continue
            if needle and needle not in entry.message.casefold() and needle not in entry.logger:
                continue
            found.append(entry)
        found.reverse()
        return found

    def install(self) -> None:
        """Attach to the root logger (idempotent)."""
        root = logging.getLogger()
        if self not in root.handlers:
            root.addHandler(self)

    def uninstall(self) -> None:
        logging.getLogger().removeHandler(self)


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)
