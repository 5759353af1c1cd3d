"""The hardening suite: which tests prove which section of the two seed plans.

Each section has a pytest marker (registered in ``pyproject.toml``) and every test listed
here also gets the ``hardening`` marker, so ``make hardening`` (``pytest -m hardening``)
runs exactly the suite and prints its count per section. A pattern is a test file, or a
file and a test name (parametrised cases included). A pattern that names a collected file
but matches none of its tests stops the run: a renamed test cannot silently leave the
suite. ``docs/hardening.md`` lists the same tests with what each proves.

Sections without tests are documents: I (rollout, ``docs/rollout.md``), J (residual risks,
``docs/residual-risks.md``) and activation 9 (activation, ``docs/rollout.md``).
"""

from __future__ import annotations

import pytest

SECTIONS: dict[str, tuple[str, ...]] = {
    "hardening_a_safety": (
        "tests/agent/test_containment.py",
    ),
    "hardening_b_harness": (
        "tests/agent/test_resolution_load.py",
        "tests/agent/test_metadata_resolution.py::test_a_run_that_makes_things_worse_disables_self_resolution",
        "tests/agent/test_llm.py::test_the_agent_loop_follows_the_llm_and_stops_on_nonsense",
    ),
    "hardening_c_gating": (
        "tests/agent/test_loop.py",
        "tests/agent/test_tools.py",
        "tests/agent/test_llm.py",
        "tests/services/test_live_guardrails.py::test_every_tool_of_the_running_server_keeps_its_cooldown",
    ),
    "hardening_d_guide": (
        "tests/formats/test_xmltv.py",
        "tests/services/test_guide.py",
        "tests/services/test_guide_mismatch.py",
        "tests/services/test_automation.py::test_reparse_reads_a_new_nfo_and_the_rebuilt_guide_shows_it",
    ),
    "hardening_e_restart_path": (
        "tests/architecture/test_process_boundaries.py",
        "tests/cli/test_verify.py::test_the_installed_package_passes",
        "tests/cli/test_verify.py::test_a_restart_outside_the_supervisor_path_fails_the_restart_path_check",
        "tests/playback/test_restarts.py",
        "tests/playback/test_supervisor.py",
        "tests/agent/test_restart_channel.py",
        "tests/services/test_live_guardrails.py::test_a_channel_whose_ffmpeg_goes_silent_is_restarted_by_the_running_watchdog",
        "tests/web/test_agent_api.py::test_a_held_restart_is_approved_over_http",
        "tests/web/test_agent_api.py::test_a_held_restart_can_be_rejected",
    ),
    "hardening_f_async": (
        "tests/architecture/test_blocking_calls.py",
        "tests/architecture/test_slow_callbacks.py",
        "tests/cli/test_verify.py::test_a_blocking_call_fails_its_scope_only",
        "tests/agent/test_tools.py::test_a_tool_that_hangs_is_cancelled_and_recorded_as_an_error",
    ),
    "hardening_g_observability": (
        "tests/deploy/test_alert_rules.py",
        "tests/agent/test_anomalies.py",
        "tests/domain/test_metadata_health.py",
        "tests/services/test_metadata_health.py",
        "tests/services/test_troubleshooting.py::test_five_stalls_of_one_channel_in_the_window_are_one_spike",
        "tests/playback/test_supervisor.py::test_the_breaker_gauge_turns_half_open_when_the_open_period_ends_unasked",
        "tests/web/test_agent_api.py::test_a_run_is_started_and_listed",
    ),
    "hardening_h_baselines": (
        "tests/services/test_performance_baselines.py",
    ),
    "activation_1_flags": (
        "tests/agent/test_metadata_resolution.py::test_nothing_runs_unless_both_flags_are_on",
        "tests/web/test_agent_api.py::test_runs_are_refused_with_409_while_the_agent_is_disabled",
    ),
    "activation_2_triggers": (
        "tests/services/test_automation.py::test_a_guide_generation_with_the_early_warning_triggers_self_resolution",
        "tests/services/test_automation.py::test_a_metadata_question_triggers_self_resolution_except_from_inside_one",
        "tests/services/test_live_guardrails.py::test_a_started_server_runs_the_scheduled_self_resolution_pass",
        "tests/agent/test_metadata_resolution.py::test_the_schedule_runs_globally_only_above_a_ratio_of_0_2",
        "tests/agent/test_metadata_resolution.py::test_the_schedule_checks_every_300_seconds",
        "tests/agent/test_metadata_resolution.py::test_the_scheduled_task_ticks_and_stops_on_close",
        "tests/agent/test_metadata_resolution.py::test_request_soon_returns_at_once_and_bounds_waiting_requests",
        "tests/web/test_troubleshooting.py::test_a_guide_question_asks_for_self_resolution_once",
        "tests/web/test_troubleshooting.py::test_with_self_resolution_off_a_guide_question_asks_for_nothing",
        "tests/web/test_troubleshooting.py::test_a_failing_resolution_request_still_answers",
        "tests/agent/test_troubleshooting_rules.py::test_repeated_metadata_lines_ask_for_self_resolution_whatever_the_question",
        "tests/agent/test_troubleshooting_rules.py::test_an_active_early_warning_asks_for_self_resolution",
    ),
    "activation_3_duplicates": (
        "tests/agent/test_metadata_resolution.py::test_a_second_request_while_one_runs_is_a_duplicate",
        "tests/agent/test_metadata_resolution.py::test_request_soon_says_whether_it_started_joined_or_was_refused",
        "tests/agent/test_resolution_load.py::test_a_hundred_concurrent_triggers_run_once_per_scope_per_cooldown",
        "tests/web/test_troubleshooting.py::test_of_fifty_concurrent_guide_questions_one_starts_the_run_and_the_rest_join_it",
    ),
    "activation_4_cooldown": (
        "tests/agent/test_metadata_resolution.py::test_one_run_per_scope_per_cooldown",
        "tests/agent/test_resolution_load.py::test_a_hundred_concurrent_triggers_run_once_per_scope_per_cooldown",
    ),
    "activation_5_failure_memory": (
        "tests/agent/test_metadata_resolution.py::test_three_runs_without_improvement_suspend_the_channel_for_an_hour",
        "tests/agent/test_metadata_resolution.py::test_an_improvement_resets_the_failure_memory",
    ),
    "activation_6_guardrails": (
        "tests/agent/test_metadata_resolution.py::test_pool_pressure_aborts_with_a_reason",
        "tests/agent/test_metadata_resolution.py::test_an_open_breaker_aborts_a_run_for_that_channel",
        "tests/agent/test_metadata_resolution.py::test_restart_velocity_aborts_with_a_reason",
        "tests/agent/test_metadata_resolution.py::test_a_shut_down_agent_aborts_self_resolution",
        "tests/agent/test_containment.py::test_a_half_open_breaker_holds_an_idle_channel_only_while_a_trial_runs",
    ),
    "activation_7_recursion": (
        "tests/agent/test_metadata_resolution.py::test_requests_from_inside_a_resolution_are_refused",
        "tests/services/test_automation.py::test_a_metadata_question_triggers_self_resolution_except_from_inside_one",
        "tests/web/test_troubleshooting.py::test_inside_a_resolution_run_the_service_never_asks_for_another",
    ),
    "activation_8_safety": (
        "tests/agent/test_metadata_resolution.py::test_a_run_that_makes_things_worse_disables_self_resolution",
        "tests/agent/test_metadata_resolution.py::test_close_cancels_waiting_requests",
        "tests/agent/test_resolution_load.py::test_hundreds_of_failing_cycles_keep_memory_and_tasks_flat",
        "tests/agent/test_loop.py::test_kept_runs_and_approvals_are_bounded",
        "tests/agent/test_tools.py::test_the_cooldown_memory_is_bounded",
        "tests/agent/test_containment.py::test_memory_samples_are_bounded",
    ),
}  # fmt: skip


def _matches(nodeid: str, pattern: str) -> bool:
    name = nodeid.split("[", 1)[0]
    return name == pattern or name.startswith(pattern + "::")


def mark_hardening(items: list[pytest.Item], args: list[str]) -> None:
    """Add each item's section markers (and ``hardening``); raise UsageError for a pattern
    whose file was collected whole (not narrowed to some tests in ``args``) but which names
    no test in it."""
    narrowed = {arg.split("::", 1)[0] for arg in args if "::" in arg}
    files = {item.nodeid.split("::", 1)[0] for item in items} - narrowed
    used: set[str] = set()
    for item in items:
        for section, patterns in SECTIONS.items():
            for pattern in patterns:
                if _matches(item.nodeid, pattern):
                    item.add_marker(section)
                    item.add_marker("hardening")
                    used.add(pattern)
    stale = [
        pattern
        for patterns in SECTIONS.values()
        for pattern in patterns
        if pattern not in used and pattern.split("::", 1)[0] in files
    ]
    if stale:
        raise pytest.UsageError(
            "tests/hardening_sections.py names tests that do not exist: " + ", ".join(stale)
        )


def hardening_summary(reporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """After ``pytest -m hardening``: the suite's count, per section."""
    if "hardening" not in (config.option.markexpr or "") or config.option.collectonly:
        return
    outcomes: dict[str, set[str]] = {}
    sections: dict[str, set[str]] = {section: set() for section in SECTIONS}
    for outcome in ("passed", "failed", "error", "skipped"):
        for report in reporter.stats.get(outcome, []):
            keywords = getattr(report, "keywords", {})
            if "hardening" not in keywords or getattr(report, "when", "call") not in (
                "call", "setup",
            ):  # fmt: skip
                continue
            outcomes.setdefault(outcome, set()).add(report.nodeid)
            for section in SECTIONS:
                if section in keywords and outcome == "passed":
                    sections[section].add(report.nodeid)
    counts = ", ".join(f"{len(ids)} {outcome}" for outcome, ids in outcomes.items())
    reporter.write_sep("=", f"hardening suite: {counts or 'nothing ran'}")
    for section, ids in sections.items():
        reporter.write_line(f"  {section:<28} {len(ids)} passed")
