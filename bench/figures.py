"""Benchmark figures: each printed next to its target, and written as JSON for
``bench/compare.py`` (``--json FILE`` on every benchmark script).

A figure's target is an upper bound (times, memory) unless ``higher_is_better``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Figure:
    """``key`` is stable across runs (``guide.cold_s``); ``label`` is for people."""

    key: str
    label: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def line(self) -> str:
        shown = f"{self.label:<44} {_number(self.value):>9} {self.unit}"
        if self.target is None:
            return shown
        bound = ">=" if self.higher_is_better else "<="
        verdict = "ok" if self.met else "MISSED"
        return f"{shown}  (target {bound} {_number(self.target)} {self.unit}: {verdict})"


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}"


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")


def report(figures: list[Figure], json_path: Path | None) -> None:
    """Print each figure with its target; write them all to ``json_path`` if given."""
    for figure in figures:
        print(figure.line(), flush=True)
    if json_path is not None:
        json_path.write_text(json.dumps([asdict(f) for f in figures], indent=2) + "\n")


def load(path: Path) -> list[Figure]:
    return [Figure(**item) for item in json.loads(path.read_text())]
