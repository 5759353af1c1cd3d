"""Server paths rewritten to local mounts by the longest matching prefix."""

from __future__ import annotations

import pytest

from exstreamtv.domain.libraries import PathMapping, map_path

MAPPINGS = (
    PathMapping("/data", "/mnt/nas"),
    PathMapping("/data/movies/", "/srv/movies"),
    PathMapping("D:\\Media", "/mnt/d"),
)


@pytest.mark.parametrize(
    ("server", "local"),
    [
        ("/data/tv/Show/S01E01.mkv", "/mnt/nas/tv/Show/S01E01.mkv"),
        ("/data/movies/Film.mkv", "/srv/movies/Film.mkv"),  # the longer prefix wins
        ("D:\\Media\\Film (2020)\\Film.mkv", "/mnt/d/Film (2020)/Film.mkv"),
        ("/database/x.mkv", None),  # a prefix matches whole path components only
        ("/elsewhere/x.mkv", None),
    ],
)
def test_server_paths_map_to_the_longest_matching_local_prefix(
    server: str, local: str | None
) -> None:
    assert map_path(server, MAPPINGS) == local


def test_no_mappings_map_nothing() -> None:
    assert map_path("/data/x.mkv", ()) is None
