"""``python -m exstreamtv``: the same as the ``exstreamtv`` command."""

from exstreamtv.cli.app import main

main()
