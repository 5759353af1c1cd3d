"""Every Prometheus metric, declared once, on a registry owned by the running app.

A fresh :class:`Metrics` per container keeps tests independent and avoids import-time
registration. Labels stay low-cardinality: a library id or channel number, never a path or a
client address.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from exstreamtv.performance_baselines import (
    AGENT_RUN,
    GUIDE_GENERATION,
    BaselineCollector,
    TimedOperation,
)

SCAN_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)


class Metrics:
    """The metric families of one EXStreamTV process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self._library(r)
        self._guide_and_tuner(r)
        self._streaming(r)
        self._media_servers(r)
        self._metadata_health(r)
        self._troubleshooting(r)
        self._automation(r)
        self._security(r)
        r.register(BaselineCollector(self.guide_generation, self.agent_run_duration))

    def _library(self, r: CollectorRegistry) -> None:
        """Scans, probes and playout builds."""
        self.scans = Counter(
            "exstreamtv_library_scans_total",
            "Library scans finished, by outcome.",
            ["library", "outcome"],
            registry=r,
        )
        self.scan_duration = Histogram(
            "exstreamtv_library_scan_duration_seconds",
            "Wall time of a library scan.",
            ["library"],
            buckets=SCAN_BUCKETS,
            registry=r,
        )
        self.scan_files = Counter(
            "exstreamtv_library_scan_files_total",
            "Files seen by library scans, by result (added, updated, unchanged, failed, missing).",
            ["library", "result"],
            registry=r,
        )
        self.probe_duration = Histogram(
            "exstreamtv_ffprobe_duration_seconds",
            "Time taken by one ffprobe run.",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )
        self.scans_running = Gauge(
            "exstreamtv_library_scans_running", "Library scans in progress.", registry=r
        )
        self.playout_builds = Counter(
            "exstreamtv_playout_builds_total",
            "Playout builds, by channel, mode (continue, refresh, reset) and outcome.",
            ["channel", "mode", "outcome"],
            registry=r,
        )
        self.playout_build_duration = Histogram(
            "exstreamtv_playout_build_duration_seconds",
            "Wall time of one channel's playout build (load, engine, write).",
            ["mode"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
        )

    def _guide_and_tuner(self, r: CollectorRegistry) -> None:
        """HTTP errors, the guide, discovery and tuning."""
        self.http_errors = Counter(
            "exstreamtv_http_errors_total",
            "Error responses by status and problem type.",
            ["status", "type"],
            registry=r,
        )

        self.hdhomerun_discovery_requests = Counter(
            "exstreamtv_hdhomerun_discovery_requests_total",
            "HDHomeRun UDP discovery datagrams, by result (answered, ignored, malformed,"
            " rate_limited, error).",
            ["result"],
            registry=r,
        )
        self.ssdp_requests = Counter(
            "exstreamtv_ssdp_requests_total",
            "SSDP datagrams received, by result (answered, ignored, malformed, rate_limited,"
            " error).",
            ["result"],
            registry=r,
        )

        self.guide_validation_failures = Counter(
            "exstreamtv_guide_validation_failures_total",
            "Guides refused (HTTP 503) because validation failed, by reason.",
            ["reason"],
            registry=r,
        )
        self.guide_generation = TimedOperation(
            GUIDE_GENERATION,
            Histogram(
                "exstreamtv_guide_generation_seconds",
                "Time to generate an XMLTV guide, from the request that made it until its first"
                " stream sent every fragment: load, fold, validate, render and compress"
                " (hardening Section H: p95 baseline 5.0 s).",
                buckets=GUIDE_GENERATION.buckets(0.05, 0.1, 0.25, 0.5, 1, 2, 10, 30),
                registry=r,
            ),
        )
        self.tune_refusals = Counter(
            "exstreamtv_tune_refusals_total",
            "Stream requests refused, by reason (tuners busy, unknown channel, unavailable).",
            ["reason"],
            registry=r,
        )

    def _streaming(self, r: CollectorRegistry) -> None:
        """FFmpeg processes, restarts and live streams."""
        self.ffmpeg_processes = Gauge(
            "exstreamtv_ffmpeg_processes", "Streaming FFmpeg processes running.", registry=r
        )
        self.ffmpeg_spawn_refusals = Counter(
            "exstreamtv_ffmpeg_spawn_refusals_total",
            "FFmpeg spawns refused, by reason.",
            ["reason"],
            registry=r,
        )
        self.restarts = Counter(
            "exstreamtv_channel_restarts_total",
            "Channel restart requests, by reason and outcome (allowed or denied).",
            ["reason", "outcome"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "exstreamtv_channel_breaker_state",
            "1 for the circuit breaker state each channel is in.",
            ["channel", "state"],
            registry=r,
        )

        self.live_channels = Gauge(
            "exstreamtv_live_channels", "Channels streaming now.", registry=r
        )
        self.live_viewers = Gauge(
            "exstreamtv_live_viewers", "Viewers connected to live streams now.", registry=r
        )
        self.stream_bytes = Counter(
            "exstreamtv_stream_bytes_total",
            "Bytes of live stream handed to viewers, by channel.",
            ["channel"],
            registry=r,
        )
        self.viewers_dropped = Counter(
            "exstreamtv_stream_viewers_dropped_total",
            "Viewers dropped because they fell too far behind, by channel.",
            ["channel"],
            registry=r,
        )
        self.encoder_fallbacks = Counter(
            "exstreamtv_encoder_fallbacks_total",
            "Channel sessions switched from a failing hardware encoder to libx264, by channel.",
            ["channel"],
            registry=r,
        )
        self.join_latency = Histogram(
            "exstreamtv_stream_join_seconds",
            "From a tune request to the first bytes handed to the viewer (ts), or to the "
            "first playlist (hls).",
            ["kind"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10),
            registry=r,
        )
        self.transition_gap = Histogram(
            "exstreamtv_stream_transition_gap_seconds",
            "Media-time gap between one process's end and the next one's first video frame.",
            buckets=(0.0, 0.001, 0.01, 0.02, 0.04, 0.1, 0.5, 1, 5),
            registry=r,
        )
        self.slate_seconds = Counter(
            "exstreamtv_stream_slate_seconds_total",
            "Seconds of slate (offline, error, missing media) streamed, by channel.",
            ["channel"],
            registry=r,
        )
        self.producer_faults = Counter(
            "exstreamtv_stream_faults_total",
            "Faults a channel's producer lived through, by channel and kind (lookup, media, "
            "process, spawn, late, producer).",
            ["channel", "kind"],
            registry=r,
        )
        self.event_loop_lag = Gauge(
            "exstreamtv_event_loop_lag_seconds",
            "How late the event loop ran a timer lately (the worst of the last 10 s).",
            registry=r,
        )

    def _automation(self, r: CollectorRegistry) -> None:
        """The bounded agent, its containment, and metadata self-resolution."""
        self.agent_runs = Counter(
            "exstreamtv_agent_runs_total",
            "Bounded agent runs, by outcome (completed, stopped, denied, awaiting_approval,"
            " contained, shut_down, failed).",
            ["outcome"],
            registry=r,
        )
        self.agent_run_duration = TimedOperation(
            AGENT_RUN,
            Histogram(
                "exstreamtv_agent_run_seconds",
                "Wall time of one bounded agent run (hardening Section H: p95 baseline 30 s).",
                buckets=AGENT_RUN.buckets(0.1, 0.5, 1, 2.5, 5, 10, 20, 60, 120, 300),
                registry=r,
            ),
        )
        self.agent_tool_calls = Counter(
            "exstreamtv_agent_tool_calls_total",
            "Agent tool calls, by tool and result (ok, failed, error, refused).",
            ["tool", "result"],
            registry=r,
        )
        self.agent_policy_decisions = Counter(
            "exstreamtv_agent_policy_decisions_total",
            "Policy decisions on planned tool calls, by verdict (allow, deny, require_approval).",
            ["verdict"],
            registry=r,
        )
        self.agent_escalations = Counter(
            "exstreamtv_agent_escalations_total",
            "Escalations to a person, by reason (metadata_failures, regression).",
            ["reason"],
            registry=r,
        )
        self.agent_shutdown = Gauge(
            "exstreamtv_agent_shutdown",
            "1 while the agent is shut down after repeated metadata tool failures.",
            registry=r,
        )
        self.containment_active = Gauge(
            "exstreamtv_agent_containment_active",
            "1 while containment holds automation back (as of the latest check).",
            registry=r,
        )
        self.containment_entries = Counter(
            "exstreamtv_agent_containment_entries_total",
            "Times containment started, by reason (restart_velocity, pool_pressure,"
            " breaker_open, memory_growth).",
            ["reason"],
            registry=r,
        )
        self.resolution_runs = Counter(
            "exstreamtv_metadata_resolution_runs_total",
            "Metadata self-resolution requests, by trigger and outcome (ran, improved,"
            " unchanged, aborted).",
            ["trigger", "outcome"],
            registry=r,
        )
        self.resolution_aborts = Counter(
            "exstreamtv_metadata_resolution_aborts_total",
            "Metadata self-resolution requests that did not run, by reason.",
            ["reason"],
            registry=r,
        )
        self.resolution_suspensions = Counter(
            "exstreamtv_metadata_resolution_suspensions_total",
            "Scopes suspended for an hour after 3 runs without improvement.",
            registry=r,
        )
        self.resolution_regressions = Counter(
            "exstreamtv_metadata_resolution_regressions_total",
            "Runs after which things got worse (self-resolution was then disabled).",
            registry=r,
        )

    def _metadata_health(self, r: CollectorRegistry) -> None:
        """Metadata health per scope: a channel number, ``global`` (every channel's guide)
        or ``library`` (every present media item); see ``domain.metadata_health``."""
        self.metadata_failure_ratio = Gauge(
            "exstreamtv_metadata_failure_ratio",
            "Metadata failures (failed or placeholder) over samples, by scope.",
            ["scope"],
            registry=r,
        )
        self.metadata_placeholder_ratio = Gauge(
            "exstreamtv_metadata_placeholder_ratio",
            "Placeholder titles over samples, by scope.",
            ["scope"],
            registry=r,
        )
        self.metadata_placeholders = Gauge(
            "exstreamtv_metadata_placeholder_titles",
            "Samples with a placeholder title, by scope.",
            ["scope"],
            registry=r,
        )
        self.metadata_missing_episode_ratio = Gauge(
            "exstreamtv_metadata_missing_episode_ratio",
            "Episodes without an episode number over episodes, by scope.",
            ["scope"],
            registry=r,
        )
        self.metadata_missing_year_ratio = Gauge(
            "exstreamtv_metadata_missing_year_ratio",
            "Movies without a year over movies, by scope.",
            ["scope"],
            registry=r,
        )
        self.metadata_lookups = Gauge(
            "exstreamtv_metadata_lookups",
            "Metadata lookups behind the current samples, by scope, source (scan, probe, nfo,"
            " filename, server) and result (success, failure).",
            ["scope", "source", "result"],
            registry=r,
        )
        self.metadata_early_warning = Gauge(
            "exstreamtv_metadata_early_warning",
            "1 while the scope breaks an early-warning rule, by scope and rule.",
            ["scope", "rule"],
            registry=r,
        )
        self.metadata_early_warnings = Counter(
            "exstreamtv_metadata_early_warnings_total",
            "Guide generations after which a scope broke an early-warning rule, by rule.",
            ["scope", "rule"],
            registry=r,
        )
        self.metadata_drift = Counter(
            "exstreamtv_metadata_drift_events_total",
            "Guide generations after which the failure ratio rose by more than 0.1, by scope.",
            ["scope"],
            registry=r,
        )
        self.pool_pressure = Gauge(
            "exstreamtv_ffmpeg_pool_pressure",
            "Streaming FFmpeg processes over the process cap (0..1).",
            registry=r,
        )
        self.restart_velocity = Gauge(
            "exstreamtv_channel_restart_velocity",
            "Channel restarts allowed over the last minute (restarts per minute).",
            registry=r,
        )

    def _troubleshooting(self, r: CollectorRegistry) -> None:
        """The troubleshooting service and anomaly detection."""
        self.troubleshoot_requests = Counter(
            "exstreamtv_troubleshoot_requests_total",
            "Troubleshooting questions answered, by mode (rules, llm) and whether metadata"
            " self-resolution was asked for.",
            ["mode", "triggered"],
            registry=r,
        )
        self.log_issues = Counter(
            "exstreamtv_log_issues_total",
            "Problems recognised in log records, by issue type.",
            ["issue"],
            registry=r,
        )
        self.anomaly_spikes = Counter(
            "exstreamtv_anomaly_spikes_total",
            "Spikes of one issue type on one channel within the sliding window, by issue.",
            ["issue"],
            registry=r,
        )

    def _media_servers(self, r: CollectorRegistry) -> None:
        """Plex, Jellyfin and Emby servers: reachability and failed requests."""
        self.media_server_up = Gauge(
            "exstreamtv_media_server_up",
            "1 when the media server answered its last request, 0 when it could not be reached.",
            ["source"],
            registry=r,
        )
        self.media_server_failures = Counter(
            "exstreamtv_media_server_request_failures_total",
            "Failed requests to media servers, by source and reason (unreachable, timeout,"
            " status, invalid).",
            ["source", "reason"],
            registry=r,
        )

    def _security(self, r: CollectorRegistry) -> None:
        """Refused credentials and the back-off that follows them."""
        self.auth_failures = Counter(
            "exstreamtv_auth_failures_total",
            "Wrong credentials presented, by kind (admin_key, sign_in, access_token).",
            ["kind"],
            registry=r,
        )
        self.auth_throttled = Counter(
            "exstreamtv_auth_throttled_total",
            "Requests refused with 429 because their address is backing off, by kind.",
            ["kind"],
            registry=r,
        )

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
