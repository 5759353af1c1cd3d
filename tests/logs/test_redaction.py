"""Secrets never reach a log line: registered values, URL passwords and token parameters."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from exstreamtv.logs import JsonFormatter, SecretRedactor, TextFormatter, configure_logging


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, SecretRedactor]]:
    redactor = SecretRedactor()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(redactor)
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("exstreamtv.test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield stream, redactor
    finally:
        logger.removeHandler(handler)


def test_registered_secret_is_replaced_in_message_args_and_extras(
    captured: tuple[io.StringIO, SecretRedactor],
) -> None:
    stream, redactor = captured
    redactor.register(["plex-token-abc123", None, "", "ab"])
    log = logging.getLogger("exstreamtv.test.redaction")
    log.info("fetching with %s", "plex-token-abc123", extra={"url": "x?t=plex-token-abc123"})
    assert "plex-token-abc123" not in stream.getvalue()
    assert "fetching with ***" in stream.getvalue()


def test_url_passwords_and_token_parameters_are_masked(
    captured: tuple[io.StringIO, SecretRedactor],
) -> None:
    stream, _ = captured
    log = logging.getLogger("exstreamtv.test.redaction")
    log.warning("db postgresql+asyncpg://app:s3cr3t@db:5432/x unreachable")
    log.warning("GET http://plex:32400/library?X-Plex-Token=zzTOKENzz&a=1")
    log.warning("GET http://jf/Videos/1/stream?api_key=KEY987&static=true")
    text = stream.getvalue()
    for secret in ("s3cr3t", "zzTOKENzz", "KEY987"):
        assert secret not in text
    assert "postgresql+asyncpg://app:***@db:5432/x" in text
    assert "static=true" in text


def fail_with(message: str) -> None:
    raise RuntimeError(message)


def test_secret_inside_an_exception_traceback_is_masked(
    captured: tuple[io.StringIO, SecretRedactor],
) -> None:
    stream, redactor = captured
    redactor.register(["sk-live-999999"])
    log = logging.getLogger("exstreamtv.test.redaction")
    try:
        fail_with("auth failed for key sk-live-999999")
    except RuntimeError:
        log.exception("request failed")
    assert "sk-live-999999" not in stream.getvalue()
    assert "RuntimeError: auth failed for key ***" in stream.getvalue()


def test_json_lines_carry_extras_and_stay_redacted() -> None:
    redactor = SecretRedactor()
    redactor.register(["hunter2hunter2"])
    record = logging.makeLogRecord(
        {"msg": "login %s", "args": ("hunter2hunter2",), "levelname": "INFO", "channel": "5.1"}
    )
    redactor.filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "login ***"
    assert line["channel"] == "5.1"


def test_configure_logging_installs_one_redacting_handler(
    capsys: pytest.CaptureFixture[str],
) -> None:
    redactor = SecretRedactor()
    redactor.register(["tok-abcdef"])
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging("INFO", "json", redactor)
        configure_logging("INFO", "json", redactor)
        assert len(root.handlers) == 1
        logging.getLogger("exstreamtv.x").info("token tok-abcdef used")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    err = capsys.readouterr().err
    assert "tok-abcdef" not in err and '"message": "token *** used"' in err
