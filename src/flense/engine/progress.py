"""The build progress display: renders BuildKit's ``Status`` stream for a user.

BuildKit reports a build as a stream of ``StatusResponse`` messages. Each
message carries vertices (build steps), statuses (progress items of a step,
such as ``transferring context:`` with a byte count), log output and
warnings. The stream is incremental: a vertex digest arrives again whenever
it starts, finishes, fails or turns out to be cached. ``Progress`` folds the
stream into one record per vertex and renders it in one of these modes,
chosen with ``--progress``:

``auto`` (default)
    ``tty`` when the output stream is a terminal (and ``TERM`` is not
    ``dumb``), otherwise ``plain``.

``tty``
    A live view, redrawn about ten times a second: running steps with their
    elapsed time, byte counters of transfers and the last log lines of each
    running step. Finished steps collapse into a count. When the build ends,
    the view is replaced by a list of the steps that ran (cached steps are
    counted in one line). Requires a terminal.

``plain``
    Line-oriented output in the format of ``buildctl --progress plain``
    (BuildKit's ``util/progress/progressui``). Step N prints ``#N <name>``
    when it starts and ``#N <status id> <bytes> <seconds>`` for its progress
    items. Each log line prints as ``#N <seconds> <text>``, with the seconds
    since the step started, and a warning as ``#N WARN: <text>``. When the
    step ends, it prints one of ``#N DONE 0.4s``, ``#N CACHED``,
    ``#N ERROR: <message>`` or ``#N CANCELED``.
    Steps are numbered in the order they are first printed. A step that is
    interrupted by another step's output is closed with ``#N ...`` and
    reopened with its ``#N <name>`` line. Like buildctl, the output of one
    running step is held back for up to 10 s while another running step
    has the display, so parallel steps do not alternate line by line. A
    progress item's line is repeated only after it has moved by 5 % of its
    total or after 5 s, so transferring a context of many files prints a
    few lines, not one per file. Output is printed at most every 0.1 s, so
    a progress item that changes several times in between prints once.

``quiet``
    Nothing while the build runs. At the end, the failed steps (see below).

``rawjson``
    One JSON object per ``StatusResponse``, in the shape of buildctl's
    ``--progress rawjson`` (``vertexes``, ``statuses``, ``logs``,
    ``warnings``, with log data in base64), and a last object
    ``{"summary": {...}}`` with the counts of the summary line.

In every mode, a failed step is reported at the end as ``docker buildx``
does: its name (``[component] step``), its last 10 log lines and the
error, between ``------`` lines. Every mode except ``quiet`` and
``rawjson`` ends with one summary line: steps run, steps cached, bytes
transferred, total time and the result the caller passes to ``finish``.
The error passed to ``finish`` is not printed, because the CLI prints it.

``Progress.update`` may be called from any thread (the gRPC thread that
reads the stream). The ``tty`` view renders from rich's refresh thread, and
``plain`` output that is held back is printed by a background thread while
``Progress`` is used as a context manager. Without the ``with`` block it is
printed at the next ``update`` that comes 0.1 s after the previous print,
and at ``finish``.
"""

from __future__ import annotations

import base64
import collections
import enum
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from flense.engine.proto import control_pb2
from flense.errors import UsageError

logger = logging.getLogger(__name__)

# Limits of buildctl's plain printer, taken from BuildKit's
# util/progress/progressui (printer.go and display.go, 2026 master branch).
ANTI_FLICKER_SECONDS = 5.0
MAX_HOLD_SECONDS = 10.0
STATUS_MIN_SECONDS = 5.0
STATUS_MIN_FRACTION = 0.05
ERROR_LOG_LINES = 10
PLAIN_MIN_INTERVAL_SECONDS = 0.1
PLAIN_TICK_SECONDS = 0.15

TTY_LOG_LINES = 6
TTY_RECENT_FINISHED = 3
TTY_REFRESH_PER_SECOND = 10

# BuildKit ends the error of a vertex it stopped because the build was
# canceled (often after another vertex failed) with Go's context.Canceled text.
CANCELED_SUFFIX = "context canceled"

# Status IDs whose byte counters count as transferred: local sources sent by
# the client ("transferring context:") and image layers pulled by the daemon
# (a layer's status ID is its digest).
TRANSFER_STATUS_PREFIXES = ("transferring ", "sha256:")


class ProgressMode(enum.Enum):
    """Output mode of the progress display, as named by ``--progress``."""

    AUTO = "auto"
    TTY = "tty"
    PLAIN = "plain"
    QUIET = "quiet"
    RAWJSON = "rawjson"

    @classmethod
    def parse(cls, value: ProgressMode | str) -> ProgressMode:
        """Convert a ``--progress`` value. Raise UsageError for an unknown one."""
        if isinstance(value, ProgressMode):
            return value
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(mode.value for mode in cls)
            raise UsageError(
                f"invalid progress mode {value!r}: use one of {names}"
            ) from None


@dataclass(frozen=True)
class ProgressStats:
    """Counts over the vertices of one build."""

    vertices: int
    """Distinct vertices reported by BuildKit, including ``[internal]`` ones."""
    cached: int
    """Vertices that BuildKit took from its cache."""
    completed: int
    """Vertices that finished without error, cached ones included."""
    errored: int
    """Vertices that failed, not counting the ones BuildKit canceled."""
    canceled: int
    """Vertices that BuildKit stopped because the build was canceled."""
    bytes_transferred: int
    """Bytes of local sources sent to BuildKit plus bytes of pulled layers."""
    duration_seconds: float
    """Wall-clock time from creating the display to ``finish`` (or to now)."""

    @property
    def run(self) -> int:
        """Vertices that BuildKit executed and finished without error."""
        return self.completed - self.cached


@dataclass(frozen=True)
class VertexRecord:
    """The final known state of one vertex (build step)."""

    digest: str
    name: str
    cached: bool
    started: float | None
    """Unix time in seconds, by the daemon's clock, of the latest start."""
    completed: float | None
    """Unix time in seconds, by the daemon's clock, or None while it runs."""
    error: str

    @property
    def duration_seconds(self) -> float | None:
        if self.started is None or self.completed is None:
            return None
        return self.completed - self.started


@dataclass
class _StatusState:
    id: str
    current: int = 0
    total: int = 0
    timestamp: float | None = None
    started: float | None = None
    completed: float | None = None


@dataclass
class _LogLine:
    offset: float
    """Seconds from the start of the vertex to the log message."""
    text: str


@dataclass
class _VertexState:
    digest: str
    name: str = ""
    cached: bool = False
    error: str = ""
    # Start time -> completion time (None while running), one entry per run.
    intervals: dict[float, float | None] = field(default_factory=dict)
    statuses: dict[str, _StatusState] = field(default_factory=dict)
    recent_logs: collections.deque[_LogLine] = field(
        default_factory=lambda: collections.deque(maxlen=ERROR_LOG_LINES)
    )
    partial_log: bytearray = field(default_factory=bytearray)
    partial_log_offset: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def is_started(self) -> bool:
        return bool(self.intervals)

    @property
    def started(self) -> float | None:
        return max(self.intervals) if self.intervals else None

    @property
    def completed(self) -> float | None:
        started = self.started
        return None if started is None else self.intervals[started]

    @property
    def is_completed(self) -> bool:
        return self.completed is not None

    @property
    def is_canceled(self) -> bool:
        return self.error.endswith(CANCELED_SUFFIX)

    @property
    def is_failed(self) -> bool:
        return bool(self.error) and not self.is_canceled

    def run_seconds(self, now: float | None = None) -> float:
        """Sum the vertex's run intervals, counting overlapping runs once.

        ``now`` (daemon clock) ends an interval that is still open.
        """
        spans = []
        for start, stop in sorted(self.intervals.items()):
            end = stop if stop is not None else now
            if end is not None:
                spans.append((start, max(start, end)))
        total = 0.0
        covered_until = float("-inf")
        for start, end in spans:
            start = max(start, covered_until)
            if end > start:
                total += end - start
                covered_until = end
        return total

    def record(self) -> VertexRecord:
        return VertexRecord(
            digest=self.digest,
            name=self.name,
            cached=self.cached,
            started=self.started,
            completed=self.completed,
            error=self.error,
        )


@dataclass
class _VertexNews:
    """Changes that one StatusResponse made to one vertex, for the plain printer."""

    changed: bool = False
    status_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    logs: list[_LogLine] = field(default_factory=list)


class _BuildTrace:
    """The state of every vertex, folded from the StatusResponse stream."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.vertices: dict[str, _VertexState] = {}
        # Local clock minus daemon clock, measured when the first vertex
        # starts, so that the elapsed time of running steps uses local time.
        self.clock_offset: float | None = None

    def daemon_now(self) -> float:
        return self._clock() - (self.clock_offset or 0.0)

    def apply(self, response: control_pb2.StatusResponse) -> dict[str, _VertexNews]:
        news: dict[str, _VertexNews] = {}
        for vertex in response.vertexes:
            self._apply_vertex(vertex, news)
        for status in response.statuses:
            self._apply_status(status, news)
        for warning in response.warnings:
            self._apply_warning(warning, news)
        for log in response.logs:
            self._apply_log(log, news)
        for digest in news:
            state = self.vertices[digest]
            if state.is_completed and state.partial_log:
                self._end_partial_log(state, news[digest])
        return news

    def _apply_vertex(
        self, vertex: control_pb2.Vertex, news: dict[str, _VertexNews]
    ) -> None:
        # NOTE: progressGroup is ignored, so each member of a group shows as
        # its own step. buildctl instead merges a group into one entry.
        state = self.vertices.get(vertex.digest)
        if state is None:
            state = _VertexState(digest=vertex.digest)
            self.vertices[vertex.digest] = state
        before = (state.name, state.cached, state.error, dict(state.intervals))

        if vertex.name:
            state.name = vertex.name
        state.cached = vertex.cached
        state.error = vertex.error
        if vertex.HasField("started"):
            started = _seconds(vertex.started)
            if self.clock_offset is None:
                self.clock_offset = self._clock() - started
            completed = None
            if vertex.HasField("completed"):
                completed = _seconds(vertex.completed)
            state.intervals[started] = completed

        after = (state.name, state.cached, state.error, state.intervals)
        if state.is_started and before != after:
            news.setdefault(vertex.digest, _VertexNews()).changed = True

    def _apply_status(
        self, status: control_pb2.VertexStatus, news: dict[str, _VertexNews]
    ) -> None:
        state = self.vertices.get(status.vertex)
        if state is None:
            logger.debug("status %r for unknown vertex %s", status.ID, status.vertex)
            return
        item = state.statuses.setdefault(status.ID, _StatusState(id=status.ID))
        item.current = status.current
        item.total = status.total
        item.timestamp = _optional_seconds(status, "timestamp")
        item.started = _optional_seconds(status, "started")
        item.completed = _optional_seconds(status, "completed")
        status_ids = news.setdefault(status.vertex, _VertexNews()).status_ids
        if status.ID not in status_ids:
            status_ids.append(status.ID)

    def _apply_warning(
        self, warning: control_pb2.VertexWarning, news: dict[str, _VertexNews]
    ) -> None:
        state = self.vertices.get(warning.vertex)
        if state is None:
            logger.debug("warning for unknown vertex %s", warning.vertex)
            return
        text = warning.short.decode("utf-8", "replace")
        state.warnings.append(text)
        news.setdefault(warning.vertex, _VertexNews()).warnings.append(text)

    def _apply_log(
        self, log: control_pb2.VertexLog, news: dict[str, _VertexNews]
    ) -> None:
        state = self.vertices.get(log.vertex)
        if state is None:
            logger.debug("log for unknown vertex %s", log.vertex)
            return
        started = state.started
        timestamp = _optional_seconds(log, "timestamp")
        offset = 0.0
        if started is not None and timestamp is not None:
            offset = timestamp - started
        vertex_news = news.setdefault(log.vertex, _VertexNews())

        # A message may end inside a line. The partial line waits for its end
        # and keeps the time of its first part, as buildctl shows it.
        data = bytes(log.msg)
        while data:
            if not state.partial_log:
                state.partial_log_offset = offset
            line, newline, data = data.partition(b"\n")
            state.partial_log += line
            if not newline:
                break
            self._end_partial_log(state, vertex_news)

    def _end_partial_log(self, state: _VertexState, vertex_news: _VertexNews) -> None:
        text = state.partial_log.decode("utf-8", "replace").removesuffix("\r")
        line = _LogLine(offset=state.partial_log_offset, text=text)
        state.partial_log.clear()
        state.recent_logs.append(line)
        vertex_news.logs.append(line)

    def stats(self, duration_seconds: float) -> ProgressStats:
        vertices = self.vertices.values()
        transferred = 0
        for state in vertices:
            for item in state.statuses.values():
                if item.id.startswith(TRANSFER_STATUS_PREFIXES):
                    transferred += item.current
        return ProgressStats(
            vertices=len(self.vertices),
            cached=sum(
                1 for v in vertices if v.cached and v.is_completed and not v.error
            ),
            completed=sum(1 for v in vertices if v.is_completed and not v.error),
            errored=sum(1 for v in vertices if v.is_failed),
            canceled=sum(1 for v in vertices if v.is_canceled),
            bytes_transferred=transferred,
            duration_seconds=duration_seconds,
        )


class _Timestamp(Protocol):
    """The fields of google.protobuf.Timestamp that the display reads."""

    seconds: int
    nanos: int


def _seconds(timestamp: _Timestamp) -> float:
    return timestamp.seconds + timestamp.nanos / 1e9


def _optional_seconds(message: Any, name: str) -> float | None:
    if not message.HasField(name):
        return None
    return _seconds(getattr(message, name))


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
    counts = [f"{stats.run} steps run", f"{stats.cached} cached"]
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


class _Display:
    """Base of the renderers. The caller holds the Progress lock in update."""

    def update(
        self,
        response: control_pb2.StatusResponse,
        news: dict[str, _VertexNews],
        now: float,
    ) -> None:
        pass

    def refresh(self, now: float) -> None:
        pass

    def finish(
        self, stats: ProgressStats, result: str | None, error: BaseException | None
    ) -> None:
        pass


class _QuietDisplay(_Display):
    def __init__(self, stream: TextIO, trace: _BuildTrace) -> None:
        self._stream = stream
        self._trace = trace

    def finish(
        self, stats: ProgressStats, result: str | None, error: BaseException | None
    ) -> None:
        for line in _error_report(self._trace):
            self._stream.write(line + "\n")
        self._stream.flush()


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
        self._last_print = float("-inf")
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
                self._print_vertex(digest, now)
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

    def _print_vertex(self, digest: str, now: float) -> None:
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
            if item.started is not None and self._should_print_status(digest, item):
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

    def _should_print_status(self, digest: str, item: _StatusState) -> bool:
        key = (digest, item.id)
        moment = item.timestamp if item.timestamp is not None else 0.0
        last = self._last_status.get(key)
        if last is not None and item.completed is None:
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


class _ViewRows:
    """Rows of the tty view: step lines in aligned columns, text lines in full.

    Step lines have a name, a byte counter and a time. Consecutive step lines
    share one table, and log and error lines span the whole width.
    """

    TIME_WIDTH = 7

    def __init__(self, width: int) -> None:
        # "999.99MB / 999.99MB" is 19 characters and "999.99MB" is 8. A narrow
        # terminal shows the short form cut with an ellipsis.
        self._status_width = 20 if width >= 70 else 9
        self._renderables: list[RenderableType] = []
        self._table: Table | None = None

    def add_step(self, name: Text, status: str = "", seconds: str = "") -> None:
        if self._table is None:
            # Fixed widths keep the columns of separate tables aligned.
            # NOTE: rich 15 does not expand a grid whose columns are sized by
            # content when one column holds only empty strings.
            self._table = Table.grid(expand=True)
            self._table.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
            self._table.add_column(
                justify="right",
                no_wrap=True,
                overflow="ellipsis",
                width=self._status_width,
            )
            self._table.add_column(justify="right", no_wrap=True, width=self.TIME_WIDTH)
            self._renderables.append(self._table)
        style = name.style
        self._table.add_row(name, Text(status, style=style), Text(seconds, style=style))

    def add_text(self, text: str, style: str = "") -> None:
        self._table = None
        self._renderables.append(
            Text(text, style=style, no_wrap=True, overflow="ellipsis")
        )

    def group(self) -> Group:
        return Group(*self._renderables)


class _TtyView:
    """Renderer of the vertices as rich renderables for the terminal."""

    def __init__(self, trace: _BuildTrace, title: str) -> None:
        self._trace = trace
        self._title = title

    def render_live(self, elapsed: float, width: int, height: int) -> RenderableType:
        trace = self._trace
        daemon_now = trace.daemon_now()
        started = [s for s in trace.vertices.values() if s.is_started]
        running = [s for s in started if not s.is_completed]
        failed = [s for s in started if s.is_completed and s.error]
        finished = [s for s in started if s.is_completed and not s.error]
        finished.sort(key=lambda s: s.completed or 0.0)
        recent = finished[-TTY_RECENT_FINISHED:]
        older = finished[: len(finished) - len(recent)]

        # Fit the view into the terminal: fewer log lines per running step
        # first, then no recently finished steps. Rich cuts what still does
        # not fit and marks the cut with an ellipsis.
        available = height - 1
        fixed = 1 + (1 if older else 0) + 2 * len(failed)
        steps = sum(1 + len(self._visible_statuses(s)) for s in running)
        log_limit = TTY_LOG_LINES
        while log_limit > 0:
            logs = sum(min(log_limit, len(self._log_tail(s))) for s in running)
            if fixed + len(recent) + steps + logs <= available:
                break
            log_limit //= 2
        if fixed + len(recent) + steps > available:
            recent = []
            older = finished

        rows = _ViewRows(width)
        if older:
            cached = sum(1 for s in older if s.cached)
            noun = "step" if len(older) == 1 else "steps"
            rows.add_text(f" => {len(older)} {noun} finished, {cached} cached", "dim")
        for state in recent:
            self._add_vertex(rows, state, daemon_now, with_statuses=False)
        for state in failed:
            self._add_vertex(rows, state, daemon_now, with_statuses=False)
            rows.add_text(f"    {state.error}", "red")
        for state in running:
            self._add_vertex(rows, state, daemon_now, with_statuses=True)
            if log_limit:
                for line in self._log_tail(state)[-log_limit:]:
                    rows.add_text(f" => => # {line}", "dim")
        return Group(self._header(elapsed, final=False), rows.group())

    def render_final(self, elapsed: float, width: int, outcome: str) -> RenderableType:
        """Render every step that ran, and one line counting the cached ones."""
        daemon_now = self._trace.daemon_now()
        rows = _ViewRows(width)
        cached = 0
        for state in self._trace.vertices.values():
            if not state.is_started:
                continue
            if state.cached and not state.error:
                cached += 1
                continue
            self._add_vertex(rows, state, daemon_now, with_statuses=True)
        if cached:
            noun = "step" if cached == 1 else "steps"
            rows.add_text(f" => CACHED {cached} {noun}", "blue")
        return Group(self._header(elapsed, final=True, outcome=outcome), rows.group())

    def _header(self, elapsed: float, final: bool, outcome: str = "") -> Table:
        vertices = self._trace.vertices.values()
        done = sum(1 for s in vertices if s.is_completed)
        left = Text(f"[+] Building {elapsed:.1f}s ({done}/{len(vertices)})")
        if final and outcome:
            style = {"FINISHED": "green", "FAILED": "red"}.get(outcome, "yellow")
            left.append(f" {outcome}", style=style)
        header = Table.grid(expand=True)
        header.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        header.add_column(justify="right", no_wrap=True, overflow="ellipsis")
        header.add_row(left, Text(self._title or " ", style="dim"))
        return header

    def _add_vertex(
        self,
        rows: _ViewRows,
        state: _VertexState,
        daemon_now: float,
        with_statuses: bool,
    ) -> None:
        name = state.name.replace("\t", " ")
        if state.is_canceled:
            name, style = "CANCELED " + name, "yellow"
        elif state.error:
            name, style = "ERROR " + name, "red"
        elif state.cached:
            name, style = "CACHED " + name, "blue"
        elif state.is_completed:
            style = "blue"
        else:
            style = "bold"
        seconds = state.run_seconds(daemon_now)
        rows.add_step(Text(f" => {name}", style=style), "", f"{seconds:.1f}s")
        if with_statuses:
            for item in self._visible_statuses(state):
                end = item.completed if item.completed is not None else daemon_now
                elapsed = max(0.0, end - (item.started or end))
                item_style = "blue" if item.completed is not None else ""
                rows.add_step(
                    Text(f" => => {item.id}", style=item_style),
                    _format_status_bytes(item),
                    f"{elapsed:.1f}s",
                )
        for warning in state.warnings:
            rows.add_text(f" => WARN: {warning}", "yellow")

    @staticmethod
    def _visible_statuses(state: _VertexState) -> list[_StatusState]:
        return [s for s in state.statuses.values() if s.started is not None]

    @staticmethod
    def _log_tail(state: _VertexState) -> list[str]:
        lines = [log.text for log in state.recent_logs]
        if state.partial_log:
            lines.append(state.partial_log.decode("utf-8", "replace"))
        # A carriage return redraws a line in place (progress bars), so only
        # the text after the last one is what a terminal would show.
        return [line.rsplit("\r", 1)[-1] for line in lines]


class _TtyDisplay(_Display):
    """The live view (rich.live.Live) while the build runs, then the final list."""

    def __init__(
        self,
        console: Console,
        trace: _BuildTrace,
        title: str,
        lock: threading.RLock,
        clock: Callable[[], float],
        started_at: float,
    ) -> None:
        self._console = console
        self._trace = trace
        self._lock = lock
        self._clock = clock
        self._started_at = started_at
        self.view = _TtyView(trace, title)
        self._live = Live(
            console=console,
            auto_refresh=True,
            refresh_per_second=TTY_REFRESH_PER_SECOND,
            transient=True,
            get_renderable=self.render_live,
            # Standard output may carry build output (a tar stream, a
            # digest), so only stderr goes through the live display, and
            # only when the display is drawn on it.
            redirect_stdout=False,
            redirect_stderr=console.file is sys.stderr,
        )
        self._live_started = False
        self._last_frame: RenderableType = Text("")

    def render_live(self) -> RenderableType:
        # Live calls this holding its own lock. Waiting for the Progress lock
        # could deadlock with a thread that holds it and writes to the
        # redirected stderr, so a busy lock shows the previous frame.
        if not self._lock.acquire(timeout=0.05):
            return self._last_frame
        try:
            elapsed = self._clock() - self._started_at
            width, height = self._console.size
            frame = self.view.render_live(elapsed, width, height)
        finally:
            self._lock.release()
        self._last_frame = frame
        return frame

    def update(
        self,
        response: control_pb2.StatusResponse,
        news: dict[str, _VertexNews],
        now: float,
    ) -> None:
        # Live.start renders once on this thread, which already holds the
        # reentrant Progress lock, so render_live does not block.
        if not self._live_started:
            self._live_started = True
            self._live.start()

    def finish(
        self, stats: ProgressStats, result: str | None, error: BaseException | None
    ) -> None:
        # Called without the Progress lock: Live.stop waits for its refresh
        # thread, which may be waiting for that lock inside render_live.
        if self._live_started:
            self._live.stop()
        if isinstance(error, KeyboardInterrupt):
            outcome = "CANCELED"
        elif error is not None or stats.errored:
            outcome = "FAILED"
        else:
            outcome = "FINISHED"
        console = self._console
        if self._trace.vertices:
            final = self.view.render_final(
                stats.duration_seconds, console.size.width, outcome
            )
            console.print(final)
        for line in _error_report(self._trace):
            style = "red" if line.startswith("ERROR") else ""
            console.print(Text(line, style=style), soft_wrap=True)
        style = "green" if outcome == "FINISHED" else "red"
        summary = Text(_summary_line(stats, result, error), style=style)
        console.print(summary, soft_wrap=True)


class _RawJsonDisplay(_Display):
    """Printer of each StatusResponse as one JSON object, in buildctl's shape."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def update(
        self,
        response: control_pb2.StatusResponse,
        news: dict[str, _VertexNews],
        now: float,
    ) -> None:
        self._stream.write(json.dumps(status_to_json(response)) + "\n")
        self._stream.flush()

    def finish(
        self, stats: ProgressStats, result: str | None, error: BaseException | None
    ) -> None:
        summary: dict[str, Any] = {
            "vertices": stats.vertices,
            "run": stats.run,
            "cached": stats.cached,
            "errored": stats.errored,
            "canceled": stats.canceled,
            "bytesTransferred": stats.bytes_transferred,
            "durationSeconds": round(stats.duration_seconds, 3),
            "result": result,
            "error": None if error is None else str(error) or type(error).__name__,
        }
        self._stream.write(json.dumps({"summary": summary}) + "\n")
        self._stream.flush()


def status_to_json(response: control_pb2.StatusResponse) -> dict[str, Any]:
    """Convert a StatusResponse to the JSON shape of buildctl's ``rawjson``.

    Field names follow BuildKit's ``client.SolveStatus`` JSON tags. Bytes are
    base64, and times are RFC 3339 strings in UTC.
    """
    # NOTE: the source information and ranges of warnings are left out.
    document: dict[str, Any] = {}
    if response.vertexes:
        document["vertexes"] = [_vertex_json(v) for v in response.vertexes]
    if response.statuses:
        document["statuses"] = [_status_json(s) for s in response.statuses]
    if response.logs:
        document["logs"] = [_log_json(log) for log in response.logs]
    if response.warnings:
        document["warnings"] = [_warning_json(w) for w in response.warnings]
    return document


def _vertex_json(vertex: control_pb2.Vertex) -> dict[str, Any]:
    item: dict[str, Any] = {"digest": vertex.digest}
    if vertex.inputs:
        item["inputs"] = list(vertex.inputs)
    if vertex.name:
        item["name"] = vertex.name
    for name in ("started", "completed"):
        if vertex.HasField(name):
            item[name] = getattr(vertex, name).ToJsonString()
    if vertex.cached:
        item["cached"] = True
    if vertex.error:
        item["error"] = vertex.error
    return item


def _status_json(status: control_pb2.VertexStatus) -> dict[str, Any]:
    item: dict[str, Any] = {"id": status.ID, "vertex": status.vertex}
    if status.name:
        item["name"] = status.name
    if status.total:
        item["total"] = status.total
    item["current"] = status.current
    item["timestamp"] = status.timestamp.ToJsonString()
    for name in ("started", "completed"):
        if status.HasField(name):
            item[name] = getattr(status, name).ToJsonString()
    return item


def _log_json(log: control_pb2.VertexLog) -> dict[str, Any]:
    return {
        "vertex": log.vertex,
        "stream": log.stream,
        "data": base64.b64encode(log.msg).decode("ascii"),
        "timestamp": log.timestamp.ToJsonString(),
    }


def _warning_json(warning: control_pb2.VertexWarning) -> dict[str, Any]:
    item: dict[str, Any] = {"vertex": warning.vertex}
    if warning.level:
        item["level"] = warning.level
    if warning.short:
        item["short"] = base64.b64encode(warning.short).decode("ascii")
    if warning.detail:
        item["detail"] = [base64.b64encode(d).decode("ascii") for d in warning.detail]
    if warning.url:
        item["url"] = warning.url
    return item


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


class Progress:
    """The progress display of one build. The module docstring lists the modes.

    Pass ``update`` as the engine client's status callback, then call
    ``finish`` with the result. ``console`` replaces the rich console that
    ``tty`` mode would create on ``stream``, and ``clock`` (Unix seconds)
    replaces ``time.time``; tests use both.
    """

    def __init__(
        self,
        mode: ProgressMode | str = "auto",
        stream: TextIO = sys.stderr,
        title: str = "",
        *,
        console: Console | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        requested = ProgressMode.parse(mode)
        is_terminal = console.is_terminal if console else _is_terminal(stream)
        if requested is ProgressMode.AUTO:
            requested = ProgressMode.TTY if is_terminal else ProgressMode.PLAIN
        if requested is ProgressMode.TTY and not is_terminal:
            raise UsageError(
                "progress mode 'tty' needs a terminal, but the output is not one: "
                "use --progress=plain"
            )
        self.mode = requested
        self._clock = clock
        self._started_at = clock()
        self._finished_at: float | None = None
        self._lock = threading.RLock()
        self._trace = _BuildTrace(clock)
        self._ticker: threading.Thread | None = None
        self._ticker_stop = threading.Event()
        self._display = self._create_display(stream, title, console)

    def _create_display(
        self, stream: TextIO, title: str, console: Console | None
    ) -> _Display:
        if self.mode is ProgressMode.TTY:
            console = console or Console(file=stream)
            return _TtyDisplay(
                console, self._trace, title, self._lock, self._clock, self._started_at
            )
        if self.mode is ProgressMode.PLAIN:
            return _PlainDisplay(stream, self._trace, title)
        if self.mode is ProgressMode.RAWJSON:
            return _RawJsonDisplay(stream)
        return _QuietDisplay(stream, self._trace)

    def __enter__(self) -> Progress:
        if isinstance(self._display, _PlainDisplay):
            self._ticker = threading.Thread(
                target=self._tick, name="flense-progress", daemon=True
            )
            self._ticker.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.finish(error=exc)

    def _tick(self) -> None:
        while not self._ticker_stop.wait(PLAIN_TICK_SECONDS):
            with self._lock:
                if self._finished_at is not None:
                    return
                self._display.refresh(self._clock() - self._started_at)

    def update(self, status: control_pb2.StatusResponse) -> None:
        """Fold one StatusResponse into the display. Thread-safe.

        Updates that arrive after ``finish`` are ignored.
        """
        with self._lock:
            if self._finished_at is not None:
                return
            news = self._trace.apply(status)
            self._display.update(status, news, self._clock() - self._started_at)

    def finish(
        self, result: str | None = None, error: BaseException | None = None
    ) -> None:
        """Print what is held back, the failed steps and the summary line.

        ``result`` names what the build produced (image name, digest or
        output path). Only the first call has an effect.
        """
        with self._lock:
            if self._finished_at is not None:
                return
            self._finished_at = self._clock()
            stats = self._stats_locked()
        self._ticker_stop.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join()
        # The trace no longer changes, so the display may read it unlocked.
        self._display.finish(stats, result, error)

    @property
    def stats(self) -> ProgressStats:
        """Counts over the vertices seen so far."""
        with self._lock:
            return self._stats_locked()

    def _stats_locked(self) -> ProgressStats:
        end = self._finished_at if self._finished_at is not None else self._clock()
        return self._trace.stats(end - self._started_at)

    def vertices(self) -> list[VertexRecord]:
        """Return one record per vertex, in the order BuildKit first sent them."""
        with self._lock:
            return [state.record() for state in self._trace.vertices.values()]

    def view(self, width: int = 100, height: int | None = None) -> RenderableType:
        """Render the live ``tty`` view of the current state (any mode).

        ``width`` and ``height`` are the terminal size in columns and lines
        that the layout is for. Without a height, no log line is left out.
        """
        with self._lock:
            view = _TtyView(self._trace, "")
            elapsed = self._clock() - self._started_at
            return view.render_live(elapsed, width, height or sys.maxsize)
