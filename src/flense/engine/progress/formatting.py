"""Text forms of byte counts and times, as buildctl prints them."""

from __future__ import annotations

from flense.engine.progress.state import _StatusState


def format_bytes(count: int) -> str:
    """Format a byte count as buildctl does: ``512B``, ``1.23kB``, ``12.30MB``.

    Units are decimal (1 kB = 1000 B), and counts under 1000 are whole bytes.
    """
    if abs(count) < 1000:
        return f"{count}B"
    units = ("kB", "MB", "GB", "TB", "PB", "EB")
    value = count / 1000
    index = 0
    while abs(value) >= 1000 and index < len(units) - 1:
        value /= 1000
        index += 1
    return f"{value:.2f}{units[index]}"


def _format_log_offset(seconds: float) -> str:
    # buildctl keeps about four significant digits: 1.234, 12.34, 123.4.
    if seconds < 10:
        return f"{seconds:.3f}"
    if seconds < 100:
        return f"{seconds:.2f}"
    return f"{seconds:.1f}"


def _format_status_bytes(item: _StatusState) -> str:
    if item.total:
        return f"{format_bytes(item.current)} / {format_bytes(item.total)}"
    if item.current:
        return format_bytes(item.current)
    return ""
