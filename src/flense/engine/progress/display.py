"""The interface that each renderer (plain, tty, quiet, rawjson) implements."""

from __future__ import annotations

from flense.engine.progress.state import ProgressStats, _VertexNews
from flense.engine.proto import control_pb2


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
