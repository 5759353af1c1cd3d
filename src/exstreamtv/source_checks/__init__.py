"""Static checks of EXStreamTV's own source, run by the test suite and by
``exstreamtv verify`` against the installed package: process boundaries (one restart path)
and blocking calls in async code."""
