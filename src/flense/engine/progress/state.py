"""Vertex state folded from BuildKit's Status stream, and the counts over it.

``_BuildTrace.apply`` folds one ``StatusResponse`` into one ``_VertexState``
per vertex and returns what changed, which the renderers print.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from flense.engine.proto import control_pb2

logger = logging.getLogger(__name__)

# Log lines kept per vertex for the failed-step report, as many as buildctl
# keeps (logsBufferSize in BuildKit's util/progress/progressui/printer.go).
ERROR_LOG_LINES = 10

# BuildKit ends the error of a vertex it stopped because the build was
# canceled (often after another vertex failed) with Go's context.Canceled text.
CANCELED_SUFFIX = "context canceled"

# Status IDs whose byte counters count as transferred: local sources sent by
# the client ("transferring context:") and image layers pulled by the daemon
# (a layer's status ID is its digest).
TRANSFER_STATUS_PREFIXES = ("transferring ", "sha256:")


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
