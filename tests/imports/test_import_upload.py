"""``POST /api/imports/{system}``: the web UI's upload. A zip of dizqueTV's folder imports
like the command does; hostile zips (paths out of the folder, other files) are read only
for what the import needs; an upload that is not the program's data is a 422."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from exstreamtv.services.container import Container
from tests.web.client import assert_problem, open_client

FIXTURE = Path(__file__).parents[1] / "fixtures" / "dizquetv"


def _zip(extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in FIXTURE.rglob("*.json"):
            archive.write(path, f".dizquetv/{path.relative_to(FIXTURE)}")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def test_an_uploaded_zip_imports_after_a_dry_run(
    container: Container, library: Path, tmp_path: Path
) -> None:
    hostile = {
        "../../escaped.json": b"{}",
        "/etc/owned.json": b"{}",
        ".dizquetv/channels/../../../x.json": b"{}",
        ".dizquetv/secrets.txt": b"nope",
    }
    form = {"path_map": f"/data={library}\n", "dry_run": "true"}
    async with open_client(container) as client:
        dry = await client.post(
            "/api/imports/dizquetv", data=form, files={"file": ("d.zip", _zip(hostile))}
        )
        assert dry.status_code == 200, dry.text
        assert dry.json()["dry_run"] is True
        assert (await client.get("/api/channels")).json() == []
        form["dry_run"] = "false"
        real = await client.post(
            "/api/imports/dizquetv", data=form, files={"file": ("d.zip", _zip())}
        )
        assert real.status_code == 200, real.text
        body = real.json()
        assert body["channels"] == dry.json()["channels"] == [
            "5 Sitcoms", "7 Movie Night", "9 Früh & Spät – 夜",
        ]  # fmt: skip
        assert [u["item"] for u in body["unmatched"]] == ["Gone Show S02E05 (Nowhere)"]
        assert len((await client.get("/api/channels")).json()) == 3
    assert not (tmp_path.parent / "escaped.json").exists()


async def test_an_upload_that_is_not_the_programs_data_is_a_422(container: Container) -> None:
    async with open_client(container) as client:
        for system, data in (
            ("dizquetv", b"plain text"),
            ("tunarr", _zip()),  # a dizqueTV folder is not Tunarr's
            ("ersatztv", b"PK\x03\x04 not sqlite"),
        ):
            answer = await client.post(f"/api/imports/{system}", files={"file": ("f", data)})
            assert_problem(answer, 422)
        unknown = await client.post("/api/imports/pseudotv", files={"file": ("f", b"x")})
        assert unknown.status_code == 422
        bad_map = await client.post(
            "/api/imports/dizquetv", data={"path_map": "no-equals-sign"},
            files={"file": ("d.zip", _zip())},
        )  # fmt: skip
        assert_problem(bad_map, 422)


async def test_a_zip_with_damaged_contents_is_a_422(container: Container) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(FIXTURE / "channels" / "5.json", "channels/5.json")
    broken = bytearray(buffer.getvalue())
    broken[30 + len("channels/5.json") + 5] ^= 0xFF  # in the file's data: a bad CRC
    async with open_client(container) as client:
        answer = await client.post(
            "/api/imports/dizquetv", files={"file": ("d.zip", bytes(broken))}
        )
    body = assert_problem(answer, 422)
    assert "cannot be read" in body["detail"]
