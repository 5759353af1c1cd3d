"""The HTTP layer: a FastAPI app whose routes parse input, call one service, render output.

Errors are mapped to RFC 9457 ``application/problem+json`` responses in one place,
:mod:`exstreamtv.web.problems`. Build the app with :func:`exstreamtv.web.app.create_app`.
"""
