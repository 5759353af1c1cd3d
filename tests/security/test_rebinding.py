"""DNS rebinding against the default loopback server: a page on evil.example whose name
now resolves to 127.0.0.1 must not reach the admin API, nor put its name in playlists.

Each attack is replayed with a real HTTP client against a real `exstreamtv serve`."""

from __future__ import annotations

import httpx

from tests.security.conftest import ACCESS_TOKEN, Station

EVIL = "evil.example"


def evil(station: Station) -> dict[str, str]:
    """What a browser on the rebound page sends: its own name as Host and Origin."""
    return {"Host": f"{EVIL}:{station.port}", "Origin": f"http://{EVIL}:{station.port}"}


def test_a_rebinding_page_can_neither_change_nor_read_the_admin_api(loopback: Station) -> None:
    body = {"name": "Rebound bumpers", "kind": "tail", "collections": []}
    posted = httpx.post(f"{loopback.url}/api/filler-presets", json=body, headers=evil(loopback))
    read = httpx.get(f"{loopback.url}/api/media-sources", headers=evil(loopback))
    for response in (posted, read):
        assert response.status_code == 421, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:exstreamtv:problem:misdirected-request"
    presets = httpx.get(f"{loopback.url}/api/filler-presets").json()
    assert "Rebound bumpers" not in [p["name"] for p in presets]  # the POST changed nothing


def test_a_rebinding_page_cannot_poison_playlist_guide_or_lineup_urls(loopback: Station) -> None:
    for path in ("/iptv/channels.m3u", "/iptv/xmltv.xml", "/lineup.json", "/discover.json"):
        response = httpx.get(f"{loopback.url}{path}", headers={"Host": EVIL})
        assert response.status_code == 421, path
        assert EVIL not in response.text


def test_only_a_loopback_host_from_a_loopback_peer_is_local(loopback: Station) -> None:
    for host in ("127.0.0.1", "localhost", "[::1]", "tv.localhost"):
        response = httpx.get(f"{loopback.url}/api/channels", headers={"Host": f"{host}:1"})
        assert response.status_code == 200, (host, response.text)
    httpx.post(f"{loopback.url}/api/channels", json={"number": "3", "name": "Three"})
    playlist = httpx.get(
        f"{loopback.url}/iptv/channels.m3u",
        headers={"Host": "localhost:9"},
        params={"token": ACCESS_TOKEN},
    )
    assert f'url-tvg="http://localhost:9/iptv/xmltv.xml?token={ACCESS_TOKEN}"' in playlist.text
    # A name the server does not know is refused, even without an Origin.
    assert httpx.get(f"{loopback.url}/api/channels", headers={"Host": "nas"}).status_code == 421


def test_a_configured_name_is_served_but_is_not_local(lan: Station) -> None:
    for host in ("192.0.2.10:8411", "[2001:db8::1]:8411"):  # any address literal on a LAN bind
        assert httpx.get(f"{lan.url}/healthz", headers={"Host": host}).status_code == 200
    assert httpx.get(f"{lan.url}/healthz", headers={"Host": EVIL}).status_code == 421
    refused = httpx.get(f"{lan.url}/api/channels", headers={"Host": "localhost"})
    assert refused.status_code == 401  # a LAN server asks everyone for the key
