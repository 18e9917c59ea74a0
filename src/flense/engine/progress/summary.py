"""The end of the output: the failed-step report and the summary line."""

from __future__ import annotations

from flense.engine.progress.formatting import _format_log_offset, format_bytes
from flense.engine.progress.state import ProgressStats, _BuildTrace


def _error_report(trace: _BuildTrace) -> list[str]:
    """Format the failed vertices as buildx does: name, last log lines, error."""
    lines = []
    for state in trace.vertices.values():
        if not state.is_failed:
            continue
        lines.append("------")
        lines.append(f" > {state.name}:")
        for log in state.recent_logs:
            lines.append(f"{_format_log_offset(log.offset)} {log.text}")
        lines.append("------")
        lines.append(f"ERROR: {state.name}: {state.error}")
    return lines


def _summary_line(
    stats: ProgressStats, result: str | None, error: BaseException | None
) -> str:
    noun = "step" if stats.run == 1 else "steps"
    counts = [f"{stats.run} {noun} run", f"{stats.cached} cached"]
    if stats.errored:
        counts.append(f"{stats.errored} failed")
    counts.append(f"{format_bytes(stats.bytes_transferred)} transferred")
    seconds = f"{stats.duration_seconds:.1f}s"
    if isinstance(error, KeyboardInterrupt):
        line = f"Build canceled after {seconds}: {', '.join(counts)}."
    elif error is not None or stats.errored:
        line = f"Build failed after {seconds}: {', '.join(counts)}."
    else:
        line = f"Build finished in {seconds}: {', '.join(counts)}."
    if result and error is None and not stats.errored:
        line += f" Result: {result}"
    return line
