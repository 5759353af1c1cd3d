"""A static check of the two process rules of DESIGN.md, on the syntax tree (not on text):

* **Subprocess discipline**: only ``exstreamtv.ffmpeg.process`` starts child processes
  (``asyncio.create_subprocess_*``, ``loop.subprocess_*``, ``subprocess``, ``os.system``,
  ``os.spawn*``, ``os.exec*``, ``os.fork``, ``os.posix_spawn*``, ``pty``, ``multiprocessing``,
  also through aliases and ``getattr``). Its long-running ``start_process`` is for the
  supervisor only; its run-to-completion ``run_capture`` for the listed one-shot tools.
* **One restart path**: the methods that start, stop or restart a channel's processes
  (:data:`GUARDED`) are used only by the listed modules. Receivers are typed by a small
  inference: annotations of parameters, fields and properties (so ``container.supervisor``
  and ``self._live`` are known), constructor calls, and the elements of mappings of a guarded
  type (``live.sessions["5"]``, ``.get()``, ``.values()``). A call of ``restart``, ``spawn``,
  ``reap`` or ``record_*`` on a receiver the inference cannot type is refused too.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SPAWNER = "exstreamtv.ffmpeg.process"
SUPERVISOR = "exstreamtv.playback.supervisor"
SESSION = "exstreamtv.playback.session"
CHANNELS = "exstreamtv.playback.channels"
CONTAINER = "exstreamtv.services.container"
# Troubleshooting playback runs one item through a channel's argv under the supervisor's
# cap and process discipline; it is not a channel, so it never restarts or counts failures.
TRIALS = "exstreamtv.services.playback_trials"

SPAWN_NAMES = frozenset({
    "asyncio.create_subprocess_exec", "asyncio.create_subprocess_shell", "os.system",
    "os.popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.posix_spawnp",
})  # fmt: skip
SPAWN_PREFIXES = ("subprocess.", "os.spawn", "os.exec", "pty.", "multiprocessing.")
SPAWN_MODULES = frozenset({"subprocess", "pty", "multiprocessing"})
SPAWN_METHODS = frozenset({"subprocess_exec", "subprocess_shell"})  # event-loop methods

RUNNERS: dict[str, frozenset[str]] = {
    f"{SPAWNER}.start_process": frozenset({SUPERVISOR}),
    # One-shot runs to completion under a timeout: probes, encoder listing, demo clips, logos.
    f"{SPAWNER}.run_capture": frozenset(
        {
            "exstreamtv.ffmpeg.probe",
            "exstreamtv.ffmpeg.capabilities",
            "exstreamtv.services.demo",
            "exstreamtv.services.logos",
        }
    ),
}

GUARDED_CLASSES = {"Supervisor": SUPERVISOR, "ChannelSession": SESSION, "LiveChannels": CHANNELS}
GUARDED: dict[tuple[str, str], frozenset[str]] = {
    ("Supervisor", "spawn"): frozenset({SESSION, TRIALS}),
    ("Supervisor", "reap"): frozenset({SESSION, TRIALS}),
    ("Supervisor", "stop"): frozenset({SESSION, TRIALS}),
    ("Supervisor", "restart"): frozenset({SESSION, CHANNELS}),
    ("Supervisor", "record_failure"): frozenset({SESSION}),
    ("Supervisor", "record_success"): frozenset({SESSION}),
    ("Supervisor", "check_stalls"): frozenset(),
    ("Supervisor", "start"): frozenset({CONTAINER}),
    ("Supervisor", "close"): frozenset({CONTAINER}),
    ("ChannelSession", "start"): frozenset({CHANNELS}),
    ("ChannelSession", "stop"): frozenset({CHANNELS}),
    ("ChannelSession", "_on_stall"): frozenset({CHANNELS}),
    ("LiveChannels", "open"): frozenset({"exstreamtv.services.streaming"}),
    ("LiveChannels", "restart"): frozenset({"exstreamtv.services.automation"}),
    ("LiveChannels", "close"): frozenset({CONTAINER, "exstreamtv.cli.server"}),
}
CONSTRUCTORS = {
    "Supervisor": frozenset({CONTAINER}),
    "LiveChannels": frozenset({CONTAINER}),
    "ChannelSession": frozenset({CHANNELS}),
}
FAIL_CLOSED = frozenset({"restart", "spawn", "reap", "record_failure", "record_success"})


@dataclass(frozen=True, slots=True, order=True)
class Violation:
    module: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line}: {self.what}"


@dataclass(frozen=True, slots=True)
class Kind:
    """A guarded class, or (``many``) a mapping or sequence of it."""

    name: str
    many: bool = False


@dataclass(slots=True)
class Source:
    module: str
    tree: ast.Module
    aliases: dict[str, str] = field(default_factory=dict)


def modules_under(root: Path, package: str = "exstreamtv") -> list[tuple[str, Path]]:
    """``(dotted module name, path)`` of every ``.py`` file of ``package`` under ``root``."""
    found = []
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        found.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return found


def installed_modules() -> list[tuple[str, Path]]:
    """Every module of the installed ``exstreamtv`` package (the one running this)."""
    return modules_under(Path(__file__).resolve().parents[2])


def check(files: Iterable[tuple[str, Path]], only: str | None = None) -> list[Violation]:
    """Every violation of the two rules in ``files`` (analysed together), or in module
    ``only`` of them."""
    listed = tuple(files)
    fields = _field_kinds(listed)
    found: list[Violation] = []
    for module, path in listed:
        if only is None or module == only:
            source = _parse(module, path)
            found += _spawns(source)
            found += _guarded(source, fields)
    return sorted(set(found))


@functools.cache
def _parse(module: str, path: Path) -> Source:
    """Parsed once per process (the tree does not change while the check runs)."""
    return _parse_now(module, path)


def _parse_now(module: str, path: Path) -> Source:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return Source(module, tree, import_aliases(tree))


def import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it was imported as (``from time import sleep as
    nap`` gives ``nap -> time.sleep``)."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                aliases[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """The dotted name an expression such as ``aio.sleep`` refers to, through
    ``aliases``; ``None`` for anything but names and attributes."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = dotted(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    return None


def _is_spawn(name: str) -> bool:
    return name in SPAWN_NAMES or name.startswith(SPAWN_PREFIXES)


def _spawns(source: Source) -> Iterator[Violation]:
    if source.module == SPAWNER:
        return
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield from _import_spawns(source.module, node)
        elif isinstance(node, ast.Call):
            yield from _call_spawns(source, node)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            name = dotted(node, source.aliases)
            if name:
                yield from _runner_use(source.module, node.lineno, name)


def _import_spawns(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[Violation]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        names = [node.module] if node.module and node.level == 0 else []
    for name in names:
        if name.split(".")[0] in SPAWN_MODULES:
            yield Violation(module, node.lineno, f"imports {name}: only {SPAWNER} spawns")
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        for alias in node.names:
            yield from _runner_use(module, node.lineno, f"{node.module}.{alias.name}")


def _call_spawns(source: Source, node: ast.Call) -> Iterator[Violation]:
    module, line = source.module, node.lineno
    name = dotted(node.func, source.aliases)
    if name and _is_spawn(name):
        yield Violation(module, line, f"calls {name}: only {SPAWNER} spawns")
    if isinstance(node.func, ast.Attribute) and node.func.attr in SPAWN_METHODS:
        yield Violation(module, line, f"calls .{node.func.attr}(): only {SPAWNER} spawns")
    if name == "getattr" and len(node.args) >= 2:
        target, attr = dotted(node.args[0], source.aliases), node.args[1]
        value = attr.value if isinstance(attr, ast.Constant) else None
        reached = f"{target}.{value}" if isinstance(value, str) else ""
        if target and reached and _is_spawn(reached):
            yield Violation(module, line, f"getattr reaches {reached}")


def _runner_use(module: str, line: int, name: str) -> Iterator[Violation]:
    allowed = RUNNERS.get(name)
    if allowed is not None and module not in allowed:
        yield Violation(
            module, line, f"uses {name.rsplit('.', 1)[1]}: allowed in {sorted(allowed)}"
        )


# --- typing receivers ------------------------------------------------------------------


def _annotation_kind(node: ast.expr | None) -> Kind | None:  # noqa: PLR0911 - one per node type
    """The guarded class an annotation names (``many`` inside a container type)."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return _annotation_kind(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return None
    if isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else node.attr
        return Kind(name) if name in GUARDED_CLASSES else None
    if isinstance(node, ast.BinOp):  # X | None
        return _annotation_kind(node.left) or _annotation_kind(node.right)
    if isinstance(node, ast.Subscript):
        outer = node.value.id if isinstance(node.value, ast.Name) else ""
        inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        for element in inner:
            kind = _annotation_kind(element)
            if kind is not None:
                return kind if outer == "Optional" else Kind(kind.name, many=True)
    return None


def _field_kinds(files: tuple[tuple[str, Path], ...]) -> dict[str, Kind]:
    """Attribute name -> guarded kind, from every class body, ``__init__`` and property."""
    kinds: dict[str, Kind] = {}
    for module, path in files:
        kinds.update(_file_fields(module, path))
    return kinds


@functools.cache
def _file_fields(module: str, path: Path) -> dict[str, Kind]:
    kinds: dict[str, Kind] = {}
    tree = _parse(module, path).tree
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        for item in cls.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                _remember(kinds, item.target.id, _annotation_kind(item.annotation))
            elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                if any(dotted(d, {}) == "property" for d in item.decorator_list):
                    _remember(kinds, item.name, _annotation_kind(item.returns))
                _self_fields(item, kinds)
    return kinds


def _remember(kinds: dict[str, Kind], name: str, kind: Kind | None) -> None:
    if kind is not None:
        kinds[name] = kind


def _self_fields(function: ast.FunctionDef | ast.AsyncFunctionDef, kinds: dict[str, Kind]) -> None:
    params = {a.arg: _annotation_kind(a.annotation) for a in _arguments(function)}
    for node in ast.walk(function):
        if isinstance(node, ast.AnnAssign) and _is_self_attr(node.target):
            _remember(kinds, node.target.attr, _annotation_kind(node.annotation))  # type: ignore[union-attr]
        elif isinstance(node, ast.Assign):
            for target, value in _pairs(node):
                if _is_self_attr(target) and isinstance(value, ast.Name):
                    _remember(kinds, target.attr, params.get(value.id))  # type: ignore[attr-defined]


def _arguments(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[ast.arg]:
    args = function.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs]


def _is_self_attr(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def _pairs(node: ast.Assign) -> Iterator[tuple[ast.expr, ast.expr]]:
    for target in node.targets:
        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
            yield from zip(target.elts, node.value.elts, strict=False)
        else:
            yield target, node.value


class _Receivers:
    """Types expressions of one module with the field map and a flow-insensitive local
    environment per function (good enough for a boundary check; see the module docstring)."""

    def __init__(self, fields: dict[str, Kind]) -> None:
        self.fields = fields
        self.local: dict[str, Kind] = {}

    def kind(self, node: ast.expr) -> Kind | None:  # noqa: PLR0911 - one per node type
        if isinstance(node, ast.Name):
            return self.local.get(node.id)
        if isinstance(node, ast.Attribute):
            return self.fields.get(node.attr)
        if isinstance(node, ast.Await):
            return self.kind(node.value)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in GUARDED_CLASSES:
                return Kind(func.id)
            if isinstance(func, ast.Name) and func.id in ("list", "tuple", "sorted") and node.args:
                return self.kind(node.args[0])
            if isinstance(func, ast.Attribute):
                owner = self.kind(func.value)
                if owner is not None and owner.many:
                    if func.attr in ("get", "pop", "setdefault"):
                        return Kind(owner.name)
                    if func.attr == "values":
                        return owner
        if isinstance(node, ast.Subscript):
            owner = self.kind(node.value)
            return Kind(owner.name) if owner is not None and owner.many else None
        return None

    def bind(self, target: ast.expr, kind: Kind | None) -> None:
        if isinstance(target, ast.Name) and kind is not None:
            self.local[target.id] = kind

    def learn(self, function: ast.AST) -> None:
        """Bind parameters, assignments and loop targets of ``function``."""
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for arg in _arguments(function):
                self.bind(ast.Name(arg.arg), _annotation_kind(arg.annotation))
        for node in ast.walk(function):
            if isinstance(node, ast.AnnAssign):
                self.bind(node.target, _annotation_kind(node.annotation) or (
                    self.kind(node.value) if node.value else None))  # fmt: skip
            elif isinstance(node, ast.Assign):
                for target, value in _pairs(node):
                    self.bind(target, self.kind(value))
            elif isinstance(node, ast.NamedExpr):
                self.bind(node.target, self.kind(node.value))
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                source = self.kind(node.iter)
                if source is not None and source.many:
                    self.bind(node.target, Kind(source.name))


def _guarded(source: Source, fields: dict[str, Kind]) -> Iterator[Violation]:
    module = source.module
    owner_of = {m: c for c, m in GUARDED_CLASSES.items()}
    receivers = _Receivers(fields)
    receivers.learn(source.tree)  # module level and, flow-insensitively, every function
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            allowed = CONSTRUCTORS.get(node.func.id)
            if allowed is not None and module not in allowed | {GUARDED_CLASSES[node.func.id]}:
                yield Violation(module, node.lineno, f"constructs {node.func.id}")
        if not isinstance(node, ast.Attribute) or not isinstance(node.ctx, ast.Load):
            continue
        method, kind = node.attr, receivers.kind(node.value)
        if kind is not None and not kind.many:
            allowed = GUARDED.get((kind.name, method))
            if allowed is not None and module not in allowed and owner_of.get(module) != kind.name:
                yield Violation(module, node.lineno, f"uses {kind.name}.{method}")
        elif kind is None and method in FAIL_CLOSED:
            allowed_any = set().union(*(a for (_, m), a in GUARDED.items() if m == method))
            if module not in allowed_any | {SUPERVISOR, "exstreamtv.playback.restarts"}:
                yield Violation(
                    module, node.lineno, f"calls .{method}() on a receiver of unknown type"
                )
