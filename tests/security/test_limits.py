"""Limits before work, against a real LAN server: a stranger's huge body is refused before it
is read, a body over the cap is a 413, guessing keys backs off with 429, and a fake image
is refused with its reason."""

from __future__ import annotations

import contextlib
import io
import re
import select
import socket
import time

import httpx
import psutil
from PIL import Image

from tests.security.conftest import Station

MIB = 1024 * 1024
HUGE = 300 * MIB
RSS_LIMIT = 250 * MIB
CHUNK = b"x" * (256 * 1024)


def upload(station: Station, head: str, total: int, *, chunked: bool) -> tuple[str, int, int]:
    """Send ``head`` then up to ``total`` body bytes (chunked or not) until the server
    answers; returns the status line, the bytes sent and the server's peak RSS."""
    server = psutil.Process(station.server.process.pid)
    peak, sent, answer = server.memory_info().rss, 0, b""
    with socket.create_connection(("127.0.0.1", station.port), timeout=30) as sock:
        sock.sendall(head.encode())
        sock.setblocking(False)
        while sent < total and b"\r\n" not in answer:
            readable, writable, _ = select.select([sock], [sock], [], 5)
            if readable:
                try:
                    answer += sock.recv(4096)
                except ConnectionError:
                    break
                continue
            if writable:
                piece = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n" if chunked else CHUNK
                with contextlib.suppress(BlockingIOError, ConnectionError):
                    sock.send(piece)
                sent += len(CHUNK)
            peak = max(peak, server.memory_info().rss)
        sock.setblocking(True)
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    return answer.split(b"\r\n", 1)[0].decode(), sent, max(peak, server.memory_info().rss)


def test_a_strangers_300_mb_bodies_are_refused_unread(lan: Station) -> None:
    heads = [
        f"POST /api/filler-presets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
        f"\r\nContent-Length: {HUGE}\r\n\r\n",
        "POST /api/libraries HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        f"POST /api/logos HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {HUGE}\r\n\r\n",
    ]
    for head in heads:
        status, sent, peak = upload(lan, head, HUGE, chunked="chunked" in head)
        assert status == "HTTP/1.1 401 Unauthorized", status
        assert sent < HUGE // 2  # answered long before the body was through
        assert peak < RSS_LIMIT, peak


def test_an_admitted_body_over_the_cap_is_a_413_while_it_streams(lan: Station) -> None:
    key = f"X-API-Key: {lan.key}\r\n"
    start = f"POST /api/libraries HTTP/1.1\r\nHost: 127.0.0.1\r\n{key}"
    declared = f"{start}Content-Length: {HUGE}\r\n\r\n"
    status, sent, _ = upload(lan, declared, HUGE, chunked=False)
    assert status.startswith("HTTP/1.1 413"), status
    chunked = f"{start}Transfer-Encoding: chunked\r\n\r\n"
    status, sent, _ = upload(lan, chunked, 64 * MIB, chunked=True)
    assert status.startswith("HTTP/1.1 413"), status
    assert sent < 32 * MIB
    logo = httpx.post(
        f"{lan.url}/api/logos",
        headers={"X-API-Key": lan.key},
        files={"file": ("big.png", b"\x89PNG" + bytes(3 * MIB), "image/png")},
    )
    assert logo.status_code == 413 and logo.headers["content-type"] == "application/problem+json"


def test_guessing_keys_backs_off_and_the_right_key_works_after_the_back_off(
    lan: Station,
) -> None:
    # From 127.0.0.2: the back-off is per address and must not hold up the other tests.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=lan.url, transport=transport, timeout=30) as client:
        answers = [
            client.get("/api/channels", headers={"X-API-Key": f"guess-{n}-{'x' * 30}"})
            for n in range(100)
        ]
        statuses = [a.status_code for a in answers]
        assert statuses[:5] == [401] * 5
        assert statuses.count(429) >= 50, statuses
        throttled = [a for a in answers if a.status_code == 429]
        assert all(int(a.headers["retry-after"]) >= 1 for a in throttled)
        too_soon = client.get("/api/channels", headers={"X-API-Key": lan.key})
        assert too_soon.status_code == 429  # even the right key waits out the back-off
        deadline = time.monotonic() + 60
        while True:
            right = client.get("/api/channels", headers={"X-API-Key": lan.key})
            if right.status_code != 429 or time.monotonic() > deadline:
                break
            time.sleep(int(right.headers["retry-after"]))
        assert right.status_code == 200
        assert client.get("/api/channels", headers={"X-API-Key": "x"}).status_code == 401
    log = lan.server.output().split("listening on", 1)[1]  # after the key was shown once
    assert "wrong admin key from 127.0.0.2" in log
    assert "guess-" not in log and lan.key not in log
    metrics = httpx.get(f"{lan.url}/metrics").text
    failures = re.search(r'exstreamtv_auth_failures_total\{kind="admin_key"\} (\d+)', metrics)
    assert failures and int(failures.group(1)) >= 6


def test_failed_sign_ins_back_off_too(lan: Station) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.3")
    with httpx.Client(base_url=lan.url, transport=transport, timeout=30) as client:
        statuses = [client.post("/login", data={"key": f"nope{n}"}).status_code for n in range(8)]
    assert statuses[:5] == [200] * 5  # the form again, with its message
    assert 429 in statuses[5:]


def test_a_fake_png_is_refused_with_the_reason_and_a_real_one_is_re_encoded(lan: Station) -> None:
    headers = {"X-API-Key": lan.key}
    fake = b"\x89PNG\r\n\x1a\n" + b"\x00" * 21  # 29 bytes that only look like a PNG
    refused = httpx.post(f"{lan.url}/api/logos", headers=headers,
                         files={"file": ("logo.png", fake, "image/png")})  # fmt: skip
    assert refused.status_code == 422
    assert "not a readable image" in refused.json()["detail"]
    bomb = _png_header(100_000, 100_000)
    refused = httpx.post(f"{lan.url}/api/logos", headers=headers,
                         files={"file": ("bomb.png", bomb, "image/png")})  # fmt: skip
    assert refused.status_code == 422, refused.text
    out = io.BytesIO()
    Image.new("RGBA", (3000, 1500), (0, 128, 255, 200)).save(out, format="WEBP")
    stored = httpx.post(f"{lan.url}/api/logos", headers=headers,
                        files={"file": ("logo.webp", out.getvalue(), "image/webp")})  # fmt: skip
    assert stored.status_code == 201, stored.text
    kept = lan.data_dir / "logos" / stored.json()["logo"]
    with Image.open(kept) as image:
        assert (image.format, image.size, image.mode) == ("PNG", (1024, 512), "RGBA")


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
