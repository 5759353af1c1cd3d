"""Process-wide runtime matters: the garbage collector's and the GIL's tuning, applied once
by the server after start-up, and loading modules off the event loop.

Garbage collector: building the guide or a week of playouts creates hundreds of thousands
of short-lived objects. With CPython's default thresholds (700, 10, 10) the collector
rescans the young ones many times, and every full collection walks every long-lived object
of the app too; measured, that was about a third of the guide's generation time. So the
objects that exist once start-up is done are frozen (full collections skip them) and the
young-generation threshold is raised. Reference counting still frees almost everything at
once; only reference cycles wait a little longer.

The GIL: a worker thread (the guide's rendering, a playout build) holds it until the
event loop asks and a switch interval passes; CPython's default is 5 ms, so each wake-up of
the loop (a viewer's packets, a request) could wait that long, several times over with
several workers. One millisecond keeps the loop ahead of them for about a per-cent of the
workers' throughput (measured: the loop's median wake-up lag under one busy worker fell
from 10 ms to about 1).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import sys
from types import ModuleType

GC_THRESHOLDS = (50_000, 20, 100)
SWITCH_INTERVAL_SEC = 0.001


def tune_garbage_collector() -> None:
    """Freeze the objects alive now and raise the collection thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def favour_the_event_loop() -> None:
    """Make worker threads hand the GIL over every millisecond (see the module docstring)."""
    sys.setswitchinterval(SWITCH_INTERVAL_SEC)


async def load_module(name: str) -> ModuleType:
    """Import ``name`` in a worker thread and return it.

    For modules an idle server never needs, imported on first use: loading one takes tens
    to hundreds of milliseconds, which must not hold the event loop."""
    return await asyncio.to_thread(importlib.import_module, name)
