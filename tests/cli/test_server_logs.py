"""What ``exstreamtv serve`` logs about a guide whose stream was cut short on purpose."""

from __future__ import annotations

import logging

from exstreamtv.cli.server import EndedGuides
from exstreamtv.errors import XMLTVValidationError


def record(error: BaseException) -> logging.LogRecord:
    exc_info = (type(error), error, None)
    return logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1,
                             "Exception in ASGI application\n", (), exc_info)  # fmt: skip


def test_a_guide_ended_on_a_fault_is_not_logged_again_as_a_server_error() -> None:
    fault = XMLTVValidationError("placeholder", reason="placeholder_title", channel="4")
    ended = EndedGuides()

    assert not ended.filter(record(fault))
    assert not ended.filter(record(ExceptionGroup("stream", [fault])))
    assert ended.filter(record(RuntimeError("a real bug")))  # still logged, with its traceback
    assert ended.filter(record(ExceptionGroup("two", [fault, RuntimeError("bug")])))
