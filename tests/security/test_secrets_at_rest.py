"""Secrets at rest: the data directory and its files are private, sessions cannot be
forged from the database file, and sign-outs and key rotations outlive a restart."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from exstreamtv.web.browser_session import COOKIE
from tests.security.conftest import Station, start_station

LAN = "server:\n  host: 0.0.0.0\n"
YEAR_2100 = 4_102_444_800


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sign_in(station: Station) -> str:
    response = httpx.post(f"{station.url}/login", data={"key": station.key})
    assert response.status_code == 303, response.text
    return response.cookies[COOKIE]


def with_cookie(station: Station, token: str) -> int:
    return httpx.get(f"{station.url}/api/channels", cookies={COOKIE: token}).status_code


def test_an_open_data_directory_is_tightened_at_start_with_a_warning(loopback: Station) -> None:
    assert mode(loopback.data_dir) == 0o700
    for name in ("exstreamtv.db", "exstreamtv.yaml", "exstreamtv.db-wal"):
        assert mode(loopback.data_dir / name) == 0o600, name
    log = loopback.server.output()
    assert "was mode 755; tightened to 700" in log
    assert "exstreamtv.yaml was mode 644; tightened to 600" in log


def test_a_session_cannot_be_forged_from_the_database_file(lan: Station) -> None:
    token = sign_in(lan)
    assert with_cookie(lan, token) == 200
    assert mode(lan.data_dir / "ui-sessions.key") == 0o600
    with sqlite3.connect(f"file:{lan.data_dir / 'exstreamtv.db'}?mode=ro", uri=True) as db:
        state = [value for (value,) in db.execute("SELECT value FROM app_state")]
        rows = list(db.execute("SELECT id, digest, expires_at FROM admin_sessions"))
    forged = []
    for secret in [*state, *(digest for _, digest, _ in rows)]:
        for key in (secret.encode(), bytes.fromhex(secret) if _hex(secret) else b""):
            nonce = "ab" * 16
            for digest in state:  # the old format: HMAC over expiry, nonce and key hash
                message = f"{YEAR_2100}.{nonce}.{digest}".encode()
                forged.append(
                    f"{YEAR_2100}.{nonce}.{hmac.new(key, message, hashlib.sha256).hexdigest()}"
                )
        forged += [f"{row_id}.{secret[:43]}" for row_id, _, _ in rows]
    assert forged
    assert {with_cookie(lan, value) for value in forged} == {401}
    # The server chose the expiry: issue time plus the 12 h lifetime, whatever a cookie says.
    newest = max(datetime.fromisoformat(str(expires)) for _, _, expires in rows)
    newest = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    assert newest <= datetime.now(UTC) + timedelta(hours=12, minutes=1)


def _hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True


def test_sign_out_and_key_rotation_outlive_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    station = start_station(data_dir, LAN)
    try:
        signed_out, kept = sign_in(station), sign_in(station)
        assert httpx.post(f"{station.url}/logout", cookies={COOKIE: signed_out}).status_code == 303
    finally:
        station.server.stop()
    station = start_station(data_dir, LAN)
    try:
        assert with_cookie(station, signed_out) == 401  # the sign-out was not forgotten
        assert with_cookie(station, kept) == 200  # other sessions survive the restart
        argv = [sys.executable, "-m", "exstreamtv", "admin-key", "rotate", "--data-dir"]
        rotated = subprocess.run(
            [*argv, str(data_dir)], capture_output=True, text=True, timeout=120, check=True
        )
        assert "new admin API key" in rotated.stdout
        assert with_cookie(station, kept) == 401  # rotation signs everyone out at once
    finally:
        station.server.stop()
