"""Backups and restores: backup, wipe, restore gives the same API answers and the key
still decrypts the media-server token; a backup taken while writes go on is consistent; a
newer schema, a running server and a damaged archive are refused; old backups are pruned;
SQLite moves to PostgreSQL with identical answers."""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from pydantic import SecretStr

from exstreamtv.config import Settings
from exstreamtv.domain.libraries import SourceKind
from exstreamtv.errors import Conflict, InvalidInput, SourceUnavailable
from exstreamtv.services.backup_schedule import BackupSchedule
from exstreamtv.services.backups import prune, restore
from exstreamtv.services.container import Container, open_container
from tests.conftest import _create_database
from tests.seeding import add_channel, add_collection, add_show, items_schedule
from tests.support import build_settings
from tests.web.client import open_client

ANSWERS = ("/api/channels", "/api/schedules", "/api/collections", "/api/media-sources")


async def _station(container: Container) -> int:
    """Two channels on a schedule over a show, and a Jellyfin server with a token."""
    ids = await add_show(container, "Show A", [22, 22, 24])
    collection = await add_collection(container, "A", ids)
    schedule = await container.schedules.create(items_schedule("Evenings", collection))
    for number in ("5", "6.1"):
        channel = await add_channel(container, number)
        await container.playouts.attach(channel.number, schedule.id)
    source = await container.media_servers.create(
        SourceKind.JELLYFIN, "Home", "http://127.0.0.1:8096", SecretStr("tok-123"), []
    )
    return source.id


async def _answers(container: Container) -> dict[str, object]:
    async with open_client(container) as client:
        found = {path: (await client.get(path)).json() for path in ANSWERS}
        found["playout"] = (await client.get("/api/channels/5/playout")).json()
    return found


async def test_backup_wipe_restore_gives_the_same_answers_and_the_key_still_decrypts(
    settings: Settings, tmp_path: Path
) -> None:
    async with open_container(settings) as container:
        source_id = await _station(container)
        before = await _answers(container)
        made = await container.backups.create(tmp_path / "backups")  # secrets by default
    assert made.path.stat().st_mode & 0o777 == 0o600
    assert made.secrets and made.counts["channels"] == 2
    shutil.rmtree(settings.data_dir)  # the data directory is lost: database and keys

    await restore(settings, made.path, replace=True)

    async with open_container(settings) as container:
        assert await _answers(container) == before
        client = await container.media_servers.client(source_id)  # decrypts the token
        assert client is not None


async def test_a_backup_without_secrets_restores_everything_but_the_tokens(
    settings: Settings, tmp_path: Path
) -> None:
    async with open_container(settings) as container:
        source_id = await _station(container)
        made = await container.backups.create(tmp_path / "backups", include_secrets=False)
    with tarfile.open(made.path) as archive:
        names = archive.getnames()
    assert not [n for n in names if n.startswith(("secrets/", "config/"))]
    shutil.rmtree(settings.data_dir)

    await restore(settings, made.path, replace=True)

    async with open_container(settings) as container:
        assert len(await container.channels.channels()) == 2
        with pytest.raises(SourceUnavailable, match="cannot be decrypted"):
            await container.media_servers.client(source_id)


async def test_a_backup_taken_while_writes_go_on_is_one_consistent_moment(
    settings: Settings, tmp_path: Path
) -> None:
    async with open_container(settings) as container:
        await _station(container)
        stop = asyncio.Event()

        async def write() -> int:
            # Each round adds media items and a collection of them in one transaction: a
            # dump that is not one snapshot lists collection items whose media it missed.
            rounds = 0
            while not stop.is_set() and rounds < 200:
                ids = await add_show(container, f"Busy {rounds}", [1, 1, 1])
                await add_collection(container, f"Busy {rounds}", ids)
                rounds += 1
            return rounds

        writer = asyncio.create_task(write())
        made = [await container.backups.create(tmp_path / "b" / str(n)) for n in range(3)]
        stop.set()
        assert await writer > 0
    for number, backup in enumerate(made):
        target = build_settings(tmp_path / f"restored-{number}")
        counts = await restore(target, backup.path)  # foreign keys are checked on load
        assert counts == backup.counts


async def test_an_archive_from_a_newer_schema_or_not_a_backup_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    async with open_container(settings) as container:
        made = await container.backups.create(tmp_path / "backups")
    newer = tmp_path / "newer.tar"
    with tarfile.open(made.path) as source, tarfile.open(newer, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member)
            if member.name == "manifest.json" and data is not None:
                manifest = json.loads(data.read())
                manifest["revision"] = "9999future"
                body = json.dumps(manifest).encode()
                member.size = len(body)
                target.addfile(member, io.BytesIO(body))
            else:
                target.addfile(member, data)
    with pytest.raises(InvalidInput, match="newer EXStreamTV"):
        await restore(settings, newer)
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\0" * 2048)
    with pytest.raises(InvalidInput, match="not an EXStreamTV backup"):
        await restore(settings, junk)


async def test_restore_refuses_while_a_server_listens_on_the_port(tmp_path: Path) -> None:
    settings = build_settings(tmp_path / "data")
    async with open_container(settings) as container:
        made = await container.backups.create(tmp_path / "backups")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        busy = build_settings(tmp_path / "data", server={"port": port})
        with pytest.raises(Conflict, match="stop EXStreamTV first"):
            await restore(busy, made.path)


async def test_the_schedule_keeps_only_the_newest_backups(tmp_path: Path) -> None:
    settings = build_settings(tmp_path / "data", backup={"keep": 2, "folder": tmp_path / "b"})
    (tmp_path / "b").mkdir()
    mine = tmp_path / "b" / "notes.tar"
    mine.write_text("not ours")
    async with open_container(settings) as container:
        schedule = BackupSchedule(container.backups, settings.backup)
        for _ in range(3):
            await schedule.run_once()
            await asyncio.sleep(1.01)  # each name carries the second it was made
    kept = sorted(p.name for p in (tmp_path / "b").iterdir())
    assert len(kept) == 3 and "notes.tar" in kept
    assert prune(tmp_path / "b", 1) and mine.exists()


@pytest.mark.postgres
async def test_sqlite_copied_to_postgresql_serves_identical_answers(
    tmp_path: Path, postgres: object
) -> None:
    sqlite = build_settings(tmp_path / "data")
    async with open_container(sqlite) as container:
        await _station(container)
        before = await _answers(container)
    target = await _create_database(postgres)  # type: ignore[arg-type]
    from exstreamtv.cli.database import copy

    counts = await copy(sqlite, target)
    assert counts["channels"] == 2 and counts["media_items"] == 3

    moved = build_settings(tmp_path / "data", target)
    async with open_container(moved) as container:
        assert await _answers(container) == before
        await add_channel(container, "7")  # the id sequences continue past the copied rows
    with pytest.raises(InvalidInput, match="not empty"):
        await copy(sqlite, target)


@pytest.mark.parametrize(("flag", "secrets"), [((), True), (("--no-secrets",), False)])
def test_the_backup_command_keeps_keys_and_config_unless_told_not_to(
    tmp_path: Path, flag: tuple[str, ...], secrets: bool
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "exstreamtv.yaml").write_text("demo:\n  enabled: false\n")
    (data / "ui-sessions.key").write_bytes(os.urandom(32))  # as a served install has
    (data / "ui-sessions.key").chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXSTREAMTV_")}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("exstreamtv")), "backup", "--data-dir", str(data),
         "--to", str(tmp_path / "out"), *flag],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (archive,) = (tmp_path / "out").glob("exstreamtv-backup-*.tar")
    assert archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as opened:
        names = opened.getnames()
        manifest = json.loads(opened.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["secrets"] is secrets
    assert ("config/exstreamtv.yaml" in names) is secrets
    assert any(n.startswith("secrets/") for n in names) is secrets
    assert ("keep it private" in done.stdout) is secrets
