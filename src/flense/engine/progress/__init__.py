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

The submodule ``state`` folds the stream into
vertex records and counts. ``plain``, ``tty``, ``quiet`` and ``rawjson``
each render one mode behind the interface in ``display``. ``summary``
formats the failed-step report and the summary line, and ``formatting``
the byte counts and times.
"""

from __future__ import annotations

import enum
import os
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from rich.console import Console, RenderableType

from flense.engine.progress.display import _Display
from flense.engine.progress.formatting import format_bytes
from flense.engine.progress.plain import PLAIN_TICK_SECONDS, _PlainDisplay
from flense.engine.progress.quiet import _QuietDisplay
from flense.engine.progress.rawjson import _RawJsonDisplay, status_to_json
from flense.engine.progress.state import ProgressStats, VertexRecord, _BuildTrace
from flense.engine.progress.tty import _TtyDisplay, _TtyView
from flense.engine.proto import control_pb2
from flense.errors import UsageError

__all__ = [
    "Progress",
    "ProgressMode",
    "ProgressStats",
    "VertexRecord",
    "format_bytes",
    "status_to_json",
]


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
