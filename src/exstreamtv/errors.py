"""The one exception tree of EXStreamTV.

Adapters convert library errors where they catch them (``raise SourceUnavailable(...) from
err``); ``web/problems.py`` maps this tree to HTTP in one place. A limit is an error, never a
silent degradation.

::

    ExStreamTVError
    ├── ConfigError                 invalid configuration (CLI exit status 2)
    ├── DataDirError                data directory missing, unwritable or unusable
    ├── InvalidInput                a request or argument is wrong (HTTP 422)
    │   └── LibraryPathInvalid      a library path does not exist / is not a readable folder
    ├── NotFound                    a named thing does not exist (HTTP 404)
    │   └── Gone                    it existed and is gone for good: pruned catch-up
    │                               history, a file missing since it aired (HTTP 410)
    ├── Conflict                    the thing already exists or is in use (HTTP 409)
    │   ├── AutomationDisabled      an automation flag is off (ai_agent.*)
    │   └── ToolRefused             an agent tool may not run now (cooldown, nesting)
    ├── Unauthorized                missing or wrong credentials (HTTP 401)
    ├── Forbidden                   refused whatever the credentials: cross-site (HTTP 403)
    ├── HostRefused                 the Host header names no host of this server (HTTP 421)
    ├── RequestTooLarge             the request body is over the size cap (HTTP 413)
    ├── TooManyAttempts             too many failed sign-ins from one address (HTTP 429)
    ├── LimitReached                a capacity limit refuses the request (HTTP 503)
    │   ├── AutomationPaused        containment or a shutdown holds the agent back
    │   └── StartingUp              the server still does its start-up work (``/readyz``)
    ├── XMLTVValidationError        the guide failed validation; never served (HTTP 503)
    ├── MediaError                  a media file could not be used
    │   ├── ProbeFailed             ffprobe failed, timed out or printed nonsense
    │   └── MetadataParseError      a sidecar (NFO) is malformed or hostile
    ├── ProcessError                a child process could not be started or failed
    ├── DatabaseUnavailable         the database cannot be reached or used now (HTTP 503)
    ├── SourceUnavailable           a media source (folder, server) cannot be reached (HTTP 503)
    │   └── SourceItemGone          an online item is gone or restricted for good (removed,
    │                               private, age- or region-restricted)
    └── ServerUnreachable           a client command cannot reach the running server (CLI)
        └── SourceResponseInvalid   a media server answered with something refused (malformed,
                                    hostile or too large)

Every error carries a human-readable message that never contains a secret.
"""

from __future__ import annotations


class ExStreamTVError(Exception):
    """Base of every error EXStreamTV raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(ExStreamTVError):
    """The configuration is invalid; the message names the key or value."""


class DataDirError(ExStreamTVError):
    """The data directory cannot be created, written or used."""


class StartupError(ExStreamTVError):
    """The server cannot start (its port is taken, its database cannot be reached); the
    message names the cause and the setting. Nothing was created."""


class InvalidInput(ExStreamTVError):
    """A request or argument is invalid; the message says what is wrong."""


class LibraryPathInvalid(InvalidInput):
    """A library folder does not exist, is not a directory, or cannot be read."""


class NotFound(ExStreamTVError):
    """The requested thing does not exist."""


class Gone(NotFound):
    """What was asked for existed and is gone for good (HTTP 410)."""


class Conflict(ExStreamTVError):
    """The thing already exists or is in use."""


class AutomationDisabled(Conflict):
    """The bounded agent or self-resolution is switched off in the configuration."""


class ToolRefused(Conflict):
    """An agent tool may not run now: its cooldown runs, or another tool is calling it."""


class Unauthorized(ExStreamTVError):
    """Credentials are missing or wrong."""


class Forbidden(ExStreamTVError):
    """The request is refused whatever its credentials (e.g. a cross-site request)."""


class HostRefused(ExStreamTVError):
    """The request's ``Host`` is not a name this server answers to (DNS rebinding, a
    misdirected request)."""


class RequestTooLarge(ExStreamTVError):
    """The request body is larger than the server accepts."""


class TooManyAttempts(ExStreamTVError):
    """Credentials failed too often from one address; ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LimitReached(ExStreamTVError):
    """A capacity limit refuses the request. ``retry_after`` is in seconds."""

    def __init__(self, message: str, retry_after: int = 30) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AutomationPaused(LimitReached):
    """The agent takes no action now: containment holds, or it shut itself down after
    repeated failures. ``retry_after`` is in seconds."""


class StartingUp(LimitReached):
    """The server answers, but its start-up work (``services/warm_up.py``) is not done.
    ``retry_after`` is in seconds."""


class XMLTVValidationError(ExStreamTVError):
    """The guide (or the lineup behind it) is invalid, so it is not served.

    ``channel`` names the channel at fault when there is one; ``reason`` is a stable code
    (``empty_title``, ``overlap``, ``duplicate_number``...) for metrics.
    """

    def __init__(
        self, message: str, *, reason: str, channel: str | None = None, retry_after: int = 60
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.channel = channel
        self.retry_after = retry_after


class MediaError(ExStreamTVError):
    """A media file could not be used."""


class ProbeFailed(MediaError):
    """ffprobe failed, timed out, or its output could not be understood."""


class MetadataParseError(MediaError):
    """A metadata sidecar (NFO) is malformed, hostile, or not what it claims to be."""


class ProcessError(ExStreamTVError):
    """A child process could not be started, timed out, or exited with an error."""


class DatabaseUnavailable(ExStreamTVError):
    """The database cannot be reached (down, restarting, refusing connections) or used (the
    file cannot be opened, the disk failed, it stayed locked). Temporary by nature: the
    server keeps running and recovers by itself when the database is back."""


class SourceUnavailable(ExStreamTVError):
    """A media source cannot be reached right now."""


class SourceItemGone(SourceUnavailable):
    """An online item cannot be played, and retrying will not help: it was removed, made
    private, or is age- or region-restricted. The message says which."""


class SourceResponseInvalid(SourceUnavailable):
    """A media server's answer is malformed, hostile (XML entities) or over the size limit."""


class ServerUnreachable(ExStreamTVError):
    """A client command (``exstreamtv troubleshoot``) finds no server at the URL."""
