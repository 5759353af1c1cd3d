"""Secret key files in the data directory: created once with mode 0600, atomically.

``O_CREAT | O_EXCL`` makes two processes starting together end up with one key: the one
that loses the race reads the winner's. A key file found open to group or others is
tightened (those bits removed), with a warning.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

from exstreamtv.errors import DataDirError

log = logging.getLogger(__name__)
PRIVATE_FILE = 0o600
OTHERS = 0o077  # every permission bit of group and others


def read_or_create_key(path: Path, generate: Callable[[], bytes]) -> bytes:
    """The key in ``path`` (stripped), or a new one from ``generate`` written there with
    mode 0600 when the file does not exist. Blocking. Raises :class:`DataDirError`."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        pass
    except OSError as err:
        raise DataDirError(f"cannot create the key file {path}: {err.strerror}") from err
    else:
        key = generate()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        return key
    tighten(path)
    try:
        return path.read_bytes().strip()
    except OSError as err:
        raise DataDirError(f"cannot read the key file {path}: {err.strerror}") from err


def tighten(path: Path) -> bool:
    """Take every permission of ``path`` away from group and others (the owner's stay, an
    executable stays executable), with a warning; True when it had to. A file that cannot
    be changed (not ours) is reported, not fatal."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return False
    private = current & ~OTHERS
    if private == current:
        return False
    try:
        path.chmod(private)
    except OSError as err:
        log.warning("%s is open to others (mode %o) and cannot be tightened: %s",
                    path, current, err.strerror)  # fmt: skip
        return False
    log.warning("%s was mode %o; tightened to %o", path, current, private)
    return True
