"""PostgreSQL's driver is the extra ``exstreamtv[postgresql]``: without it, a PostgreSQL
URL is a configuration error that says what to install."""

from __future__ import annotations

import importlib.util

import pytest

from exstreamtv.errors import ConfigError
from exstreamtv.store.database import create_engine


def test_a_postgresql_url_without_the_driver_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "asyncpg" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install 'exstreamtv\[postgresql\]'"):
        create_engine("postgresql://u:p@127.0.0.1/x")
