"""The ``quiet`` mode: nothing while the build runs, then the failed steps."""

from __future__ import annotations

from typing import TextIO

from flense.engine.progress.display import _Display
from flense.engine.progress.state import ProgressStats, _BuildTrace
from flense.engine.progress.summary import _error_report


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
