# EXStreamTV. The two commands a newcomer needs are `make run` and `make test`; each sets up
# everything it needs first (a virtualenv, the package, and Debian packages when root).

PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
DATA_DIR ?= data
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
# hls.js plays HLS in browsers without native HLS (Chromium) and mpegts.js plays the MPEG-TS
# stream through Media Source Extensions; both installed from npm, not committed (their
# versions live in setup.py, which also puts them into a wheel). axe-core (the accessibility
# checker of the browser tests) is installed for `make test` only.
HLS_JS_VERSION := $(shell sed -n 's/^HLS_JS_VERSION = "\(.*\)"/\1/p' setup.py)
MPEGTS_JS_VERSION := $(shell sed -n 's/^MPEGTS_JS_VERSION = "\(.*\)"/\1/p' setup.py)
AXE_CORE_VERSION := 4.10.3
UI_VENDOR := src/exstreamtv/web/ui/vendor
HLS_JS := $(UI_VENDOR)/.hls.js-$(HLS_JS_VERSION)
MPEGTS_JS := $(UI_VENDOR)/.mpegts.js-$(MPEGTS_JS_VERSION)
AXE_CORE := $(UI_VENDOR)/.axe-core-$(AXE_CORE_VERSION)

# npm from Debian only when no npm is installed (a Node.js from elsewhere conflicts with it).
NPM_DEB   := $(if $(shell command -v npm),,npm)
RUN_DEBS  := ffmpeg $(NPM_DEB)
TEST_DEBS := ffmpeg xmltv-util hdhomerun-config postgresql chromium vlc-bin vlc-plugin-base prometheus $(NPM_DEB)

.PHONY: run test slow hardening lint fmt typecheck contracts unit bench docs clean system-run system-test lock wheel image image-test

run: system-run $(STAMP_RUN) $(HLS_JS) $(MPEGTS_JS)
	$(BIN)/exstreamtv serve --data-dir $(DATA_DIR)

test: system-test $(STAMP_TEST) $(HLS_JS) $(MPEGTS_JS) $(AXE_CORE)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

system-run:
	@sh scripts/system-packages.sh $(RUN_DEBS)

system-test:
	@sh scripts/system-packages.sh $(TEST_DEBS)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Exact versions from the lock files, then the project itself (see `make lock`).
$(STAMP_RUN): pyproject.toml requirements.lock | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(STAMP_TEST): pyproject.toml requirements-test.lock | $(VENV)/bin/python
	$(BIN)/pip install --quiet -r requirements-test.lock
	$(BIN)/pip install --quiet --no-deps -e '.[test]'
	@touch $@ $(STAMP_RUN)

# Re-resolve the lock files to the newest versions pyproject.toml allows (then run
# `make test` and commit both files).
lock: | $(VENV)/bin/python
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --upgrade --strip-extras --no-emit-index-url --no-emit-find-links \
	  --extra postgresql -o requirements.lock pyproject.toml
	$(BIN)/pip-compile --quiet --upgrade --strip-extras --no-emit-index-url --no-emit-find-links \
	  --extra postgresql --extra test -o requirements-test.lock pyproject.toml

# The container image from Debian packages (mmdebstrap + podman; root), then its check.
image: wheel
	sh deploy/container/build-image.sh $$(ls -t dist/exstreamtv-*.whl | head -n 1)

image-test:
	sh deploy/container/image-test.sh

# A wheel with the browser player inside (setup.py fetches hls.js from npm when building).
wheel: $(STAMP_TEST)
	$(BIN)/pip wheel --quiet --no-deps -w dist .

# Without npm (or the registry) the server still runs; the watch page then offers MPEG-TS.
$(HLS_JS):
	@if npm install --prefix $(UI_VENDOR) --no-audit --no-fund --loglevel=error hls.js@$(HLS_JS_VERSION); \
	then touch $@; else echo "hls.js was not installed: in-browser HLS playback is unavailable" >&2; fi

$(MPEGTS_JS): $(HLS_JS)
	@if npm install --prefix $(UI_VENDOR) --no-audit --no-fund --loglevel=error mpegts.js@$(MPEGTS_JS_VERSION); \
	then touch $@; else echo "mpegts.js was not installed: in-browser MPEG-TS playback is unavailable" >&2; fi

$(AXE_CORE): $(MPEGTS_JS)
	@if npm install --prefix $(UI_VENDOR) --no-audit --no-fund --loglevel=error axe-core@$(AXE_CORE_VERSION); \
	then touch $@; else echo "axe-core was not installed: the accessibility checks are skipped" >&2; fi

lint: $(STAMP_TEST)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP_TEST)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(STAMP_TEST)
	$(BIN)/mypy

contracts: $(STAMP_TEST)
	$(BIN)/lint-imports

# Full-length proofs (soaks, long guide-vs-picture runs): minutes each, not part of `make test`.
slow: system-test $(STAMP_TEST) $(HLS_JS) $(MPEGTS_JS) $(AXE_CORE)
	$(BIN)/pytest -m soak -rP

# The hardening suite (the seed plans' sections, tests/hardening_sections.py) with its count,
# then the static checks as an operator runs them against the installed package.
hardening: system-test $(STAMP_TEST)
	$(BIN)/pytest -m hardening -p no:randomly -q
	$(BIN)/exstreamtv verify restart-path
	$(BIN)/exstreamtv verify async --scope agent
	$(BIN)/exstreamtv verify async --scope metadata
	$(BIN)/exstreamtv verify async --scope monitoring

unit: $(STAMP_TEST)
	$(BIN)/pytest -m "not postgres and not slow and not soak" -q

# compare.py runs guide, playout, spawn, startup and stream, and prints their figures
# against bench/baseline.json (exit 1 on a regression or a missed target).
bench: system-test $(STAMP_TEST) $(HLS_JS) $(MPEGTS_JS)
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/guide_page.py
	$(BIN)/python bench/catchup.py
	$(BIN)/python bench/baselines.py
	$(BIN)/python bench/compare.py

docs:
	@echo "User documentation lives in README.md and docs/ (plain Markdown, no build step)."

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
