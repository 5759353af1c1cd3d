"""HTTP routes, one module per noun. Each route parses input, calls one service and renders
the result; errors propagate to :mod:`exstreamtv.web.problems`."""
