"""The pure playout engine: schedules in, timelines out."""
