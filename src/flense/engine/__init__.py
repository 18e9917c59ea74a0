"""Client side of a BuildKit engine: control API, session and file sync."""
