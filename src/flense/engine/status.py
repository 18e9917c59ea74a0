"""The Status stream of one build: delivered to a callback and kept for errors.

BuildKit reports progress incrementally: the same vertex digest arrives many
times with more fields filled (started, completed, error). flense keeps the
latest name and error of each vertex, and the end of each vertex's log, so
that a failed build can name the failing step and show its last output lines.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import grpc

from flense.engine.proto import control_pb2, control_pb2_grpc

logger = logging.getLogger(__name__)

LOG_TAIL_BYTES = 8 * 1024
LOG_TAIL_LINES = 10

StatusCallback = Callable[[control_pb2.StatusResponse], None]


@dataclass(frozen=True)
class FailedVertex:
    """The step that failed: its name, BuildKit's error and its last log lines."""

    digest: str
    name: str
    error: str
    log_tail: tuple[str, ...]


class StatusWatcher:
    """Reads ``Control.Status`` for one build ref in a background thread.

    ``on_status`` runs in that thread, once per StatusResponse.
    """

    def __init__(
        self,
        stub: control_pb2_grpc.ControlStub,
        ref: str,
        on_status: StatusCallback | None,
    ) -> None:
        self._stub = stub
        self._ref = ref
        self._on_status = on_status
        self._lock = threading.Lock()
        self._names: dict[str, str] = {}
        self._errors: dict[str, str] = {}
        self._error_order: list[str] = []
        self._logs: dict[str, bytearray] = {}
        self._call: grpc.Call | None = None
        self._cancelled = False
        self._thread = threading.Thread(
            target=self._run, name=f"status-{ref[:8]}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def wait(self, timeout: float) -> None:
        """Wait for the stream to end; cancel it if it takes longer than timeout."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.debug("status stream of %s still open; cancelling it", self._ref)
            self.cancel()
            self._thread.join(timeout)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            call = self._call
        if call is not None:
            call.cancel()

    def failed_vertex(self) -> FailedVertex | None:
        """Return the first vertex that failed for a reason other than cancellation."""
        with self._lock:
            for digest in self._error_order:
                error = self._errors[digest]
                if "context canceled" in error:
                    continue
                return FailedVertex(
                    digest,
                    self._names.get(digest, digest),
                    error,
                    _tail_lines(bytes(self._logs.get(digest, b""))),
                )
        return None

    def _run(self) -> None:
        call = self._stub.Status(control_pb2.StatusRequest(Ref=self._ref))
        with self._lock:
            self._call = call
            if self._cancelled:
                call.cancel()
        callback = self._on_status
        try:
            for response in call:
                self._record(response)
                if callback is None:
                    continue
                try:
                    callback(response)
                except Exception:
                    # A broken display must not stop the build; report it once.
                    logger.exception(
                        "the status callback failed; ignoring it from now on"
                    )
                    callback = None
        except grpc.RpcError as error:
            code = error.code()
            if code != grpc.StatusCode.CANCELLED:
                logger.debug("status stream of %s ended: %s", self._ref, error)

    def _record(self, response: control_pb2.StatusResponse) -> None:
        with self._lock:
            for vertex in response.vertexes:
                if vertex.name:
                    self._names[vertex.digest] = vertex.name
                if vertex.error and vertex.digest not in self._errors:
                    self._error_order.append(vertex.digest)
                if vertex.error:
                    self._errors[vertex.digest] = vertex.error
            for log in response.logs:
                tail = self._logs.setdefault(log.vertex, bytearray())
                tail.extend(log.msg)
                if len(tail) > LOG_TAIL_BYTES:
                    del tail[: len(tail) - LOG_TAIL_BYTES]


def _tail_lines(data: bytes) -> tuple[str, ...]:
    text = data.decode("utf-8", "replace")
    lines = [line.rstrip("\r") for line in text.splitlines() if line.strip()]
    return tuple(lines[-LOG_TAIL_LINES:])
