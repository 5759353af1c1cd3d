"""The OpenAPI document, with every error response declared as RFC 9457 problem+json.

FastAPI documents only successes and its own 422 schema. Every operation here can also be
refused by the guards (421, 413, 429; 401 and 403 on admin routes) or by a service (404,
409, 422, 503), always with the body of :class:`~exstreamtv.web.problems.Problems`, so each
operation declares those statuses with the ``Problem`` schema under
``application/problem+json``. FastAPI's ``HTTPValidationError`` schemas are dropped.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from exstreamtv.web.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem; ``errors`` lists the fields of an invalid request.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string", "examples": ["urn:exstreamtv:problem:not-found"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "message"],
                "properties": {"loc": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "reason": {"type": "string"},
        "channel": {"type": ["string", "null"]},
    },
}
ERRORS = {
    "401": "No or wrong credentials (admin routes, or the access token on player routes).",
    "403": "A cross-site change, or a cookie-authenticated change without X-EXStreamTV-UI.",
    "404": "No such thing, or no such endpoint.",
    "405": "The path exists, not with this method (Allow lists the methods).",
    "409": "The thing exists already, or is busy.",
    "413": "The request body is over the size cap.",
    "421": "The Host header is not a name of this server.",
    "422": "The request is invalid; errors names each field.",
    "429": "Too many failed credentials from this address; see Retry-After.",
    "500": "An unexpected error; see the server log.",
    "503": "A limit or an unavailable source; see Retry-After.",
}
_DROPPED = ("HTTPValidationError", "ValidationError")


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with the error responses added (built once, cached)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _DROPPED:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERRORS.items():
                responses[status] = {"description": description, "content": content}
    app.openapi_schema = document
    return document
