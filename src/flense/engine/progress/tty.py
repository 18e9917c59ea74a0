"""The ``tty`` mode: a live view of the running steps, then the final list."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from flense.engine.progress.display import _Display
from flense.engine.progress.formatting import _format_status_bytes
from flense.engine.progress.state import (
    ProgressStats,
    _BuildTrace,
    _StatusState,
    _VertexNews,
    _VertexState,
)
from flense.engine.progress.summary import _error_report, _summary_line
from flense.engine.proto import control_pb2

TTY_LOG_LINES = 6
TTY_RECENT_FINISHED = 3
TTY_REFRESH_PER_SECOND = 10


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
