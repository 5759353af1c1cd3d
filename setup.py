"""Build hook: the browser player (hls.js, from npm) goes into the package before it is
built, so a wheel carries it and ``pip install exstreamtv`` serves a working watch page
without Node.js at run time. Everything else about the package is in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HLS_JS_VERSION = "1.6.15"
VENDOR = Path(__file__).parent / "src" / "exstreamtv" / "web" / "ui" / "vendor"
HLS_JS = VENDOR / "node_modules" / "hls.js" / "dist" / "hls.min.js"


class BuildWithPlayer(build_py):
    """``build_py`` that first fetches hls.js with npm when it is not there yet."""

    def run(self) -> None:
        if not HLS_JS.exists():
            npm = shutil.which("npm")
            if npm is None:
                raise SystemExit("building the package needs npm (it fetches hls.js)")
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                [npm, "install", "--prefix", str(VENDOR), "--no-audit", "--no-fund",
                 "--loglevel=error", f"hls.js@{HLS_JS_VERSION}"],
                check=True,
            )  # fmt: skip
        super().run()


setup(cmdclass={"build_py": BuildWithPlayer})
