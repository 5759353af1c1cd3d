"""Run the benchmarks and print a table of their figures against ``bench/baseline.json``.

Each benchmark script runs as its own process (``--json`` collects its figures). A figure
is a REGRESSION when it is worse than its recorded baseline by more than ``--tolerance``
(and by more than a small absolute amount, so a 2 ms figure does not flap); it is MISSED
when it does not meet its target. Exits 1 when any figure regressed or missed.
``--record`` writes the figures of this run as the new baseline.

    .venv/bin/python bench/compare.py [--only guide,startup] [--tolerance 0.15] [--record]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from figures import Figure, load

HERE = Path(__file__).parent
BASELINE = HERE / "baseline.json"
BENCHMARKS = ("guide", "playout", "spawn", "startup", "stream")
NOISE = {"s": 0.01, "ms": 2.0, "us": 1.0, "MB": 5.0}  # absolute slack per unit


def run(name: str) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="exstreamtv-compare-") as work:
        out = Path(work) / "figures.json"
        print(f"--- {name}", flush=True)
        subprocess.run([sys.executable, str(HERE / f"{name}.py"), "--json", str(out)], check=True)
        return load(out)


def verdict(now: Figure, before: Figure | None, tolerance: float) -> str:
    if now.met is False:
        return "MISSED"
    if before is None:
        return "new"
    worse = before.value - now.value if now.higher_is_better else now.value - before.value
    if worse > abs(before.value) * tolerance and worse > NOISE.get(now.unit, 0.0):
        return "REGRESSION"
    return "ok"


def table(figures: list[Figure], baseline: dict[str, Figure], tolerance: float) -> bool:
    print(f"\n{'figure':<46} {'target':>10} {'baseline':>10} {'now':>10}  {'change':>7}  status")
    ok = True
    for now in figures:
        before = baseline.get(now.key)
        status = verdict(now, before, tolerance)
        ok = ok and status in ("ok", "new")
        bound = "" if now.target is None else ("≥" if now.higher_is_better else "≤")
        target = "" if now.target is None else f"{bound}{now.target:g}"
        was = "" if before is None else f"{before.value:.4g}"
        change = ""
        if before is not None and before.value:
            change = f"{(now.value - before.value) / abs(before.value):+.0%}"
        print(f"{now.label[:46]:<46} {target:>10} {was:>10} {now.value:>10.4g}  {change:>7}  "
              f"{status} ({now.unit})")  # fmt: skip
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"Comma-separated, of {', '.join(BENCHMARKS)}.")
    parser.add_argument("--tolerance", type=float, default=0.15)
    parser.add_argument("--record", action="store_true", help="Save this run as the baseline.")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    figures = [figure for name in names for figure in run(name)]
    baseline = {f.key: f for f in load(BASELINE)} if BASELINE.exists() else {}
    ok = table(figures, baseline, args.tolerance)
    if args.record:
        kept = {key: f for key, f in baseline.items() if key not in {f.key for f in figures}}
        recorded = [*kept.values(), *figures]
        BASELINE.write_text(json.dumps([asdict(f) for f in recorded], indent=2) + "\n")
        print(f"recorded {len(figures)} figures in {BASELINE}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
