"""The ``exstreamtv`` command line.

Exit status: 0 on success, 1 when an operation fails, 2 for invalid usage or an invalid
configuration (the message names the key or value).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
import yaml
from rich.console import Console

from exstreamtv import __version__
from exstreamtv.config import Settings, load_settings
from exstreamtv.errors import ConfigError, DataDirError, ExStreamTVError

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
    except (ConfigError, DataDirError) as err:
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


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Apply pending database migrations."""
    from exstreamtv.cli.database import upgrade  # noqa: PLC0415 - keeps `--help` fast

    settings = _settings(config, data_dir)
    revision = _run(lambda: upgrade(settings))
    out_console.print(f"database is at revision {revision}", highlight=False)


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


def main() -> None:
    """Console-script entry point."""
    app()
