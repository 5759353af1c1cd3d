"""Child processes for FFmpeg: pure argv builders (``command``) and the one process runner."""
