# EXStreamTV. The two commands a newcomer needs are `make run` and `make test`; each sets up
# everything it needs first (a virtualenv, the package, and Debian packages when root).

PYTHON   ?= python3
VENV     ?= .venv
BIN      := $(VENV)/bin
DATA_DIR ?= data
STAMP_RUN  := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
# hls.js plays HLS in browsers without native HLS (Chromium); installed from npm, not committed.
HLS_JS_VERSION := 1.6.15
UI_VENDOR := src/exstreamtv/web/ui/vendor
HLS_JS := $(UI_VENDOR)/.hls.js-$(HLS_JS_VERSION)

# npm from Debian only when no npm is installed (a Node.js from elsewhere conflicts with it).
NPM_DEB   := $(if $(shell command -v npm),,npm)
RUN_DEBS  := ffmpeg $(NPM_DEB)
TEST_DEBS := ffmpeg xmltv-util hdhomerun-config postgresql chromium vlc-bin vlc-plugin-base prometheus $(NPM_DEB)

.PHONY: run test slow lint fmt typecheck contracts unit bench docs clean system-run system-test

run: system-run $(STAMP_RUN) $(HLS_JS)
	$(BIN)/exstreamtv serve --data-dir $(DATA_DIR)

test: system-test $(STAMP_TEST) $(HLS_JS)
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

$(STAMP_RUN): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(STAMP_TEST): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(STAMP_RUN)

# Without npm (or the registry) the server still runs; the watch page then offers MPEG-TS.
$(HLS_JS):
	@if npm install --prefix $(UI_VENDOR) --no-audit --no-fund --loglevel=error hls.js@$(HLS_JS_VERSION); \
	then touch $@; else echo "hls.js was not installed: in-browser HLS playback is unavailable" >&2; fi

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
slow: system-test $(STAMP_TEST) $(HLS_JS)
	$(BIN)/pytest -m soak

unit: $(STAMP_TEST)
	$(BIN)/pytest -m "not postgres and not slow and not soak" -q

# compare.py runs guide, playout, spawn, startup and stream, and prints their figures
# against bench/baseline.json (exit 1 on a regression or a missed target).
bench: system-test $(STAMP_TEST)
	$(BIN)/python bench/scan.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/baselines.py
	$(BIN)/python bench/compare.py

docs:
	@echo "User documentation lives in README.md and docs/ (plain Markdown, no build step)."

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
