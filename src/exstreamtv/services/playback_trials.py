"""Troubleshooting playback: one media item through a channel's pipeline, on demand.

A *trial* plays up to 30 seconds of any media item with any stream profile exactly as a
channel would: the item is located as the live channels locate it (a mapped path or a
media server's stream), the profile gets the same encoder fallback, the argv comes from the
same pure builder (``ffmpeg.profiles.item_argv``) and the process runs under the
supervisor (its cap, its process group discipline). The MPEG-TS it writes is kept so the
browser can play it; the command (secrets redacted), FFmpeg's log, a probe of the source
and a probe of the output are kept with it.

One trial runs at a time (:class:`LimitReached` otherwise); the last few are kept, their
files in ``<data dir>/troubleshooting`` (bounded in size, removed with the trial).
:meth:`PlaybackTrials.report` builds a zip for a bug report: recent logs, the settings,
station facts and the kept trials, every text passed through the secret redactor.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import logging
import math
import platform
import shlex
import zipfile
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from exstreamtv import __version__
from exstreamtv.clock import Clock
from exstreamtv.config import Settings
from exstreamtv.domain.channels import Channel, ChannelNumber
from exstreamtv.domain.media import MediaItem, TechnicalInfo
from exstreamtv.domain.profiles import StreamProfile
from exstreamtv.errors import InvalidInput, LimitReached, NotFound, ProbeFailed
from exstreamtv.ffmpeg.probe import probe_file
from exstreamtv.ffmpeg.profiles import MediaInput, item_argv, redact_argv
from exstreamtv.log_ring import LogRing
from exstreamtv.logs import SecretRedactor
from exstreamtv.playback.supervisor import Supervisor
from exstreamtv.services.profiles import ProfileService

log = logging.getLogger(__name__)
MAX_SECONDS = 30
KEPT = 5
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
TIME_LIMIT_SEC = 180.0
REPORT_LOG_LINES = 2000
OWNER = "troubleshooting"  # the supervisor's name for trial processes (never a channel)
_READ = 64 * 1024
_REMOTE = ("http://", "https://")

ItemLookup = Callable[[int], Awaitable[MediaItem]]


@dataclass(slots=True)
class Trial:
    """One troubleshooting playback. ``status`` is ``running``, ``succeeded`` or ``failed``
    (``error`` says why). ``command`` is the argv with secrets redacted; ``log`` FFmpeg's
    last stderr lines (redacted). ``speed`` is media seconds produced per wall second."""

    id: int
    media_id: int
    title: str
    profile: str
    start_ms: int
    duration_ms: int
    started_at: datetime
    status: str = "running"
    command: list[str] = field(default_factory=list)
    log: str = ""
    source: TechnicalInfo | None = None
    source_problem: str | None = None
    output: TechnicalInfo | None = None
    output_bytes: int = 0
    elapsed_sec: float = 0.0
    speed: float | None = None
    exit_status: int | None = None
    error: str | None = None
    file: Path | None = field(default=None, repr=False)

    @property
    def command_line(self) -> str:
        """The command as one shell-quoted line, for reading and copying."""
        return shlex.join(self.command)


class PlaybackTrials:
    """Runs and keeps troubleshooting playbacks (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        supervisor: Supervisor,
        redactor: SecretRedactor,
        log_ring: LogRing,
        *,
        item: ItemLookup,
        profiles: ProfileService,
    ) -> None:
        """``item`` locates a media item as the live channels do; ``profiles`` gives the
        profile a channel streams with (the encoder fallback included)."""
        self._settings = settings
        self._clock = clock
        self._supervisor = supervisor
        self._redactor = redactor
        self._log_ring = log_ring
        self._item = item
        self._profiles = profiles
        self._folder = settings.data_dir / "troubleshooting"
        self._trials: OrderedDict[int, Trial] = OrderedDict()
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None

    @property
    def trials(self) -> list[Trial]:
        """The kept trials, newest first."""
        return list(reversed(self._trials.values()))

    def trial(self, trial_id: int) -> Trial:
        """A kept trial; raises :class:`NotFound`."""
        found = self._trials.get(trial_id)
        if found is None:
            raise NotFound(
                f"troubleshooting playback {trial_id} is not kept (only the last {KEPT} are)"
            )
        return found

    async def start(
        self,
        media_id: int,
        profile_id: int | None,
        *,
        start_sec: float = 0.0,
        seconds: int = MAX_SECONDS,
    ) -> Trial:
        """Start playing ``seconds`` (1-30) of item ``media_id`` from ``start_sec`` with
        stream profile ``profile_id`` (``None``: the default), in the background.

        Raises NotFound (no such item or profile), SourceUnavailable (the item's server
        cannot be reached), InvalidInput (bad times) and LimitReached (a trial is running).
        """
        if not 1 <= seconds <= MAX_SECONDS or not (math.isfinite(start_sec) and start_sec >= 0):
            raise InvalidInput(f"seconds must be 1-{MAX_SECONDS} and start_sec not negative")
        if self._task is not None and not self._task.done():
            raise LimitReached(
                "a troubleshooting playback is running; try again when it ends", retry_after=10
            )
        if profile_id is not None:
            await self._profiles.profile(profile_id)  # NotFound names it
        item = await self._item(media_id)
        # The profile a channel naming this profile would stream with (no watermark).
        channel = Channel(0, ChannelNumber(99_999), OWNER, None, None, True, profile_id)
        profile = await self._profiles.for_channel(channel)
        trial = Trial(
            id=next(self._ids), media_id=media_id, title=item.metadata.title,
            profile=profile.name, start_ms=round(start_sec * 1000),
            duration_ms=seconds * 1000, started_at=self._clock.now(),
        )  # fmt: skip
        await self._keep(trial)
        self._task = asyncio.create_task(self._run(trial, item, profile), name=f"trial-{trial.id}")
        return trial

    async def wait(self, trial_id: int) -> Trial:
        """Wait for a trial to finish; returns it (raises NotFound when not kept)."""
        trial = self.trial(trial_id)
        task = self._task
        if trial.status == "running" and task is not None:
            await asyncio.shield(task)
        return trial

    async def close(self) -> None:
        """Stop a running trial (its process through the supervisor) and wait for it."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _keep(self, trial: Trial) -> None:
        self._trials[trial.id] = trial
        while len(self._trials) > KEPT:
            _, old = self._trials.popitem(last=False)
            if old.file is not None:
                await asyncio.to_thread(old.file.unlink, missing_ok=True)

    async def _run(self, trial: Trial, item: MediaItem, profile: StreamProfile) -> None:
        started = self._clock.monotonic()
        try:
            await self._play(trial, item, profile)
        except asyncio.CancelledError:
            trial.status, trial.error = "failed", "stopped because the server is shutting down"
            raise
        except LimitReached as err:
            trial.status, trial.error = "failed", err.message
        except Exception as err:  # the top of the trial's task: record it, log it
            log.exception("troubleshooting playback %d failed", trial.id)
            trial.status, trial.error = "failed", f"unexpected {type(err).__name__}; see the log"
        finally:
            trial.elapsed_sec = round(self._clock.monotonic() - started, 3)

    async def _play(self, trial: Trial, item: MediaItem, profile: StreamProfile) -> None:
        remote = item.path.startswith(_REMOTE)
        trial.source, trial.source_problem = await self._probe_source(item, remote)
        # A frame-aligned seek, as a channel seeks (see playback.session).
        seek_ms = int(math.floor(trial.start_ms * profile.fps / 1000) * 1000 / profile.fps)
        source = MediaInput(item.path, item.technical or trial.source, remote=remote)
        argv = item_argv(
            self._settings.ffmpeg.ffmpeg_path, profile, source, offset_ms=seek_ms,
            duration_ms=trial.duration_ms, output_ts_offset_ms=0,
        )  # fmt: skip
        trial.command = [self._redactor.redact(arg) for arg in redact_argv(argv)]
        await asyncio.to_thread(self._folder.mkdir, parents=True, exist_ok=True)
        trial.file = self._folder / f"trial-{trial.id}.ts"
        started = self._clock.monotonic()
        managed = await self._supervisor.spawn(OWNER, argv, purpose="trial")
        try:
            async with asyncio.timeout(TIME_LIMIT_SEC):
                trial.output_bytes = await self._copy(managed.stdout, trial.file)
            trial.exit_status = await self._supervisor.reap(managed)
        except BaseException:
            await self._supervisor.stop(managed)
            raise
        finally:
            trial.log = self._redactor.redact(redact_argv([managed.stderr.text()])[0])
        wall = max(self._clock.monotonic() - started, 1e-6)
        await self._finish(trial, wall)

    async def _copy(self, stdout: asyncio.StreamReader, target: Path) -> int:
        """Write the process's MPEG-TS to ``target`` (at most ``MAX_OUTPUT_BYTES``)."""
        written = 0
        with await asyncio.to_thread(target.open, "wb") as sink:
            while chunk := await stdout.read(_READ):
                written += len(chunk)
                if written > MAX_OUTPUT_BYTES:
                    raise LimitReached(f"the output passed {MAX_OUTPUT_BYTES // 2**20} MiB")
                await asyncio.to_thread(sink.write, chunk)
        return written

    async def _finish(self, trial: Trial, wall: float) -> None:
        if trial.exit_status != 0:
            trial.status = "failed"
            trial.error = f"FFmpeg exited with status {trial.exit_status}; see its log"
            return
        if trial.file is None or not trial.output_bytes:
            trial.status, trial.error = "failed", "FFmpeg wrote nothing"
            return
        try:
            trial.output = await probe_file(trial.file, ffprobe=self._settings.ffmpeg.ffprobe_path)
        except ProbeFailed as err:
            trial.status, trial.error = "failed", f"the output cannot be read: {err.message}"
            return
        trial.speed = round(trial.output.duration_ms / 1000 / wall, 2)
        trial.status = "succeeded"

    async def _probe_source(
        self, item: MediaItem, remote: bool
    ) -> tuple[TechnicalInfo | None, str | None]:
        """A fresh probe of a local file (what the scan stored for a server's stream)."""
        if remote:
            return item.technical, "a media server's stream: showing what its scan stored"
        try:
            found = await probe_file(
                Path(item.path), ffprobe=self._settings.ffmpeg.ffprobe_path, timeout=30
            )
        except ProbeFailed as err:
            return item.technical, self._redactor.redact(err.message)
        return found, None

    # --- the bug-report zip ---------------------------------------------------------------

    async def report(self, facts: dict[str, Any]) -> bytes:
        """A zip of the recent logs, the settings (secrets hidden), ``facts`` about the
        station and the kept trials with their commands, logs and probes. Everything in it
        went through the secret redactor."""
        records = self._log_ring.records(limit=REPORT_LOG_LINES)
        lines = [f"{r.time.isoformat()} {r.level} {r.logger} {r.message}" for r in records]
        settings = self._settings.model_dump(mode="json")  # SecretStr values come out masked
        trials = [_trial_json(t) for t in self.trials]
        about = {
            "exstreamtv": __version__, "python": platform.python_version(),
            "platform": platform.platform(), "made_at": self._clock.now().isoformat(), **facts,
        }  # fmt: skip
        files = {
            "logs.txt": "\n".join(lines) + "\n",
            "settings.json": json.dumps(settings, indent=2, default=str),
            "station.json": json.dumps(about, indent=2, default=str),
            "troubleshooting-playbacks.json": json.dumps(trials, indent=2, default=str),
        }
        redacted = {name: self._redactor.redact(text) for name, text in files.items()}
        return await asyncio.to_thread(_zip, redacted)


def _trial_json(trial: Trial) -> dict[str, Any]:
    values = asdict(replace(trial, file=None))
    values.pop("file")
    values["command_line"] = trial.command_line
    return values


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(f"exstreamtv-report/{name}", text)
    return buffer.getvalue()
