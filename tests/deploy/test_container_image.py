"""The container image, built from Debian packages on this machine by ``make image``'s
script, passes ``make image-test``'s script under podman: ``/healthz`` and the image's own
healthcheck answer, it runs as a non-root user with ``/data`` as a volume and FFmpeg
inside, and the demo channel streams MPEG-TS with picture and sound. Minutes of building:
``make slow`` runs it (as root, with podman and mmdebstrap installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import free_port

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.soak


def _run(*argv: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], check=False, cwd=ROOT, timeout=1800, capture_output=True,
        text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if os.geteuid() != 0 or not (shutil.which("podman") and shutil.which("mmdebstrap")):
        pytest.skip("building the image needs root, podman and mmdebstrap")
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, ROOT)
    (wheel,) = dist.glob("exstreamtv-*.whl")
    tag = f"localhost/exstreamtv:proof-{os.getpid()}"
    _run("sh", "deploy/container/build-image.sh", wheel, tag)
    try:
        yield tag
    finally:
        subprocess.run(["podman", "rmi", "-f", tag], check=False, capture_output=True)


def test_the_image_runs_unprivileged_answers_health_and_streams_the_demo(image: str) -> None:
    env = {**os.environ, "IMAGE_TEST_PORT": str(free_port())}
    said = _run("sh", "deploy/container/image-test.sh", image, env=env)
    for line in ("healthz: ok", "container healthcheck: ok", "volume: /data", "ffmpeg version"):
        assert line in said, said
    assert "uid 0\n" not in said
    assert "audio video" in said, said
    size_mib = int(said.split("image size: ")[1].split()[0])
    assert size_mib < 1024, said  # Debian, Python and FFmpeg: under 1 GiB
