"""The ``plain`` mode: buildctl's line format, with its throttling of output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from flense.engine.progress.display import _Display
from flense.engine.progress.formatting import _format_log_offset, _format_status_bytes
from flense.engine.progress.state import (
    ProgressStats,
    _BuildTrace,
    _LogLine,
    _StatusState,
    _VertexNews,
)
from flense.engine.progress.summary import _error_report, _summary_line
from flense.engine.proto import control_pb2

# Limits of buildctl's plain printer, taken from BuildKit's
# util/progress/progressui (printer.go and display.go, 2026 master branch).
ANTI_FLICKER_SECONDS = 5.0
MAX_HOLD_SECONDS = 10.0
STATUS_MIN_SECONDS = 5.0
STATUS_MIN_FRACTION = 0.05
PLAIN_MIN_INTERVAL_SECONDS = 0.1
PLAIN_TICK_SECONDS = 0.15


@dataclass
class _PendingOutput:
    since: float
    changed: bool = False
    status_ids: dict[str, None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    logs: list[_LogLine] = field(default_factory=list)


class _PlainDisplay(_Display):
    """Printer of buildctl's ``--progress plain`` format."""

    def __init__(self, stream: TextIO, trace: _BuildTrace, title: str) -> None:
        self._stream = stream
        self._trace = trace
        self._title = title
        self._index: dict[str, int] = {}
        self._pending: dict[str, _PendingOutput] = {}
        self._current: str | None = None
        self._current_since = 0.0
        self._printed_any = False
        # Seconds since the build started of the last print. Starting at 0.0
        # delays the first output by PLAIN_MIN_INTERVAL_SECONDS too, so a
        # local source that BuildKit completes and starts again at once (its
        # cache check, then the transfer) prints DONE once, after its transfer.
        self._last_print = 0.0
        # (vertex digest, status ID) -> (current, time) of the last line printed.
        self._last_status: dict[tuple[str, str], tuple[int, float]] = {}

    def update(
        self,
        response: control_pb2.StatusResponse,
        news: dict[str, _VertexNews],
        now: float,
    ) -> None:
        for digest, vertex_news in news.items():
            pending = self._pending.get(digest)
            if pending is None:
                pending = _PendingOutput(since=now)
                self._pending[digest] = pending
            pending.changed |= vertex_news.changed
            pending.status_ids.update(dict.fromkeys(vertex_news.status_ids))
            pending.warnings += vertex_news.warnings
            pending.logs += vertex_news.logs
        # Printing at most every PLAIN_MIN_INTERVAL_SECONDS merges the many
        # small updates BuildKit sends, as buildctl does: a progress item
        # prints its latest value, and a vertex that finishes one run and
        # starts the next within the interval prints DONE once.
        if now - self._last_print >= PLAIN_MIN_INTERVAL_SECONDS:
            self.refresh(now)

    def refresh(self, now: float) -> None:
        self._last_print = now
        self._print_pending(now, final=False)
        self._stream.flush()

    def finish(
        self, stats: ProgressStats, result: str | None, error: BaseException | None
    ) -> None:
        now = stats.duration_seconds
        self._print_pending(now, final=True)
        report = _error_report(self._trace)
        if self._printed_any or report:
            self._write("")
        for line in report:
            self._write(line)
        self._write(_summary_line(stats, result, error))
        self._stream.flush()

    def _print_pending(self, now: float, final: bool) -> None:
        vertices = self._trace.vertices
        ready = [
            digest
            for digest in self._pending
            if vertices[digest].is_started or (final and vertices[digest].error)
        ]
        completed = [d for d in ready if vertices[d].is_completed]
        running = [d for d in ready if not vertices[d].is_completed]

        # Finished vertices print at once, the one on display first.
        completed.sort(key=lambda d: (d != self._current, vertices[d].completed or 0.0))
        for digest in completed:
            self._print_vertex(digest, now)

        if self._current in running:
            running.remove(self._current)
            self._print_vertex(self._current, now)
        if final:
            for digest in running:
                self._print_vertex(digest, now, final=True)
            return
        if not running:
            if self._current is None:
                self._show_open_vertex(now)
            return

        # Another running vertex takes the display when nothing is on it, when
        # the current one has had it for ANTI_FLICKER_SECONDS, or when the
        # other's output has waited MAX_HOLD_SECONDS.
        waiting = running[0]
        if (
            self._current is None
            or now - self._current_since >= ANTI_FLICKER_SECONDS
            or now - self._pending[waiting].since >= MAX_HOLD_SECONDS
        ):
            self._print_vertex(waiting, now)

    def _show_open_vertex(self, now: float) -> None:
        """Print the header of a running vertex so the output shows what runs."""
        for digest, state in self._trace.vertices.items():
            if state.is_started and not state.is_completed:
                self._print_vertex(digest, now)
                return

    def _print_vertex(self, digest: str, now: float, final: bool = False) -> None:
        state = self._trace.vertices[digest]
        pending = self._pending.pop(digest, None) or _PendingOutput(since=now)
        index = self._index.setdefault(digest, len(self._index) + 1)

        if digest != self._current:
            if self._current is not None:
                self._write(f"#{self._index[self._current]} ...")
            if self._printed_any:
                self._write("")
            elif self._title:
                self._write(f"#0 {self._title}")
                self._write("")
            self._printed_any = True
            self._write(f"#{index} {state.name}")
            self._current_since = now

        for status_id in pending.status_ids:
            item = state.statuses[status_id]
            if item.started is not None and self._should_print_status(
                digest, item, final
            ):
                self._write(f"#{index} {self._format_status(item)}")
        for warning in pending.warnings:
            self._write(f"#{index} WARN: {warning}")
        for log in pending.logs:
            self._write(f"#{index} {_format_log_offset(log.offset)} {log.text}")

        if not state.is_completed:
            self._current = digest
            return
        self._current = None
        if state.is_canceled:
            self._write(f"#{index} CANCELED")
        elif state.error:
            self._write(f"#{index} ERROR: {state.error}")
        elif state.cached:
            self._write(f"#{index} CACHED")
        else:
            self._write(f"#{index} DONE {state.run_seconds():.1f}s")

    def _should_print_status(
        self, digest: str, item: _StatusState, final: bool
    ) -> bool:
        """Apply buildctl's throttle. At the end of an unfinished build (an
        interrupt), print the latest value of every item that moved."""
        key = (digest, item.id)
        moment = item.timestamp if item.timestamp is not None else 0.0
        last = self._last_status.get(key)
        if final and last is not None and last[0] == item.current:
            return False
        if last is not None and item.completed is None and not final:
            last_current, last_moment = last
            fraction = 0.0
            if item.total > 0:
                fraction = (item.current - last_current) / item.total
            if (
                fraction < STATUS_MIN_FRACTION
                and moment - last_moment < STATUS_MIN_SECONDS
            ):
                return False
        self._last_status[key] = (item.current, moment)
        return True

    @staticmethod
    def _format_status(item: _StatusState) -> str:
        line = item.id
        amount = _format_status_bytes(item)
        if amount:
            line += " " + amount
        end = item.completed if item.completed is not None else item.timestamp
        if item.started is not None and end is not None and end - item.started > 0.01:
            line += f" {end - item.started:.1f}s"
        if item.completed is not None:
            line += " done"
        return line

    def _write(self, line: str) -> None:
        self._stream.write(line + "\n")
