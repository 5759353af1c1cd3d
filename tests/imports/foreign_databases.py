# ruff: noqa: E501 - rows of fixture data read best one to a line
"""Tunarr and ErsatzTV databases for the import tests, made here with SQLite.

Neither program can run on this machine (Tunarr needs a native SQLite module built from
a download; ErsatzTV is .NET), so these are built from their schema files, table for
table and column for column, holding only the tables the importer reads:

* Tunarr: ``server/src/db/schema/{Channel,Program,ProgramExternalId,FillerShow,
  FillerShowContent,ChannelFillerShow,CustomShow}.ts`` (drizzle, snake_case columns) and
  the lineup schema in ``server/src/db/derived_types/Lineup.ts``;
* ErsatzTV: ``ErsatzTV.Infrastructure.Sqlite/Migrations/TvContextModelSnapshot.cs``
  (Entity Framework, PascalCase) with the enums in ``ErsatzTV.Core/Domain``.

The rows describe the same small station as the dizqueTV fixture: shows on a Plex or
Jellyfin server under ``/data``.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

TUNARR_SCHEMA = """
CREATE TABLE channel (uuid text PRIMARY KEY NOT NULL, created_at integer, updated_at integer,
  disable_filler_overlay integer DEFAULT false, duration integer NOT NULL,
  filler_repeat_cooldown integer, group_title text, guide_flex_title text,
  guide_minimum_duration integer NOT NULL, icon text NOT NULL, name text NOT NULL,
  number integer NOT NULL UNIQUE, offline text NOT NULL, start_time integer NOT NULL,
  stealth integer DEFAULT false, stream_mode text DEFAULT 'hls' NOT NULL, transcoding text,
  transcode_config_id text NOT NULL, watermark text, subtitles_enabled integer DEFAULT false);
CREATE TABLE program (uuid text PRIMARY KEY NOT NULL, created_at integer, updated_at integer,
  album_name text, album_uuid text, artist_name text, artist_uuid text, canonical_id text,
  duration integer NOT NULL, episode integer, episode_icon text, external_key text NOT NULL,
  external_source_id text NOT NULL, media_source_id text, library_id text,
  file_path text, grandparent_external_key text, icon text, original_air_date text,
  parent_external_key text, plex_file_path text, plex_rating_key text, rating text,
  season_icon text, season_number integer, season_uuid text, show_icon text, show_title text,
  source_type text NOT NULL, summary text, title text NOT NULL, tv_show_uuid text,
  type text NOT NULL, year integer, state text DEFAULT 'ok' NOT NULL);
CREATE TABLE program_external_id (uuid text PRIMARY KEY NOT NULL, created_at integer,
  updated_at integer, direct_file_path text, external_file_path text,
  external_key text NOT NULL, external_source_id text, media_source_id text,
  program_uuid text NOT NULL, source_type text NOT NULL);
CREATE TABLE filler_show (uuid text PRIMARY KEY NOT NULL, created_at integer,
  updated_at integer, name text NOT NULL);
CREATE TABLE filler_show_content (filler_show_uuid text NOT NULL, "index" integer NOT NULL,
  program_uuid text NOT NULL, PRIMARY KEY(filler_show_uuid, program_uuid));
CREATE TABLE channel_filler_show (channel_uuid text NOT NULL, filler_show_uuid text NOT NULL,
  cooldown integer NOT NULL, weight integer NOT NULL,
  PRIMARY KEY(channel_uuid, filler_show_uuid));
CREATE TABLE custom_show (uuid text PRIMARY KEY NOT NULL, created_at integer,
  updated_at integer, name text NOT NULL);
"""


def _content(uuid: str, **extra: str) -> dict[str, object]:
    return {"type": "content", "id": uuid, "durationMs": 1320000, **extra}


def make_tunarr(folder: Path) -> Path:
    """A Tunarr data folder: ``db.db`` and ``channel-lineups/<uuid>.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / "db.db")
    db.executescript(TUNARR_SCHEMA)
    programs = [
        (
            "p-a1",
            "episode",
            "Alpha",
            "Show A",
            1,
            1,
            "101",
            "/data/tv/Show A/Season 01/Show A - S01E01.mkv",
        ),
        (
            "p-a2",
            "episode",
            "Beta",
            "Show A",
            1,
            2,
            "102",
            "/data/tv/Show A/Season 01/Show A - S01E02.mkv",
        ),
        (
            "p-m1",
            "movie",
            "Movie One",
            None,
            None,
            None,
            "301",
            "/data/movies/Movie One (1999)/Movie One (1999).mkv",
        ),
        ("p-gone", "episode", "Nowhere", "Gone Show", 2, 5, "999", "/data/tv/Gone/x.mkv"),
        ("p-b1", "movie", "bumper1", None, None, None, "901", "/data/filler/bumper1.mp4"),
    ]
    for uuid, kind, title, show, season, episode, key, path in programs:
        db.execute(
            "INSERT INTO program (uuid, duration, episode, external_key, external_source_id,"
            " season_number, show_title, source_type, title, type, plex_rating_key)"
            " VALUES (?, 1320000, ?, ?, 'Home Plex', ?, ?, 'plex', ?, ?, ?)",
            (uuid, episode, key, season, show, title, kind, key),
        )
        db.execute(
            "INSERT INTO program_external_id (uuid, direct_file_path, external_file_path,"
            " external_key, external_source_id, program_uuid, source_type)"
            " VALUES (?, ?, ?, ?, 'Home Plex', ?, 'plex')",
            (f"x-{uuid}", path, f"/library/parts/{key}/file.mkv", key, uuid),
        )
    icon = json.dumps({"path": "", "width": 0, "duration": 0, "position": "bottom-right"})
    mark = json.dumps({"enabled": True, "position": "bottom-left", "width": 5, "opacity": 80})
    for uuid, number, name, watermark in (
        ("c-1", 3, "Tunarr Comedy", mark),
        ("c-2", 4, "Films", None),
    ):
        db.execute(
            "INSERT INTO channel (uuid, duration, filler_repeat_cooldown, group_title,"
            " guide_minimum_duration, icon, name, number, offline, start_time,"
            " transcode_config_id, watermark) VALUES (?, 0, 600000, 'Tunarr', 30000, ?, ?, ?,"
            " '{\"mode\":\"clip\"}', 0, 't', ?)",
            (uuid, icon, name, number, watermark),
        )
    db.execute("INSERT INTO filler_show (uuid, name) VALUES ('f-1', 'Bumpers')")
    db.execute("INSERT INTO filler_show_content VALUES ('f-1', 0, 'p-b1')")
    db.execute("INSERT INTO channel_filler_show VALUES ('c-1', 'f-1', 300, 50)")
    db.execute("INSERT INTO custom_show (uuid, name) VALUES ('s-1', 'Marathon')")
    db.commit()
    db.close()
    lineups = folder / "channel-lineups"
    lineups.mkdir()
    (lineups / "c-1.json").write_text(json.dumps({"version": 5, "lastUpdated": 0, "startTimeOffsets": [], "items": [
        _content("p-a1"), _content("p-a2"), {"type": "offline", "durationMs": 120000},
        _content("p-gone"), {"type": "redirect", "channel": "c-2", "durationMs": 60000},
    ]}))  # fmt: skip
    (lineups / "c-2.json").write_text(json.dumps({"version": 5, "lastUpdated": 0, "startTimeOffsets": [], "items": [
        _content("p-m1"), _content("p-a1", customShowId="s-1"), _content("p-a2", customShowId="s-1"),
    ]}))  # fmt: skip
    return folder


ERSATZTV_SCHEMA = """
CREATE TABLE Channel (Id INTEGER PRIMARY KEY, Number TEXT, Name TEXT, "Group" TEXT,
  WatermarkId INTEGER, FallbackFillerId INTEGER, FFmpegProfileId INTEGER, UniqueId TEXT,
  SortNumber REAL, StreamingMode INTEGER, IsEnabled INTEGER, ShowInEpg INTEGER);
CREATE TABLE ChannelWatermark (Id INTEGER PRIMARY KEY, Name TEXT, Image TEXT, Mode INTEGER,
  ImageSource INTEGER, Location INTEGER, Size INTEGER, WidthPercent REAL,
  HorizontalMarginPercent REAL, VerticalMarginPercent REAL, FrequencyMinutes INTEGER,
  DurationSeconds INTEGER, Opacity INTEGER, PlaceWithinSourceContent INTEGER);
CREATE TABLE Playout (Id INTEGER PRIMARY KEY, ChannelId INTEGER, ProgramScheduleId INTEGER,
  ScheduleKind INTEGER, ScheduleFile TEXT, Seed INTEGER, DailyRebuildTime TEXT);
CREATE TABLE ProgramSchedule (Id INTEGER PRIMARY KEY, Name TEXT, KeepMultiPartEpisodesTogether
  INTEGER, TreatCollectionsAsShows INTEGER, ShuffleScheduleItems INTEGER,
  RandomStartPoint INTEGER, FixedStartTimeBehavior INTEGER);
CREATE TABLE ProgramScheduleItem (Id INTEGER PRIMARY KEY, "Index" INTEGER,
  ProgramScheduleId INTEGER, CollectionType INTEGER, CollectionId INTEGER,
  MediaItemId INTEGER, MultiCollectionId INTEGER, SmartCollectionId INTEGER,
  PlaylistId INTEGER, PlaybackOrder INTEGER, StartTime TEXT, FixedStartTimeBehavior INTEGER,
  GuideMode INTEGER, CustomTitle TEXT, PreRollFillerId INTEGER, MidRollFillerId INTEGER,
  PostRollFillerId INTEGER, TailFillerId INTEGER, FallbackFillerId INTEGER);
CREATE TABLE ProgramScheduleOneItem (Id INTEGER PRIMARY KEY);
CREATE TABLE ProgramScheduleMultipleItem (Id INTEGER PRIMARY KEY, Count TEXT,
  MultipleMode INTEGER);
CREATE TABLE ProgramScheduleDurationItem (Id INTEGER PRIMARY KEY, PlayoutDuration TEXT,
  TailMode INTEGER, DiscardToFillAttempts INTEGER);
CREATE TABLE ProgramScheduleFloodItem (Id INTEGER PRIMARY KEY);
CREATE TABLE Collection (Id INTEGER PRIMARY KEY, Name TEXT, UseCustomPlaybackOrder INTEGER);
CREATE TABLE CollectionItem (CollectionId INTEGER, MediaItemId INTEGER, CustomIndex INTEGER,
  PRIMARY KEY (CollectionId, MediaItemId));
CREATE TABLE FillerPreset (Id INTEGER PRIMARY KEY, Name TEXT, FillerKind INTEGER,
  FillerMode INTEGER, Duration TEXT, Count INTEGER, PadToNearestMinute INTEGER,
  CollectionType INTEGER, CollectionId INTEGER, MediaItemId INTEGER,
  MultiCollectionId INTEGER, SmartCollectionId INTEGER, PlaylistId INTEGER,
  AllowWatermarks INTEGER, UseChaptersAsMediaItems INTEGER, Expression TEXT);
CREATE TABLE MediaItem (Id INTEGER PRIMARY KEY, LibraryPathId INTEGER, State INTEGER);
CREATE TABLE Movie (Id INTEGER PRIMARY KEY);
CREATE TABLE MovieMetadata (Id INTEGER PRIMARY KEY, MovieId INTEGER, Title TEXT, Year INTEGER);
CREATE TABLE Show (Id INTEGER PRIMARY KEY);
CREATE TABLE ShowMetadata (Id INTEGER PRIMARY KEY, ShowId INTEGER, Title TEXT);
CREATE TABLE Season (Id INTEGER PRIMARY KEY, ShowId INTEGER, SeasonNumber INTEGER);
CREATE TABLE Episode (Id INTEGER PRIMARY KEY, SeasonId INTEGER);
CREATE TABLE EpisodeMetadata (Id INTEGER PRIMARY KEY, EpisodeId INTEGER,
  EpisodeNumber INTEGER, Title TEXT);
CREATE TABLE MediaVersion (Id INTEGER PRIMARY KEY, MovieId INTEGER, EpisodeId INTEGER,
  Duration TEXT, Name TEXT);
CREATE TABLE MediaFile (Id INTEGER PRIMARY KEY, MediaVersionId INTEGER, Path TEXT,
  PathHash TEXT, LibraryFolderId INTEGER);
CREATE TABLE PlexMovie (Id INTEGER PRIMARY KEY, Key TEXT, Etag TEXT);
CREATE TABLE PlexEpisode (Id INTEGER PRIMARY KEY, Key TEXT, Etag TEXT);
CREATE TABLE JellyfinMovie (Id INTEGER PRIMARY KEY, ItemId TEXT, Etag TEXT);
CREATE TABLE JellyfinEpisode (Id INTEGER PRIMARY KEY, ItemId TEXT, Etag TEXT);
CREATE TABLE EmbyMovie (Id INTEGER PRIMARY KEY, ItemId TEXT, Etag TEXT);
CREATE TABLE EmbyEpisode (Id INTEGER PRIMARY KEY, ItemId TEXT, Etag TEXT);
"""


def make_ersatztv(path: Path) -> Path:
    """An ``ersatztv.sqlite3``: channel 11 on a classic schedule (a fixed-start flood of
    the show "Show A", two movies from a collection, a 60-minute duration block of the
    season Show B season 1 with a tail filler), channel 12 on a block schedule."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(ERSATZTV_SCHEMA)
    run = db.execute
    run("INSERT INTO Show VALUES (1), (2)")
    run("INSERT INTO ShowMetadata VALUES (1, 1, 'Show A'), (2, 2, 'Show B')")
    run("INSERT INTO Season VALUES (10, 2, 1)")
    for item, title, year, key, path_ in (
        (100, "Movie One", 1999, "/library/metadata/301", "/data/movies/Movie One (1999)/Movie One (1999).mkv"),
        (101, "Movie Two", 2004, None, "/data/movies/Movie Two (2004)/Movie Two (2004).mkv"),
        (102, "Lost Movie", 2010, "/library/metadata/777", "/data/movies/Lost.mkv"),
    ):  # fmt: skip
        run("INSERT INTO MediaItem VALUES (?, 1, 0)", (item,))
        run("INSERT INTO Movie VALUES (?)", (item,))
        run("INSERT INTO MovieMetadata VALUES (?, ?, ?, ?)", (item, item, title, year))
        run("INSERT INTO MediaVersion VALUES (?, ?, NULL, '01:35:00', 'Main')", (item, item))
        run("INSERT INTO MediaFile VALUES (?, ?, ?, 'h', 1)", (item, item, path_))
        if key:
            run("INSERT INTO PlexMovie VALUES (?, ?, 'e')", (item, key))
    run("INSERT INTO MediaItem VALUES (200, 1, 0)")
    run("INSERT INTO Movie VALUES (200)")
    run("INSERT INTO MovieMetadata VALUES (200, 200, 'bumper1', NULL)")
    run("INSERT INTO MediaVersion VALUES (200, 200, NULL, '00:00:15', 'Main')")
    run("INSERT INTO MediaFile VALUES (200, 200, '/data/filler/bumper1.mp4', 'h', 1)")
    run("INSERT INTO Collection VALUES (1, 'Movies', 0), (2, 'Bumpers', 0)")
    run("INSERT INTO CollectionItem VALUES (1, 100, 0), (1, 101, 1), (1, 102, 2), (2, 200, 0)")
    run("INSERT INTO ChannelWatermark (Id, Name, Location, Opacity) VALUES (1, 'logo', 2, 70)")
    run("INSERT INTO Channel (Id, Number, Name, \"Group\", WatermarkId, FallbackFillerId)"
        " VALUES (1, '11', 'ETV Classic', 'ErsatzTV', 1, 2), (2, '12', 'ETV Blocks', NULL, NULL, NULL)")  # fmt: skip
    run("INSERT INTO FillerPreset (Id, Name, FillerKind, FillerMode, PadToNearestMinute,"
        " CollectionType, CollectionId) VALUES (1, 'Pad 15', 4, 3, 15, 0, 2),"
        " (2, 'Fallback', 5, 0, NULL, 0, 2)")  # fmt: skip
    run("INSERT INTO ProgramSchedule VALUES (1, 'Classic', 0, 0, 0, 0, 1)")
    run("INSERT INTO Playout VALUES (1, 1, 1, 1, NULL, 0, NULL), (2, 2, NULL, 2, NULL, 0, NULL)")
    items: tuple[tuple[object, ...], ...] = (
        (1, 0, 1, 1, None, 6, "18:00:00", "Prime Time A", None),
        (2, 1, 0, None, 1, 1, None, None, None),
        (3, 2, 2, 10, None, 6, None, None, 1),
    )
    for id_, index, ctype, media, collection, order, start, custom, tail in items:
        run("INSERT INTO ProgramScheduleItem (Id, \"Index\", ProgramScheduleId, CollectionType,"
            " MediaItemId, CollectionId, PlaybackOrder, StartTime, CustomTitle, TailFillerId)"
            " VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
            (id_, index, ctype, media, collection, order, start, custom, tail))  # fmt: skip
    run("INSERT INTO ProgramScheduleFloodItem VALUES (1)")
    run("INSERT INTO ProgramScheduleMultipleItem VALUES (2, '2', 0)")
    run("INSERT INTO ProgramScheduleDurationItem VALUES (3, '01:00:00', 3, 0)")
    db.commit()
    db.close()
    return path
