"""Build hook: the browser players (hls.js and mpegts.js, from npm) go into the package
before it is built, so a wheel carries them and ``pip install exstreamtv`` serves a working
watch page without Node.js at run time. Everything else about the package is in
pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HLS_JS_VERSION = "1.6.15"
MPEGTS_JS_VERSION = "1.8.2"
VENDOR = Path(__file__).parent / "src" / "exstreamtv" / "web" / "ui" / "vendor"
PLAYERS = {
    f"hls.js@{HLS_JS_VERSION}": VENDOR / "node_modules" / "hls.js" / "dist" / "hls.min.js",
    f"mpegts.js@{MPEGTS_JS_VERSION}": VENDOR / "node_modules" / "mpegts.js" / "dist" / "mpegts.js",
}


class BuildWithPlayer(build_py):
    """``build_py`` that first fetches the players with npm when they are not there yet."""

    def run(self) -> None:
        missing = [spec for spec, path in PLAYERS.items() if not path.exists()]
        if missing:
            npm = shutil.which("npm")
            if npm is None:
                raise SystemExit("building the package needs npm (it fetches hls.js and mpegts.js)")
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                [npm, "install", "--prefix", str(VENDOR), "--no-audit", "--no-fund",
                 "--loglevel=error", *missing],
                check=True,
            )  # fmt: skip
        super().run()


setup(cmdclass={"build_py": BuildWithPlayer})
