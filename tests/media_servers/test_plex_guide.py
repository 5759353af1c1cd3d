"""Asking Plex DVRs to reload our guide: only after a change, at most once a minute."""

from __future__ import annotations

from pydantic import SecretStr

from exstreamtv.domain.libraries import SourceKind
from exstreamtv.services.changes import GuideChanges
from exstreamtv.services.container import Container
from exstreamtv.services.plex_guide import PlexGuideReload
from tests.media_servers.fake_plex import TOKEN, FakePlex
from tests.media_servers.loopback import LoopbackServer
from tests.seeding import ManualClock


async def test_plex_reloads_its_guide_after_changes_at_most_once_a_minute(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    await sqlite_container.media_servers.create(
        SourceKind.PLEX, "Attic", server.url, SecretStr(TOKEN)
    )
    changes, clock = GuideChanges(), ManualClock()
    reload = PlexGuideReload(sqlite_container.media_servers, changes, clock)

    assert await reload.tick() == 0  # nothing changed yet
    changes.bump()
    assert await reload.tick() == 1
    assert fake.reloads == ["28"]
    changes.bump()
    clock.ticks += 30
    assert await reload.tick() == 0  # throttled: 30 s after the last reload
    clock.ticks += 31
    assert await reload.tick() == 1  # the pending change goes out once the minute is over
    assert fake.reloads == ["28", "28"]
    assert await reload.tick() == 0


async def test_an_unreachable_plex_does_not_stop_the_reloads(
    sqlite_container: Container, fake_plex: tuple[FakePlex, LoopbackServer]
) -> None:
    fake, server = fake_plex
    await sqlite_container.media_servers.create(
        SourceKind.PLEX, "Attic", server.url, SecretStr(TOKEN)
    )
    changes, clock = GuideChanges(), ManualClock()
    reload = PlexGuideReload(sqlite_container.media_servers, changes, clock)
    await server.stop()
    changes.bump()
    assert await reload.tick() == 0
    await server.start()
    changes.bump()
    clock.ticks += 61
    assert await reload.tick() == 1
    assert fake.reloads == ["28"]
