"""Redaction of everything an LLM prompt is built from.

A prompt may only hold data that went through :func:`redact`:

* every registered secret (API keys, tokens, database passwords) is replaced;
* values under keys that name a secret (``token``, ``key``, ``password``, ``secret``,
  ``authorization``, ``cookie``) are dropped;
* every URL loses its credentials, host and query (media-server addresses, tokens);
* home directories (``/home/<user>``, ``/Users/<user>``, ``/root`` and this process's own
  home) become ``~``;
* a bare host name or address given in ``hosts`` is replaced wherever it appears.

The result is plain JSON-able data (dicts, lists, strings, numbers, booleans, ``None``);
strings are cut to :data:`MAX_TEXT` characters and containers to :data:`MAX_ITEMS` entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from exstreamtv.logs import REDACTED, SecretRedactor

MAX_TEXT = 500
MAX_ITEMS = 50
MAX_DEPTH = 6
_SECRET_KEY = re.compile(r"token|key|password|passwd|secret|authorization|cookie", re.IGNORECASE)
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE)
_HOME = re.compile(r"(?:/home|/Users)/[^/\s\"']+|/root(?=/|\b)")


class PromptRedactor:
    """Turns data into something safe to send to an LLM (see the module docstring)."""

    def __init__(self, secrets: SecretRedactor, hosts: Iterable[str] = ()) -> None:
        self._secrets = secrets
        self._hosts = tuple(sorted({h for h in hosts if h}, key=len, reverse=True))
        self._home = str(Path.home())

    def redact(self, value: Any, depth: int = 0) -> Any:
        """The redacted copy of ``value`` (never the original objects)."""
        if depth > MAX_DEPTH:
            return REDACTED
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {
                str(k)[:60]: REDACTED if _SECRET_KEY.search(str(k)) else self.redact(v, depth + 1)
                for k, v in list(value.items())[:MAX_ITEMS]
            }
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact(v, depth + 1) for v in list(value)[:MAX_ITEMS]]
        return self.text(str(value))

    def text(self, text: str) -> str:
        text = self._secrets.redact(text)
        text = _URL.sub(_url_shape, text)
        for host in self._hosts:
            text = text.replace(host, "<server>")
        if len(self._home) > 1:
            text = text.replace(self._home, "~")
        text = _HOME.sub("~", text)
        return text[:MAX_TEXT]


def _url_shape(match: re.Match[str]) -> str:
    """``scheme://<server>/path`` without credentials, host, port or query."""
    url = match.group(0)
    scheme, _, rest = url.partition("://")
    path = rest.split("/", 1)[1] if "/" in rest else ""
    path = path.split("?", 1)[0].split("#", 1)[0]
    return f"{scheme}://<server>/{path}" if path else f"{scheme}://<server>"
