"""A static check that async code does not block the event loop, on the syntax tree.

Inside the body of every ``async def`` (not inside a nested ``def``, ``lambda`` or class:
those run wherever they are passed, typically ``asyncio.to_thread``), a call is an offence
when it is:

* a sleep: ``time.sleep``;
* a process run: anything of ``subprocess``, ``os.system``, ``os.popen``;
* synchronous HTTP: ``requests.*``, ``urllib.request.urlopen``, ``httpx.get`` and the other
  module-level ``httpx`` request functions, ``httpx.Client``;
* a synchronous database: ``sqlite3.connect``, ``sqlalchemy.create_engine``;
* file-system work: the builtin ``open``, ``os.listdir``/``scandir``/``walk``/``remove``/
  ``rename``/``replace``/``makedirs``, ``shutil.*``, ``glob.glob``, and the path methods
  ``read_text``, ``read_bytes``, ``write_text``, ``write_bytes``, ``iterdir``, ``rglob``,
  ``mkdir``, ``unlink``, ``rmdir``, ``touch``, ``is_file``, ``is_dir``;
* ``input``.

Names are resolved through the module's imports (``from time import sleep as nap`` is
``time.sleep``). Passing such a function to ``asyncio.to_thread`` is not a call and is
fine. The test suite also times every event-loop callback at run time
(``tests/slow_callbacks.py``); this check names the offence before anything runs.

Scopes (``exstreamtv verify async --scope``) select the modules of one area:
:data:`SCOPES`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

from exstreamtv.source_checks.process_boundaries import Violation, dotted, import_aliases

BLOCKING_NAMES = frozenset({
    "time.sleep", "os.system", "os.popen", "os.listdir", "os.scandir", "os.walk",
    "os.remove", "os.rename", "os.replace", "os.makedirs", "glob.glob",
    "urllib.request.urlopen", "sqlite3.connect", "sqlalchemy.create_engine", "open", "input",
    "httpx.get", "httpx.post", "httpx.put", "httpx.patch", "httpx.delete", "httpx.head",
    "httpx.options", "httpx.request", "httpx.stream", "httpx.Client",
})  # fmt: skip
BLOCKING_PREFIXES = ("subprocess.", "requests.", "shutil.")
BLOCKING_METHODS = frozenset({
    "read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "rglob", "mkdir",
    "unlink", "rmdir", "touch", "is_file", "is_dir",
})  # fmt: skip
SCOPES: dict[str, tuple[str, ...]] = {
    "agent": ("exstreamtv.agent", "exstreamtv.services.automation",
              "exstreamtv.services.troubleshooting", "exstreamtv.services.channel_plans"),
    "metadata": ("exstreamtv.agent.metadata_resolution", "exstreamtv.services.metadata_health",
                 "exstreamtv.domain.metadata_health", "exstreamtv.services.library",
                 "exstreamtv.services.server_sync", "exstreamtv.sources", "exstreamtv.formats.nfo",
                 "exstreamtv.formats.filename", "exstreamtv.ffmpeg.probe"),
    "monitoring": ("exstreamtv.metrics", "exstreamtv.performance_baselines", "exstreamtv.logs",
                   "exstreamtv.log_ring", "exstreamtv.agent.anomalies",
                   "exstreamtv.services.health", "exstreamtv.services.station_status",
                   "exstreamtv.web.routes.health", "exstreamtv.web.routes.status"),
    "all": ("exstreamtv",),
}  # fmt: skip


def in_scope(module: str, scope: str) -> bool:
    """True when ``module`` belongs to ``scope`` (a key of :data:`SCOPES`)."""
    return any(module == root or module.startswith(root + ".") for root in SCOPES[scope])


def check(files: Iterable[tuple[str, Path]], scope: str = "all") -> list[Violation]:
    """Every blocking call inside async code of the ``files`` in ``scope``."""
    found: list[Violation] = []
    for module, path in files:
        if in_scope(module, scope):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            found += _offences(module, tree, import_aliases(tree))
    return sorted(set(found))


def _offences(module: str, tree: ast.Module, aliases: dict[str, str]) -> Iterator[Violation]:
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef):
            for call in _calls_in_body(node):
                what = _blocking(call, aliases)
                if what is not None:
                    yield Violation(module, call.lineno, f"{what} blocks the event loop in "
                                    f"async def {node.name}")  # fmt: skip


def _calls_in_body(function: ast.AsyncFunctionDef) -> Iterator[ast.Call]:
    """Calls made by the coroutine itself (not by nested functions, lambdas or classes)."""
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            continue
        if isinstance(node, ast.Call):
            yield node
        pending.extend(ast.iter_child_nodes(node))


def _blocking(call: ast.Call, aliases: dict[str, str]) -> str | None:
    name = dotted(call.func, aliases)
    if name is not None and (name in BLOCKING_NAMES or name.startswith(BLOCKING_PREFIXES)):
        return f"{name}()"
    if isinstance(call.func, ast.Attribute) and call.func.attr in BLOCKING_METHODS:
        return f".{call.func.attr}()"
    return None
