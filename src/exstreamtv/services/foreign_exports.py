"""Reading another program's files from disk for an import (blocking: run in a thread).

Each reader checks that the folder or database is what that program writes, bounds what
it reads (file count and size), and hands the contents to the pure reader in
``exstreamtv.formats``. Raises :class:`InvalidInput` saying what is wrong with the path.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from exstreamtv.domain.station_import import ForeignStation
from exstreamtv.errors import InvalidInput
from exstreamtv.formats.dizquetv import DizqueFiles, read_station
from exstreamtv.formats.ersatztv import ErsatzTables
from exstreamtv.formats.ersatztv import read_station as read_ersatz_tables
from exstreamtv.formats.tunarr import TunarrTables
from exstreamtv.formats.tunarr import read_station as read_tunarr_tables

MAX_FILES = 20_000
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_ROWS = 2_000_000


def dizquetv_folder(path: Path) -> Path:
    """dizqueTV's data folder: ``path`` itself or its ``.dizquetv`` child."""
    for candidate in (path, path / ".dizquetv"):
        if (candidate / "channels").is_dir():
            return candidate
    raise InvalidInput(f"{path} is not a dizqueTV data folder (it has no channels/ folder)")


def read_dizquetv(path: Path) -> ForeignStation:
    """The station in a dizqueTV data folder (``.dizquetv``, or the folder holding it)."""
    folder = dizquetv_folder(path)
    return read_station(
        DizqueFiles(
            channels=_json_files(folder / "channels"), fillers=_json_files(folder / "filler")
        )
    )


def _json_files(folder: Path, strip: str = "") -> dict[str, str]:
    """``*.json`` directly in ``folder`` by name less ``strip`` (none without the folder)."""
    if not folder.is_dir():
        return {}
    found: dict[str, str] = {}
    total = 0
    for entry in sorted(folder.iterdir()):
        if entry.suffix != ".json" or not entry.is_file() or entry.is_symlink():
            continue
        if len(found) >= MAX_FILES:
            raise InvalidInput(f"{folder} holds more than {MAX_FILES} files")
        size = entry.stat().st_size
        total += size
        if size > MAX_FILE_BYTES:
            raise InvalidInput(f"{entry} is larger than {MAX_FILE_BYTES // 2**20} MiB")
        if total > MAX_TOTAL_BYTES:
            raise InvalidInput(f"{folder} holds more than {MAX_TOTAL_BYTES // 2**20} MiB of JSON")
        found[entry.name.removesuffix(strip) if strip else entry.name] = entry.read_text(
            encoding="utf-8", errors="replace"
        )
    return found


def read_tunarr(path: Path) -> ForeignStation:
    """The station in a Tunarr data folder (``db.db`` and ``channel-lineups/``)."""
    database = path / "db.db"
    if not database.is_file():
        raise InvalidInput(f"{path} is not a Tunarr data folder (it has no db.db)")
    with _read_only(database) as db:
        tables = TunarrTables(
            channels=_rows(db, "SELECT uuid, number, name, group_title, icon, watermark,"
                           " filler_repeat_cooldown FROM channel"),
            programs=_rows(db, "SELECT uuid, type, title, show_title, season_number, episode,"
                           " duration, source_type, external_key, file_path, plex_file_path"
                           " FROM program"),
            external_ids=_rows(db, "SELECT program_uuid, source_type, external_key,"
                               " direct_file_path FROM program_external_id"),
            fillers=_rows(db, "SELECT uuid, name FROM filler_show"),
            filler_content=_rows(db, 'SELECT filler_show_uuid, program_uuid, "index"'
                                 " FROM filler_show_content"),
            channel_fillers=_rows(db, "SELECT channel_uuid, filler_show_uuid, cooldown, weight"
                                  " FROM channel_filler_show"),
            custom_shows=_rows(db, "SELECT uuid, name FROM custom_show"),
            lineups=_json_files(path / "channel-lineups", strip=".json"),
        )  # fmt: skip
    return read_tunarr_tables(tables)


# ErsatzTV: one row per media item that anything refers to, from its entity tables.
_ETV_MEDIA = """
SELECT mi.Id AS Id,
  CASE WHEN mo.Id IS NOT NULL THEN 'movie' WHEN ep.Id IS NOT NULL THEN 'episode'
       ELSE 'other' END AS Kind,
  COALESCE(mm.Title, em.Title) AS Title, sm.Title AS Show, se.SeasonNumber AS Season,
  em.EpisodeNumber AS Episode,
  (SELECT mf.Path FROM MediaVersion mv JOIN MediaFile mf ON mf.MediaVersionId = mv.Id
    WHERE mv.MovieId = mi.Id OR mv.EpisodeId = mi.Id ORDER BY mf.Id LIMIT 1) AS Path,
  COALESCE(pm.Key, pe.Key) AS PlexKey, COALESCE(jm.ItemId, je.ItemId) AS JellyfinId,
  COALESCE(bm.ItemId, be.ItemId) AS EmbyId
FROM MediaItem mi
LEFT JOIN Movie mo ON mo.Id = mi.Id
LEFT JOIN MovieMetadata mm ON mm.MovieId = mi.Id
LEFT JOIN Episode ep ON ep.Id = mi.Id
LEFT JOIN EpisodeMetadata em ON em.EpisodeId = mi.Id
LEFT JOIN Season se ON se.Id = ep.SeasonId
LEFT JOIN ShowMetadata sm ON sm.ShowId = se.ShowId
LEFT JOIN PlexMovie pm ON pm.Id = mi.Id
LEFT JOIN PlexEpisode pe ON pe.Id = mi.Id
LEFT JOIN JellyfinMovie jm ON jm.Id = mi.Id
LEFT JOIN JellyfinEpisode je ON je.Id = mi.Id
LEFT JOIN EmbyMovie bm ON bm.Id = mi.Id
LEFT JOIN EmbyEpisode be ON be.Id = mi.Id
WHERE mi.Id IN (SELECT MediaItemId FROM CollectionItem
                UNION SELECT MediaItemId FROM ProgramScheduleItem
                UNION SELECT MediaItemId FROM FillerPreset)
"""


def read_ersatztv(database: Path) -> ForeignStation:
    """The station in an ErsatzTV database (``ersatztv.sqlite3``)."""
    if not database.is_file():
        raise InvalidInput(f"{database} is not a file (give ErsatzTV's ersatztv.sqlite3)")
    with _read_only(database) as db:
        tables = ErsatzTables(
            channels=_rows(db, "SELECT * FROM Channel"),
            playouts=_rows(db, "SELECT * FROM Playout"),
            schedules=_rows(db, "SELECT * FROM ProgramSchedule"),
            items=_rows(db, "SELECT * FROM ProgramScheduleItem"),
            one=[r["Id"] for r in _rows(db, "SELECT Id FROM ProgramScheduleOneItem")],
            multiple=_rows(db, "SELECT * FROM ProgramScheduleMultipleItem"),
            duration=_rows(db, "SELECT * FROM ProgramScheduleDurationItem"),
            flood=[r["Id"] for r in _rows(db, "SELECT Id FROM ProgramScheduleFloodItem")],
            collections=_rows(db, "SELECT Id, Name FROM Collection"),
            collection_items=_rows(db, "SELECT * FROM CollectionItem"),
            fillers=_rows(db, "SELECT * FROM FillerPreset"),
            watermarks=_rows(db, "SELECT * FROM ChannelWatermark"),
            media=_rows(db, _ETV_MEDIA),
            shows=_rows(db, "SELECT ShowId AS Id, Title FROM ShowMetadata"),
            seasons=_rows(db, "SELECT s.Id AS Id, sm.Title AS Show, s.SeasonNumber"
                          " FROM Season s LEFT JOIN ShowMetadata sm ON sm.ShowId = s.ShowId"),
        )  # fmt: skip
    return read_ersatz_tables(tables)


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """The database opened read-only (``mode=ro``: the other program's file is never
    changed, even by a journal); not a database is :class:`InvalidInput`."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=5)
    except sqlite3.Error as err:
        raise InvalidInput(f"{path} cannot be opened: {err}") from err
    connection.row_factory = sqlite3.Row
    try:
        yield connection
    finally:
        connection.close()


def _rows(db: sqlite3.Connection, query: str) -> list[dict[str, Any]]:
    try:
        return [dict(row) for row in db.execute(query).fetchmany(MAX_ROWS + 1)][:MAX_ROWS]
    except sqlite3.DatabaseError as err:
        raise InvalidInput(f"the database is not what this import expects: {err}") from err
