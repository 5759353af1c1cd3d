"""Every Prometheus metric, declared once, on a registry owned by the running app.

A fresh :class:`Metrics` per container keeps tests independent and avoids import-time
registration. Labels stay low-cardinality: a library id or channel number, never a path or a
client address.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

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
        self.guide_generation = Histogram(
            "exstreamtv_guide_generation_seconds",
            "Time to render and compress an XMLTV guide.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
            registry=r,
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

    def render(self) -> bytes:
        """The text exposition format."""
        return generate_latest(self.registry)
