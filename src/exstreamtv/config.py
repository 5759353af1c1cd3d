"""Typed settings, validated once at start-up and injected everywhere else.

Sources, strongest first: explicit overrides (command-line flags), environment variables
``EXSTREAMTV_SECTION__KEY``, the YAML file (``--config``, else ``exstreamtv.yaml`` in the data
directory), then the defaults below.

Every model forbids unknown keys, and an unknown ``EXSTREAMTV_*`` variable is an error too:
the upstream project silently ignored misspelt keys, so a mistyped safety flag did nothing.
Nothing here runs at import time; :func:`load_settings` is the only entry point.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from exstreamtv.errors import ConfigError
from exstreamtv.formats.hdhomerun import device_id_valid

ENV_PREFIX = "EXSTREAMTV_"
CONFIG_FILE_NAME = "exstreamtv.yaml"
DEFAULT_PORT = 8411
DEFAULT_GUIDE_HOURS = 48


class Section(BaseModel):
    """Base of every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(Section):
    """Where the HTTP server listens and how it is reached from outside."""

    host: str = "127.0.0.1"
    port: int = Field(default=DEFAULT_PORT, ge=1, le=65535)
    base_url: str | None = Field(
        default=None, description="Public URL used in M3U/XMLTV/HDHomeRun links, if not the host's."
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(), description="Proxy addresses or networks whose X-Forwarded-* headers we honour."
    )
    access_token: SecretStr | None = Field(
        default=None, description="Optional token required on stream, M3U and guide URLs."
    )
    allowed_hosts: tuple[str, ...] = Field(
        default=(),
        description="Extra host names clients may use to reach the server (Host header);"
        " '*.example.com' allows subdomains. Other names get 421.",
    )
    max_request_mib: float = Field(
        default=10.0, gt=0, le=1024, description="Largest request body accepted (413 beyond)."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks_parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as err:
                raise ValueError(f"{entry!r} is not an IP address or network") from err
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts_are_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            name = entry.removeprefix("*.")
            if not name or any(c in name for c in "/:@ *") or name.startswith("."):
                raise ValueError(f"{entry!r} is not a host name (give names without a port)")
        return tuple(entry.lower().rstrip(".") for entry in value)

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value


class DatabaseConfig(Section):
    """The database. ``url`` unset means SQLite in the data directory."""

    url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+asyncpg://user:pass@host/db (secret).",
    )
    pool_size: int = Field(default=5, ge=1, le=100)


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class LibraryConfig(Section):
    """A local media library declared in the config file (created on start-up if missing)."""

    name: str = Field(min_length=1, max_length=200)
    paths: tuple[Path, ...] = Field(min_length=1)
    kind: Literal["mixed", "movies", "shows", "music_videos", "other"] = "mixed"


class ScanConfig(Section):
    concurrency: int = Field(default=4, ge=1, le=64, description="Parallel ffprobe processes.")
    probe_timeout_sec: float = Field(default=30.0, gt=0, le=600)
    allowed_system_paths: tuple[Path, ...] = Field(
        default=(),
        description="Folders inside /proc, /sys, /dev, /run, /etc, /boot or /root that"
        " libraries may use anyway (e.g. /run/media/you for removable drives).",
    )


class MediaServersConfig(Section):
    """How Plex, Jellyfin and Emby servers are talked to."""

    page_size: int = Field(default=200, ge=1, le=5000, description="Items per listing page.")
    request_timeout_sec: float = Field(default=30.0, gt=0, le=600)
    connect_timeout_sec: float = Field(default=5.0, gt=0, le=60)
    retries: int = Field(default=3, ge=0, le=10, description="Retries of a failed read.")
    retry_backoff_sec: float = Field(default=0.5, ge=0, le=60)
    max_response_mib: float = Field(default=64.0, gt=0, le=4096)
    requests_per_second: float = Field(default=0.0, ge=0, description="0: no rate limit.")
    concurrency: int = Field(default=4, ge=1, le=32, description="Parallel requests per server.")
    stream_check_timeout_sec: float = Field(
        default=3.0, gt=0, le=60, description="How long an item's stream may take to answer."
    )
    plex_tv_url: str = Field(
        default="https://plex.tv", description="plex.tv's address, for the Plex PIN link."
    )


class OnlineSourcesConfig(Section):
    """How URLs, yt-dlp sites, the Internet Archive and IPTV playlists are read."""

    archive_org_url: str = Field(
        default="https://archive.org", description="The Internet Archive's address."
    )
    request_timeout_sec: float = Field(default=20.0, gt=0, le=600)
    resolve_ahead_min: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="A resolved stream URL is resolved again this long before it expires.",
    )
    search_page_size: int = Field(default=100, ge=1, le=10_000)
    max_playlist_mib: float = Field(
        default=32.0, gt=0, le=1024, description="Largest IPTV playlist or guide read."
    )


class DemoConfig(Section):
    enabled: bool = Field(
        default=True, description="Generate a small demo library when no library is configured."
    )


class FFmpegConfig(Section):
    ffmpeg_path: str = "ffmpeg"
    ffprobe_path: str = "ffprobe"
    max_processes: int = Field(default=8, ge=1, le=256)


class PlayoutConfig(Section):
    horizon_hours: int = Field(default=48, ge=1, le=24 * 14)


class CatchupConfig(Section):
    """Catch-up and start-over, replayed from the playout's past rows."""

    days: int = Field(
        default=7,
        ge=0,
        le=31,
        description="Days of past playout kept for catch-up (0 turns catch-up off).",
    )
    guide_past_hours: int = Field(
        default=6,
        ge=1,
        le=24 * 31,
        description="With catch-up on, how far back the XMLTV guide lists programmes (at "
        "most catchup.days): IPTV apps offer catch-up for the past programmes they list.",
    )


class EpgConfig(Section):
    """The XMLTV guide and how it is validated."""

    episode_num_required: bool = False
    plex_xmltv_mismatch_ratio_threshold: float = Field(default=0.15, ge=0.0, le=1.0)
    fold_gaps_shorter_than_minutes: int = Field(
        default=0,
        ge=0,
        le=24 * 60,
        description="Filler/offline gaps shorter than this fold into the programme before "
        "them (0: every gap is listed as what it is).",
    )
    guide_starts_with_pre_roll: bool = Field(
        default=False,
        description="List each programme from its pre-roll rather than its own first frame.",
    )
    offline_title: str = Field(default="Offline", min_length=1, max_length=200)
    cache_ttl_sec: float = Field(default=60.0, ge=0, le=3600)
    guide_hours: int = Field(
        default=DEFAULT_GUIDE_HOURS,
        ge=1,
        le=24 * 14,
        description="How far ahead the guide lists programmes (at most playout.horizon_hours; "
        "unset, 48 or the horizon if that is shorter).",
    )
    fragment_cache_mib: float = Field(
        default=32.0,
        gt=0,
        le=4096,
        description="Memory for rendered per-channel guide fragments (compressed).",
    )


class HdhomerunConfig(Section):
    device_id: str | None = Field(default=None, description="8 hex digits; generated if unset.")
    device_auth: str = Field(default="exstreamtv", min_length=1, max_length=24)
    tuner_count: int = Field(default=4, ge=1, le=64)
    friendly_name: str = "EXStreamTV"
    discovery_enabled: bool = True
    discovery_port: int = Field(default=65001, ge=1, le=65535)
    ssdp_enabled: bool = True
    discovery_host: str = Field(default="0.0.0.0", description="Address UDP discovery binds.")  # noqa: S104

    @field_validator("device_id")
    @classmethod
    def _device_id_checksum(cls, value: str | None) -> str | None:
        if value is not None and not device_id_valid(value):
            raise ValueError(
                "must be 8 hex digits with a valid HDHomeRun checksum (e.g. 12345674); "
                "leave it unset to have one generated"
            )
        return None if value is None else value.upper()


class StreamingConfig(Section):
    idle_timeout_sec: float = Field(default=30.0, ge=0, le=3600)
    viewer_max_lag_sec: float = Field(
        default=10.0,
        ge=1,
        le=600,
        description="A viewer this many seconds of media behind the live edge is dropped.",
    )
    hls_dvr_minutes: float = Field(
        default=5.0,
        ge=0,
        le=120,
        description="How far back a live HLS player can pause and rewind (segments kept in "
        "memory while the channel is watched over HLS; 0: the shortest live window).",
    )
    watchdog_timeout_sec: float = Field(
        default=30.0, ge=1, le=3600,
        description="Restart a channel's FFmpeg after this long without output.",
    )  # fmt: skip


class AIAgentConfig(Section):
    """Automation flags; all off by default (names fixed by the hardening plan)."""

    bounded_agent_enabled: bool = False
    metadata_self_resolution_enabled: bool = False
    metadata_self_resolution_cooldown_sec: int = Field(default=300, ge=0)
    metadata_self_resolution_disable_hours: float = Field(default=1.0, ge=0)
    force_metadata_resolution: bool = False
    metadata_self_resolution_interval_sec: float = Field(
        default=300.0, gt=0, le=86400,
        description="How often the scheduled self-resolution check runs.",
    )  # fmt: skip


class LLMConfig(Section):
    """An optional OpenAI-compatible endpoint (Ollama serves one)."""

    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str = "llama3.1"
    timeout_sec: float = Field(default=30.0, gt=0, le=600)


class BackupConfig(Section):
    """Scheduled backups (``exstreamtv backup`` makes one at any time)."""

    enabled: bool = Field(default=True, description="Make a backup every interval_hours.")
    interval_hours: float = Field(default=24.0, ge=1, le=24 * 31)
    keep: int = Field(default=3, ge=1, le=1000, description="Newest scheduled backups kept.")
    folder: Path | None = Field(default=None, description="Default: <data_dir>/backups.")
    include_secrets: bool = Field(
        default=True,
        description="Put the key files and config file in scheduled backups (the archive"
        " is then as secret as they are; false makes archives that restore without tokens).",
    )


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/exstreamtv``, else ``~/.local/share/exstreamtv``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "exstreamtv"


class Settings(BaseSettings):
    """All of EXStreamTV's settings. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    logging: LoggingConfig = LoggingConfig()
    libraries: tuple[LibraryConfig, ...] = ()
    scan: ScanConfig = ScanConfig()
    media_servers: MediaServersConfig = MediaServersConfig()
    online_sources: OnlineSourcesConfig = OnlineSourcesConfig()
    demo: DemoConfig = DemoConfig()
    ffmpeg: FFmpegConfig = FFmpegConfig()
    playout: PlayoutConfig = PlayoutConfig()
    epg: EpgConfig = EpgConfig()
    catchup: CatchupConfig = CatchupConfig()
    hdhomerun: HdhomerunConfig = HdhomerunConfig()
    streaming: StreamingConfig = StreamingConfig()
    ai_agent: AIAgentConfig = AIAgentConfig()
    llm: LLMConfig = LLMConfig()
    backup: BackupConfig = BackupConfig()

    @field_validator("data_dir")
    @classmethod
    def _data_dir_is_absolute(cls, value: Path) -> Path:
        # Made absolute once, here: everything derived from it (the SQLite path, the demo
        # library's folder) must not depend on the working directory of a later step.
        return value.expanduser().absolute()

    @model_validator(mode="before")
    @classmethod
    def _guide_follows_a_shorter_horizon(cls, data: Any) -> Any:
        """Unset, ``epg.guide_hours`` is 48, or the horizon when that is shorter."""
        if not isinstance(data, dict):
            return data
        epg, playout = data.get("epg", {}), data.get("playout", {})
        if not isinstance(epg, dict) or "guide_hours" in epg or not isinstance(playout, dict):
            return data
        try:
            horizon = int(playout.get("horizon_hours", DEFAULT_GUIDE_HOURS))
        except (TypeError, ValueError):
            return data  # the horizon's own validation names the problem
        return {**data, "epg": {**epg, "guide_hours": min(DEFAULT_GUIDE_HOURS, horizon)}}

    @model_validator(mode="after")
    def _guide_within_horizon(self) -> Settings:
        if self.epg.guide_hours > self.playout.horizon_hours:
            raise ValueError(
                f"epg.guide_hours ({self.epg.guide_hours}) is more than "
                f"playout.horizon_hours ({self.playout.horizon_hours}): the guide can only "
                "list what the playout has built"
            )
        return self

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL in use (SQLite in the data directory by default). Secret."""
        if self.database.url is not None:
            return self.database.url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir / 'exstreamtv.db'}"

    @property
    def is_loopback_only(self) -> bool:
        """True when the server listens on loopback only (admin API open without a key)."""
        if self.server.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.server.host).is_loopback
        except ValueError:
            return False


class _YamlData(PydanticBaseSettingsSource):
    """The already-parsed YAML file as a settings source."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


def load_settings(
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read, merge and validate the settings.

    ``config_file`` is the explicit ``--config``; when ``None`` the file
    ``exstreamtv.yaml`` in the data directory is read if it exists. ``overrides`` are
    command-line values (top-level keys, e.g. ``data_dir``). ``environ`` defaults to
    ``os.environ``. Raises :class:`ConfigError` naming the offending key or value.
    """
    env = os.environ if environ is None else environ
    given = dict(overrides or {})
    _reject_unknown_env(env)
    data_dir = given.get("data_dir") or env.get(f"{ENV_PREFIX}DATA_DIR")
    path = config_file or Path(data_dir or default_data_dir()) / CONFIG_FILE_NAME
    yaml_data = _read_yaml(path, required=config_file is not None)

    class _Loaded(Settings):
        _yaml: ClassVar[dict[str, Any]] = yaml_data

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _YamlData(settings_cls, cls._yaml))

    try:
        loaded = _Loaded(**given)
    except ValidationError as err:
        source = str(path) if yaml_data or config_file is not None else None
        raise ConfigError(describe_validation_error(err, source=source, environ=env)) from None
    return Settings.model_validate(loaded.model_dump())


def _read_yaml(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        if required:
            raise ConfigError(f"config file {path} does not exist") from None
        return {}
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"config file {path} cannot be read: {err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of sections at the top level")
    return data


def _reject_unknown_env(env: Mapping[str, str]) -> None:
    # EXSTREAMTV_URL and EXSTREAMTV_ADMIN_KEY are read by client commands (troubleshoot),
    # EXSTREAMTV_COPY_TO by `db copy` (a database URL kept out of the process list).
    known = set(Settings.model_fields) | {"config", "url", "admin_key", "copy_to"}
    for name in env:
        if not name.startswith(ENV_PREFIX):
            continue
        section = name[len(ENV_PREFIX) :].split("__", 1)[0].lower()
        if section not in known:
            raise ConfigError(f"environment variable {name}: unknown setting {section!r}")


def describe_validation_error(
    err: ValidationError, source: str | None, environ: Mapping[str, str] | None = None
) -> str:
    """One line per problem, each naming the dotted key, or the environment variable the
    value came from (never echoing secret values). ``source``: the YAML file, if one was
    read. A single problem is a single line."""
    lines = []
    env = environ or {}
    for problem in err.errors():
        parts = [str(part) for part in problem["loc"]]
        key = ".".join(parts) or "(top level)"
        variable = ENV_PREFIX + "__".join(part.upper() for part in parts)
        if parts and variable in env:
            key = f"environment variable {variable}, {key}"
        if problem["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key")
        elif not problem["loc"]:  # a rule across sections: its message names the keys
            lines.append(problem["msg"].removeprefix("Value error, "))
        else:
            lines.append(f"{key}: {problem['msg']}")
    head = f"invalid configuration ({source})" if source else "invalid configuration"
    if len(lines) == 1:
        return f"{head}: {lines[0]}"
    return f"{head}:\n  " + "\n  ".join(lines)
