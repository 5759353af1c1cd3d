"""Structured logging with secret redaction.

Every record passes through :class:`SecretRedactor`, which replaces each registered secret
value (API keys, tokens, database passwords) wherever it appears in the rendered message or
in structured ``extra`` fields. Secrets are registered by the container at start-up.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final

REDACTED: Final = "***"
# uvicorn adds an ANSI-coloured copy of its message; it is noise in structured output.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "color_message",
}
# Credentials embedded in URLs (scheme://user:password@host) and common token parameters.
# Bounded repeats keep redaction linear: an unbounded scheme made a long line without "://"
# cost quadratic time (a 100 kB message took a minute).
_URL_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]{0,31}://[^/\s:@]{1,256}:)[^@\s/]{1,2048}@", re.IGNORECASE
)
_TOKEN_PARAM = re.compile(
    r"(?P<key>(?:x-plex-token|api_key|apikey|access_token|token|password|passwd)=)[^&\s\"']+",
    re.IGNORECASE,
)


class SecretRedactor(logging.Filter):
    """Replaces known secrets and URL credentials in every record's message and fields."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def register(self, secrets: Iterable[str | None]) -> None:
        """Add secret values (empty and very short values are ignored)."""
        with self._lock:
            self._secrets = self._secrets | {s for s in secrets if s and len(s) >= 4}

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if "://" in text:  # a cheap test first: most lines hold no URL
            text = _URL_PASSWORD.sub(rf"\g<scheme>{REDACTED}@", text)
        return _TOKEN_PARAM.sub(rf"\g<key>{REDACTED}", text) if "=" in text else text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, self.redact(value))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...`` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        fields = " ".join(f"{k}={v}" for k, v in sorted(_extras(record).items()))
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        line = f"{line} {fields}" if fields else line
        return f"{line}\n{record.exc_text}" if record.exc_text else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, default=str, ensure_ascii=False)


def configure_logging(level: str, fmt: str, redactor: SecretRedactor) -> None:
    """Install one stderr handler on the root logger, with redaction, replacing others."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(redactor)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request's URL at INFO; an online source's URLs may hold credentials.
    for noisy in ("uvicorn.access", "aiosqlite", "asyncio", "alembic", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
