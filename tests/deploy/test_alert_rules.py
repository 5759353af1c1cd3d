"""The shipped Prometheus alert rules: valid for ``promtool``, their unit tests pass, the
unit tests catch a moved threshold or a removed rule, and every metric they read is one
EXStreamTV exports (with the live values of the supervisor)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from exstreamtv.metrics import Metrics
from exstreamtv.services.container import Container

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = RULES_DIR / "exstreamtv-alerts.yml"
RULE_TESTS = RULES_DIR / "exstreamtv-alerts.test.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed: run `make test` (Debian package prometheus)")
    return found


def run(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_accepts_the_rules(promtool: str) -> None:
    done = run(promtool, "check", "rules", str(RULES))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


def test_the_rule_unit_tests_pass(promtool: str) -> None:
    done = run(promtool, "test", "rules", str(RULE_TESTS))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("exstreamtv_metadata_failure_ratio > 0.3", "exstreamtv_metadata_failure_ratio > 0.35"),
        ("exstreamtv_metadata_failure_ratio > 0.3", "exstreamtv_metadata_failure_ratio > 0.25"),
        ("exstreamtv_metadata_failure_ratio > 0.5", "exstreamtv_metadata_failure_ratio >= 0.5"),
        (
            "exstreamtv_metadata_placeholder_ratio > 0.2",
            "exstreamtv_metadata_placeholder_ratio > 0.3",
        ),
        ("exstreamtv_channel_restart_velocity > 0.5", "exstreamtv_channel_restart_velocity > 1"),
        ("exstreamtv_channel_restart_velocity > 2", "exstreamtv_channel_restart_velocity > 1.5"),
        ("exstreamtv_ffmpeg_pool_pressure >= 0.9", "exstreamtv_ffmpeg_pool_pressure > 0.9"),
        ("for: 10m", "for: 0m"),
        ("[30m]))) > 5.25", "[30m]))) > 5.3"),
        ("[30m]))) > 5.25", "[30m]))) > 5.2"),
        ("[30m]))) > 31.5", "[30m]))) > 31.6"),
        ("[30m]))) > 31.5", "[30m]))) > 31.4"),
        ("histogram_quantile(0.95,", "histogram_quantile(0.9,"),
    ],
)
def test_a_moved_threshold_fails_the_rule_unit_tests(
    promtool: str, tmp_path: Path, old: str, new: str
) -> None:
    text = RULES.read_text(encoding="utf-8")
    assert old in text
    (tmp_path / RULES.name).write_text(text.replace(old, new, 1), encoding="utf-8")
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    done = run(promtool, "test", "rules", str(tmp_path / RULE_TESTS.name))
    assert done.returncode != 0, f"moving {old!r} to {new!r} went unnoticed"


@pytest.mark.parametrize("index", range(8))
def test_a_removed_rule_fails_the_rule_unit_tests(
    promtool: str, tmp_path: Path, index: int
) -> None:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    removed = rules[index]["alert"]
    for group in document["groups"]:
        group["rules"] = [rule for rule in group["rules"] if rule["alert"] != removed]
    (tmp_path / RULES.name).write_text(yaml.safe_dump(document), encoding="utf-8")
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    done = run(promtool, "test", "rules", str(tmp_path / RULE_TESTS.name))
    assert done.returncode != 0, f"removing {removed} went unnoticed"


def test_every_metric_the_rules_read_is_exported() -> None:
    """Histogram series (``_bucket``) count as their family."""
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    used = {
        name
        for group in document["groups"]
        for rule in group["rules"]
        for name in re.findall(r"\bexstreamtv_[a-z0-9_]+", rule["expr"])
    }
    used = {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
    exported = {family.name for family in Metrics().registry.collect()}
    assert used
    assert used <= exported, used - exported


async def test_pool_pressure_and_restart_velocity_are_the_supervisors(
    container: Container,
) -> None:
    container.supervisor.restart("3", "crash")
    exposition = container.metrics.render().decode()
    assert "exstreamtv_channel_restart_velocity 1.0" in exposition
    assert "exstreamtv_ffmpeg_pool_pressure 0.0" in exposition
