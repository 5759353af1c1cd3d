"""``exstreamtv verify``: the static checks the test suite runs, against the installed
package. ``restart-path``: only the supervisor spawns FFmpeg and only the playback modules
start, stop or restart channels; ``async``: no blocking call in async code of a scope."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from exstreamtv.source_checks import blocking_calls, process_boundaries
from exstreamtv.source_checks.process_boundaries import Violation


def restart_path(console: Console) -> bool:
    """Print the process-boundary offences of the installed package; True when none."""
    modules = process_boundaries.installed_modules()
    return _report(console, "restart path", len(modules), process_boundaries.check(modules))


def async_calls(console: Console, scope: str) -> bool:
    """Print the blocking calls in async code of ``scope``; True when none."""
    modules = [m for m in process_boundaries.installed_modules()
               if blocking_calls.in_scope(m[0], scope)]  # fmt: skip
    found = blocking_calls.check(modules, scope)
    return _report(console, f"async correctness ({scope})", len(modules), found)


def _report(console: Console, what: str, modules: int, violations: list[Violation]) -> bool:
    for violation in violations:
        console.print(escape(str(violation)), highlight=False, soft_wrap=True)
    verdict = "pass" if not violations else f"{len(violations)} offence(s)"
    console.print(f"{what}: {modules} module(s) checked, {verdict}", highlight=False)
    return not violations
