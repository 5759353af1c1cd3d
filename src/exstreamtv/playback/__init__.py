"""Live streams: channel sessions, the FFmpeg supervisor, tuners and HLS."""
