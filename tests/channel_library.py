"""A generated library for the channel-from-a-sentence tests: shows with seasons, movies,
music videos and idents, with genres and years (no files: rows written straight through
the repositories, as a scan would write them)."""

from __future__ import annotations

from exstreamtv.domain.media import MediaKind, MediaMetadata
from exstreamtv.services.container import Container
from tests.lineups import add_media

SHOWS = {
    "The Simpsons": (("Animation", "Comedy"), 1992),
    "Batman: The Animated Series": (("Animation", "Action & Adventure"), 1993),
    "Tom and Jerry": (("Animation", "Family"), 1965),
    "Seinfeld": (("Comedy",), 1991),
    "Friends": (("Comedy", "Romance"), 1996),
    "The X-Files": (("Science Fiction", "Mystery", "Drama"), 1995),
    "Friday Night Lights": (("Drama", "Sport"), 2007),
    "Cosmos": (("Documentary",), 1980),
    "Adventure Time": (("Animation", "Fantasy"), 2012),
}
MOVIES = {
    "Toy Story": (("Animation", "Family"), 1995),
    "Alien": (("Horror", "Science Fiction"), 1979),
    "Halloween": (("Horror",), 1978),
    "Die Hard": (("Action & Adventure", "Thriller"), 1988),
    "The Matrix": (("Action & Adventure", "Science Fiction"), 1999),
    "Casablanca": (("Romance", "Drama"), 1942),
    "Heat": (("Crime", "Drama", "Action & Adventure"), 1995),
    "Unforgiven": (("Western", "Drama"), 1992),
    "Inception": (("Action & Adventure", "Science Fiction"), 2010),
    "Spirited Away": (("Animation", "Fantasy"), 2001),
    "The Shining": (("Horror",), 1980),
    "Airplane!": (("Comedy",), 1980),
}
EPISODES_PER_SHOW = 4


async def add_channel_library(container: Container) -> None:
    """Nine shows of four 22-minute episodes, twelve 100-minute movies, five 4-minute
    music videos and three 15-second idents."""
    episodes = [
        MediaMetadata(MediaKind.EPISODE, f"{show} {n}", show=show, season=1, episode=n,
                      genres=genres, year=year)
        for show, (genres, year) in SHOWS.items()
        for n in range(1, EPISODES_PER_SHOW + 1)
    ]  # fmt: skip
    movies = [
        MediaMetadata(MediaKind.MOVIE, title, genres=genres, year=year)
        for title, (genres, year) in MOVIES.items()
    ]
    videos = [
        MediaMetadata(MediaKind.MUSIC_VIDEO, f"Song {n}", genres=("Music",), year=1985 + n)
        for n in range(5)
    ]
    idents = [MediaMetadata(MediaKind.OTHER, f"Ident {n}") for n in range(3)]
    await add_media(container, episodes, minutes=22)
    await add_media(container, movies, minutes=100)
    await add_media(container, videos, minutes=4)
    await add_media(container, idents, minutes=0.25)
