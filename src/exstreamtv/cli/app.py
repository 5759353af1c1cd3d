"""The ``exstreamtv`` command line.

Exit status: 0 on success, 1 when an operation fails, 2 for invalid usage or an invalid
configuration (the message names the key or value).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from rich.console import Console

from exstreamtv import __version__
from exstreamtv.config import DEFAULT_PORT, Settings, load_settings
from exstreamtv.errors import ConfigError, DataDirError, ExStreamTVError, StartupError

T = TypeVar("T")
USAGE_ERROR = 2

app = typer.Typer(
    name="exstreamtv",
    help="EXStreamTV: your media as live TV channels, with a guide and an HDHomeRun tuner.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
admin_app = typer.Typer(help="The admin API key.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(admin_app, name="admin-key")
source_app = typer.Typer(help="Plex, Jellyfin and Emby servers.", no_args_is_help=True)
app.add_typer(source_app, name="source")
channel_app = typer.Typer(help="Channels on a running server.", no_args_is_help=True)
app.add_typer(channel_app, name="channel")
verify_app = typer.Typer(
    help="Static checks of the installed package (exit 1 on an offence).", no_args_is_help=True
)
app.add_typer(verify_app, name="verify")
online_app = typer.Typer(
    help="Online sources: URLs, YouTube and other sites, the Internet Archive, IPTV playlists.",
    no_args_is_help=True,
)
app.add_typer(online_app, name="online")
import_app = typer.Typer(
    help="Bring channels over from dizqueTV, Tunarr or ErsatzTV.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
PathMapOption = Annotated[
    list[str] | None,
    typer.Option("--path-map", help="THEIR_PREFIX=OUR_PREFIX for file paths (repeatable)."),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Report what would be created; save nothing.")
]

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        envvar="EXSTREAMTV_CONFIG",
        help="YAML config file (default: exstreamtv.yaml in the data directory).",
        dir_okay=False,
    ),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Where the database, demo media and state live (env EXSTREAMTV_DATA_DIR).",
        file_okay=False,
    ),
]

# For commands that talk to a running server over HTTP.
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
UrlOption = Annotated[
    str, typer.Option(envvar="EXSTREAMTV_URL", help="The running server's address.")
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        envvar="EXSTREAMTV_ADMIN_KEY",
        help="Admin API key (needed when the server listens beyond loopback).",
        show_default=False,
    ),
]

err_console = Console(stderr=True)
out_console = Console()


def _settings(config: Path | None, data_dir: Path | None, **overrides: Any) -> Settings:
    given = {key: value for key, value in overrides.items() if value}
    if data_dir is not None:
        given["data_dir"] = data_dir
    try:
        return load_settings(config, overrides=given)
    except ConfigError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(USAGE_ERROR) from None


def _run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; map our errors to a clear message and an exit status."""
    try:
        return asyncio.run(_awaited(work))
    except (ConfigError, DataDirError, StartupError) as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(USAGE_ERROR) from None
    except ExStreamTVError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from None


async def _awaited(work: Callable[[], Awaitable[T]]) -> T:
    return await work()


@app.command()
def version() -> None:
    """Print the version."""
    out_console.print(f"exstreamtv {__version__}", highlight=False)


@app.command()
def serve(
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
    host: Annotated[str | None, typer.Option(help="Listen address (server.host).")] = None,
    port: Annotated[
        int | None, typer.Option(help="Listen port (server.port).", min=1, max=65535)
    ] = None,
) -> None:
    """Run the server (applies migrations, installs the demo on first run)."""
    from exstreamtv.cli.server import run_server  # noqa: PLC0415 - keeps `--help` fast

    server = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    settings = _settings(config, data_dir, server=server)
    _run(lambda: run_server(settings, out_console))


@app.command()
def scan(
    library: Annotated[
        str | None, typer.Argument(help="Library name or id (default: every library).")
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Scan local libraries now, with a progress bar."""
    from exstreamtv.cli.scan import scan_libraries  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    failures = _run(lambda: scan_libraries(settings, library, err_console))
    if failures:
        raise typer.Exit(1)


@app.command("cancel-scan")
def cancel_scan(
    library: Annotated[str, typer.Argument(help="Library name or id.")],
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Stop a library scan running in the server; what it found so far is kept."""
    from exstreamtv.cli.scan_cancel import cancel_scan as cancel  # noqa: PLC0415

    _ask_server(lambda: cancel(url, library, key, out_console))


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Apply pending database migrations."""
    from exstreamtv.cli.database import upgrade  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    revision = _run(lambda: upgrade(settings))
    out_console.print(f"database is at revision {revision}", highlight=False)


@db_app.command("copy")
def db_copy(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            envvar="EXSTREAMTV_COPY_TO",
            help="Target database URL, e.g. postgresql+asyncpg://user:pass@host/db"
            " (env EXSTREAMTV_COPY_TO keeps the password out of the process list).",
            show_default=False,
        ),
    ],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Copy every row into another (empty) database, verified by row counts; then point
    database.url at it."""
    from exstreamtv.cli.database import copy  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    counts = _run(lambda: copy(settings, to))
    out_console.print(
        f"copied {sum(counts.values())} rows in {len(counts)} tables; the counts match."
        " Set database.url to the new database and restart.",
        highlight=False,
    )


@app.command()
def backup(
    to: Annotated[
        Path | None, typer.Option("--to", help="Folder (default: backup.folder).", file_okay=False)
    ] = None,
    include_secrets: Annotated[
        bool,
        typer.Option(
            "--include-secrets/--no-secrets",
            help="Store the key files and the config file (the default): the archive can"
            " then decrypt your media-server tokens, so keep it as private as the data"
            " directory. --no-secrets makes one to share; its restore needs tokens set again.",
        ),
    ] = True,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Back up the database (online, consistent) with the keys and config file."""
    from exstreamtv.cli.database import backup as make  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    made = _run(lambda: make(settings, to, include_secrets=include_secrets))
    out_console.print(f"backup written: {made.path}", highlight=False, soft_wrap=True)
    if made.secrets:
        out_console.print("it holds secrets (key files, config): keep it private", highlight=False)
    else:
        out_console.print(
            "it holds no secrets: after a restore, media-server tokens must be set again"
            " unless the data directory keeps its key files",
            highlight=False,
        )


@app.command()
def restore(
    archive: Annotated[
        Path, typer.Argument(help="A backup made by `exstreamtv backup`.", exists=True)
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Empty a PostgreSQL database that has data.")
    ] = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Restore a backup into a stopped server (the SQLite file replaced is kept beside it)."""
    from exstreamtv.services.backups import restore as load  # noqa: PLC0415

    settings = _settings(config, data_dir)
    counts = _run(lambda: load(settings, archive, replace=replace))
    out_console.print(f"restored {sum(counts.values())} rows; start the server", highlight=False)


@config_app.command("show")
def config_show(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Print the effective configuration as YAML, with secrets masked."""
    settings = _settings(config, data_dir)
    text = yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    sys.stdout.write(text)


@admin_app.command("rotate")
def admin_key_rotate(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Replace the admin API key and print the new one (restart a running server)."""
    from exstreamtv.cli.database import rotate_admin_key  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    key = _run(lambda: rotate_admin_key(settings))
    out_console.print(f"new admin API key: {key}", highlight=False, soft_wrap=True)


@source_app.command("add")
def source_add(  # noqa: PLR0917 - one parameter per option
    kind: Annotated[str, typer.Argument(help="plex, jellyfin or emby.")],
    url: Annotated[str, typer.Option(help="The server's base URL, e.g. http://host:32400.")],
    token: Annotated[
        str | None,
        typer.Option(
            envvar="MEDIA_SERVER_TOKEN",
            help="Plex token or Jellyfin/Emby API key (env MEDIA_SERVER_TOKEN).",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            help="Jellyfin/Emby: sign in as this user instead of an API key; the password"
            " comes from MEDIA_SERVER_PASSWORD or is asked for."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="A name (default: the kind).")] = None,
    path_map: Annotated[
        list[str] | None,
        typer.Option("--path-map", help="SERVER_PREFIX=LOCAL_PREFIX (repeatable)."),
    ] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a media server (the token is stored encrypted); then `source test`."""
    from pydantic import SecretStr  # noqa: PLC0415 - keeps `--help` fast

    from exstreamtv.cli.sources import add_source, sign_in_source  # noqa: PLC0415
    from exstreamtv.domain.libraries import SourceKind  # noqa: PLC0415

    if kind not in ("plex", "jellyfin", "emby"):
        typer.echo("error: the kind is plex, jellyfin or emby", err=True)
        raise typer.Exit(USAGE_ERROR)
    if (token is None) == (user is None) or (user is not None and kind == "plex"):
        typer.echo(
            "error: give --token (or MEDIA_SERVER_TOKEN), or --user for jellyfin and emby;"
            " for Plex without a token use `exstreamtv source link-plex`",
            err=True,
        )
        raise typer.Exit(USAGE_ERROR)
    settings = _settings(config, data_dir)
    if user is not None:
        password = os.environ.get("MEDIA_SERVER_PASSWORD") or typer.prompt(
            f"password of {user}", hide_input=True
        )
        _run(
            lambda: sign_in_source(
                settings, out_console, kind=SourceKind(kind), name=name or kind, url=url,
                user=user, password=SecretStr(password), mappings=path_map or (),
            )
        )  # fmt: skip
        return
    _run(
        lambda: add_source(
            settings, out_console, kind=SourceKind(kind), name=name or kind, url=url,
            token=SecretStr(token or ""), mappings=path_map or (),
        )
    )  # fmt: skip


@source_app.command("link-plex")
def source_link_plex(
    name: Annotated[str, typer.Option(help="A name for the source.")] = "plex",
    server: Annotated[
        str | None, typer.Option(help="The Plex server's name or id (default: the first).")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Its URL (default: its first local one).")] = None,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add a Plex server by typing a code at https://plex.tv/link (no token to copy)."""
    from exstreamtv.cli.sources import link_plex  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    _run(lambda: link_plex(settings, out_console, name=name, server=server, url=url))


@source_app.command("list")
def source_list(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """List media servers and their chosen libraries (never their tokens)."""
    from exstreamtv.cli.sources import list_sources  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    _run(lambda: list_sources(settings, out_console))


@source_app.command("test")
def source_test(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Connect to a media server: its name, version and libraries."""
    from exstreamtv.cli.sources import test_source  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    _run(lambda: test_source(settings, out_console, source))


@source_app.command("libraries")
def source_libraries(
    source: Annotated[str, typer.Argument(help="Source name or id.")],
    library: Annotated[list[str], typer.Argument(help="Server library ids (see `source test`).")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Choose server libraries to import (scan them afterwards with `exstreamtv scan`)."""
    from exstreamtv.cli.sources import choose_libraries  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    _run(lambda: choose_libraries(settings, out_console, source, library))


@online_app.command("add")
def online_add(  # noqa: PLR0917 - one parameter per option
    kind: Annotated[str, typer.Argument(help="remote, youtube, archive_org or iptv.")],
    name: Annotated[str, typer.Option(help="The source's (and its library's) name.")],
    url: Annotated[
        list[str] | None,
        typer.Option("--url", help="What to read (repeatable; one playlist for iptv)."),
    ] = None,
    query: Annotated[
        str | None, typer.Option(help="archive_org: a collection id or a search.")
    ] = None,
    guide_url: Annotated[str | None, typer.Option(help="iptv: its XMLTV guide.")] = None,
    library_kind: Annotated[
        str, typer.Option(help="movies, shows, music_videos, other or mixed.")
    ] = "other",
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Add an online source and its library (its URLs are stored encrypted); then scan it."""
    from exstreamtv.cli.online import add_online  # noqa: PLC0415 - keeps `--help` fast
    from exstreamtv.domain.libraries import LibraryKind, SourceKind  # noqa: PLC0415

    if kind not in ("remote", "youtube", "archive_org", "iptv"):
        typer.echo("error: the kind is remote, youtube, archive_org or iptv", err=True)
        raise typer.Exit(USAGE_ERROR)
    if library_kind not in {k.value for k in LibraryKind}:
        typer.echo(f"error: unknown library kind {library_kind!r}", err=True)
        raise typer.Exit(USAGE_ERROR)
    settings = _settings(config, data_dir)
    _run(
        lambda: add_online(
            settings, out_console, SourceKind(kind), name, LibraryKind(library_kind),
            url or (), query, guide_url,
        )
    )  # fmt: skip


@online_app.command("list")
def online_list(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """List online sources (their URLs only as host and path)."""
    from exstreamtv.cli.online import list_online  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    _run(lambda: list_online(settings, out_console))


def _import(  # noqa: PLR0917 - the options of three commands, passed on
    system: str, path: Path, path_map: list[str] | None, dry_run: bool,
    config: Path | None, data_dir: Path | None,
) -> None:  # fmt: skip
    from exstreamtv.cli.imports import import_station  # noqa: PLC0415 - keeps `--help` fast
    from exstreamtv.services import foreign_exports  # noqa: PLC0415

    read = {
        "dizquetv": foreign_exports.read_dizquetv,
        "tunarr": foreign_exports.read_tunarr,
        "ersatztv": foreign_exports.read_ersatztv,
    }[system]
    settings = _settings(config, data_dir)
    _run(
        lambda: import_station(
            settings, out_console, read, path, mappings=path_map or (), dry_run=dry_run
        )
    )


@import_app.command("dizquetv")
def import_dizquetv(
    folder: Annotated[Path, typer.Argument(help="dizqueTV's .dizquetv folder.", exists=True)],
    path_map: PathMapOption = None,
    dry_run: DryRunOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import dizqueTV's channels, filler lists and lineups."""
    _import("dizquetv", folder, path_map, dry_run, config, data_dir)


@import_app.command("tunarr")
def import_tunarr(
    folder: Annotated[
        Path, typer.Argument(help="Tunarr's data folder (db.db, channel-lineups/).", exists=True)
    ],
    path_map: PathMapOption = None,
    dry_run: DryRunOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import Tunarr's channels, filler lists and lineups."""
    _import("tunarr", folder, path_map, dry_run, config, data_dir)


@import_app.command("ersatztv")
def import_ersatztv(
    database: Annotated[
        Path, typer.Argument(help="ErsatzTV's ersatztv.sqlite3.", exists=True, dir_okay=False)
    ],
    path_map: PathMapOption = None,
    dry_run: DryRunOption = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import ErsatzTV's channels, classic schedules, collections and filler presets."""
    _import("ersatztv", database, path_map, dry_run, config, data_dir)


@app.command()
def troubleshoot(
    question: Annotated[str, typer.Argument(help="What is wrong, in your words.")],
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Ask the running server what is wrong; it answers from its logs and state."""
    from exstreamtv.cli.troubleshoot import ask  # noqa: PLC0415 - keeps `--help` fast

    _ask_server(lambda: ask(url, question, key, out_console))


def _ask_server(request: Callable[[], bool]) -> None:
    """Run a request to a running server; exit 1 when it fails or is refused."""
    try:
        done = request()
    except ExStreamTVError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from None
    if not done:
        raise typer.Exit(1)


@channel_app.command("plan")
def channel_plan(  # noqa: PLR0917 - one parameter per option
    sentence: Annotated[
        str, typer.Argument(help='e.g. "90s cartoons on weekday mornings, movies at night".')
    ],
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA zone of the times (default: this machine's).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The channel's name.")] = None,
    number: Annotated[str | None, typer.Option(help="The channel's number.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Create it without asking.")] = False,
) -> None:
    """Plan a channel from a sentence, show it, and create it once you confirm."""
    from exstreamtv.cli.channel_plans import local_zone, plan_channel  # noqa: PLC0415

    def confirm(question: str) -> bool:
        if yes:
            return True
        return sys.stdin.isatty() and typer.confirm(question, default=False)

    try:
        done = plan_channel(
            url, sentence, key, out_console, timezone=timezone or local_zone(), name=name,
            number=number, confirm=confirm,
        )  # fmt: skip
    except ExStreamTVError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from None
    if not done:
        raise typer.Exit(1)


@verify_app.command("restart-path")
def verify_restart_path() -> None:
    """Only the supervisor spawns FFmpeg; only the playback modules start, stop or restart
    channels (the agent through LiveChannels.restart)."""
    from exstreamtv.cli.verify import restart_path  # noqa: PLC0415 - keeps `--help` fast

    if not restart_path(out_console):
        raise typer.Exit(1)


@verify_app.command("async")
def verify_async(
    scope: Annotated[
        str, typer.Option(help="agent, metadata, monitoring or all.", show_default=True)
    ] = "all",
) -> None:
    """No blocking call (sleep, file, process, sync HTTP or database) in async code."""
    from exstreamtv.cli.verify import async_calls  # noqa: PLC0415 - keeps `--help` fast
    from exstreamtv.source_checks.blocking_calls import SCOPES  # noqa: PLC0415

    if scope not in SCOPES:
        typer.echo(f"error: --scope is one of {', '.join(SCOPES)}", err=True)
        raise typer.Exit(USAGE_ERROR)
    if not async_calls(out_console, scope):
        raise typer.Exit(1)


def main() -> None:
    """Console-script entry point."""
    app()
