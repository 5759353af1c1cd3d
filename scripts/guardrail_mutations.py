"""Mutation run over the automation and restart guardrails.

Each mutation removes or weakens one guardrail in a temporary copy of the source tree and
runs the tests that must notice; a mutation the tests do not notice *survives*. Prints one
line per mutation (killed by which test, or SURVIVED) and exits 1 if any survived.

    .venv/bin/python scripts/guardrail_mutations.py [--only M06a,M45] [--timeout 300]

Run from the repository root; each mutation is bounded by ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIVE = "tests/services/test_live_guardrails.py"
COOLDOWNS = f"{LIVE}::test_every_tool_of_the_running_server_keeps_its_cooldown"
SCHEDULE = f"{LIVE}::test_a_started_server_runs_the_scheduled_self_resolution_pass"
WATCHDOG = f"{LIVE}::test_a_channel_whose_ffmpeg_goes_silent_is_restarted_by_the_running_watchdog"
FIFTY = (
    "tests/web/test_troubleshooting.py::"
    "test_of_fifty_concurrent_guide_questions_one_starts_the_run_and_the_rest_join_it"
)


@dataclass(frozen=True)
class Mutation:
    """Replace ``old`` by ``new`` in ``path`` (each ``old`` must occur exactly once);
    ``also`` holds further (old, new) pairs in the same file."""

    key: str
    what: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    also: tuple[tuple[str, str], ...] = ()


MUTATIONS = (
    Mutation(
        "M06a", "restart_channel cooldown 120 s -> 30 s (the cooldown table)",
        "src/exstreamtv/agent/tools.py", "ToolKind.STREAM: 120.0", "ToolKind.STREAM: 30.0",
        ("tests/agent/test_tools.py", COOLDOWNS),
    ),
    Mutation(
        "M06b", "restart_channel registered with the 30 s metadata cooldown",
        "src/exstreamtv/services/automation.py",
        "             ToolKind.STREAM, channels.restart_channel",
        "             ToolKind.METADATA, channels.restart_channel",
        (COOLDOWNS,),
    ),
    Mutation(
        "M33", "start_up no longer starts the 5-minute self-resolution schedule",
        "src/exstreamtv/services/container.py",
        "    container.automation.resolution.start()\n", "",
        (SCHEDULE,),
    ),
    Mutation(
        "M45", "the supervisor never starts its watchdog",
        "src/exstreamtv/playback/supervisor.py",
        'self._watchdog = asyncio.create_task(self._watch(), name="ffmpeg-watchdog")',
        "self._watchdog = None",
        (WATCHDOG,),
    ),
    Mutation(
        "G1", "the breaker gauge is set when a call publishes it, not read at scrape",
        "src/exstreamtv/playback/supervisor.py",
        "gauge.set_function(self._breaker_reader(channel, value))",
        "gauge.set(self._breaker_reader(channel, value)())",
        ("tests/playback/test_supervisor.py",),
        also=(("        if channel in self._published:\n            return\n", ""),),
    ),
    Mutation(
        "C1", "a half-open breaker holds its channel even with no trial running",
        "src/exstreamtv/agent/containment.py",
        "return state is BreakerState.HALF_OPEN and self._supervisor.policy.trial_running(channel)",
        "return state is BreakerState.HALF_OPEN",
        ("tests/agent/test_containment.py",),
    ),
    Mutation(
        "C2", "a half-open breaker never holds, even while its trial runs",
        "src/exstreamtv/agent/containment.py",
        "return state is BreakerState.HALF_OPEN and self._supervisor.policy.trial_running(channel)",
        "return False",
        ("tests/agent/test_containment.py",),
    ),
    Mutation(
        "R1", "a stopped channel keeps an unjudged trial (every later restart refused)",
        "src/exstreamtv/playback/restarts.py",
        "        breaker.trial_running = False\n", "",
        ("tests/playback/test_restarts.py",),
    ),
    Mutation(
        "D1", "a duplicate request is reported as having started the run",
        "src/exstreamtv/agent/metadata_resolution.py",
        'return ResolutionTicket("joined", running)', 'return ResolutionTicket("started", running)',
        (FIFTY, "tests/agent/test_metadata_resolution.py"),
    ),
    Mutation(
        "D2", "a started request does not claim its scope (concurrent duplicates run)",
        "src/exstreamtv/agent/metadata_resolution.py",
        "        self._claims[key] = run_id\n", "",
        ("tests/agent/test_resolution_load.py", "tests/agent/test_metadata_resolution.py"),
    ),
    Mutation(
        "P2", "a channel plan is applied without the confirmation flag",
        "src/exstreamtv/web/channel_plan_schemas.py",
        "    confirm: Literal[True]\n", "    confirm: bool = True\n",
        ("tests/web/test_channel_plans_api.py",),
    ),
    Mutation(
        "P1", "a channel plan is saved when it is previewed",
        "src/exstreamtv/services/channel_plans.py",
        "        self._keep(proposal)\n",
        "        self._keep(proposal)\n        await self.apply(proposal.id)\n",
        ("tests/services/test_channel_plans.py::test_nothing_is_saved_until_the_plan_is_confirmed",
         "tests/web/test_channel_plans_api.py"),
    ),
)  # fmt: skip


def copy_tree(work: Path) -> None:
    for name in ("src", "tests", "deploy"):
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")


def run(mutation: Mutation, timeout: float) -> tuple[str, float]:
    """``killed by <test>`` or ``SURVIVED``, and the seconds it took."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="exstreamtv-mutant-") as folder:
        work = Path(folder)
        copy_tree(work)
        target = work / mutation.path
        text = target.read_text(encoding="utf-8")
        for old, new in ((mutation.old, mutation.new), *mutation.also):
            if text.count(old) != 1:
                return "NOT APPLIED (the guarded line changed: update this script)", 0.0
            text = text.replace(old, new)
        target.write_text(text, encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(work / "src")}
        argv = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:randomly",
                "-p", "no:cacheprovider", "-m", "not soak", "--timeout", "120",
                *mutation.tests]  # fmt: skip
        try:
            done = subprocess.run(
                argv, cwd=work, env=env, capture_output=True, text=True, timeout=timeout,
                check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return f"killed (timed out after {timeout:.0f} s)", time.monotonic() - started
    elapsed = time.monotonic() - started
    if done.returncode == 0:
        return "SURVIVED", elapsed
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", done.stdout, re.MULTILINE)
    return f"killed by {failed[0] if failed else 'exit ' + str(done.returncode)}", elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated mutation keys")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    wanted = {key for key in args.only.split(",") if key}
    chosen = [m for m in MUTATIONS if not wanted or m.key in wanted]
    survivors = 0
    for mutation in chosen:
        verdict, seconds = run(mutation, args.timeout)
        survivors += not verdict.startswith("killed")
        print(f"{mutation.key:<5} {mutation.what:<76} {verdict} ({seconds:.0f} s)", flush=True)
    print(f"{len(chosen) - survivors} of {len(chosen)} mutations killed")
    sys.exit(1 if survivors else 0)


if __name__ == "__main__":
    main()
