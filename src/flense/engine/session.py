"""The client side of a BuildKit session: a gRPC server the daemon calls.

During a build the daemon calls back into the client over one HTTP/2
connection that the client opens: to check that the client is alive
(``grpc.health.v1.Health/Check``), to read local directories
(``FileSync/DiffCopy``) and to deliver exports (``FileSend/DiffCopy``). The
client is the HTTP/2 *server* on that connection. It reaches the daemon in
one of two ways:

* dockerd: ``POST /session`` with ``Upgrade: h2c`` and the session headers;
  after ``101 Switching Protocols`` the daemon speaks HTTP/2 on the socket.
* buildkitd: the bidirectional ``Control.Session`` RPC with the same values
  as gRPC metadata; each BytesMessage carries raw HTTP/2 bytes.

In both cases flense serves gRPC on that connection itself, with the
h2-based ``GrpcConnection``: no local socket and no relay in between.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2

from flense.engine.dockerapi import DockerAPI
from flense.engine.filesync.receiver import FILE_SEND_DIFF_COPY, FileSendService
from flense.engine.filesync.sender import (
    FILE_SYNC_DIFF_COPY,
    FileSyncService,
    TransferStats,
)
from flense.engine.filesync.staging import ExportTarget
from flense.engine.h2grpc import GrpcConnection, SocketStream
from flense.engine.proto import control_pb2, control_pb2_grpc

logger = logging.getLogger(__name__)

# The daemon's session client accepts 16 MiB messages since BuildKit v0.13
# (4 MiB before); flense's own messages stay far below either limit.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# The largest message flense sends on the Control.Session stream: below the
# 4 MiB that buildkitd accepted before v0.14.
STREAM_CHUNK_BYTES = 1024 * 1024
# Control.Session messages waiting for grpcio to send them.
STREAM_QUEUE_MESSAGES = 8
# How long closing a Control.Session stream waits for the daemon to end it
# before cancelling the call.
STREAM_CLOSE_SECONDS = 5.0
# How long close() waits for export receivers that the daemon cancelled to
# return; they stop at their next read of the request stream.
RECEIVER_STOP_SECONDS = 5.0

HEALTH_CHECK = "/grpc.health.v1.Health/Check"
HEALTH_WATCH = "/grpc.health.v1.Health/Watch"
HEALTH_METHODS = (HEALTH_CHECK, HEALTH_WATCH)

HEADER_UUID = "X-Docker-Expose-Session-Uuid"
HEADER_NAME = "X-Docker-Expose-Session-Name"
HEADER_SHARED_KEY = "X-Docker-Expose-Session-Sharedkey"
HEADER_METHOD = "X-Docker-Expose-Session-Grpc-Method"


def new_id() -> str:
    """Return a random 25-character base-36 ID, the form BuildKit's Go client uses."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(25))


class Session:
    """One session: the services flense serves to the daemon during a build.

    Create it, attach it with ``attach_docker`` or ``attach_control_stream``,
    put ``id`` into ``SolveRequest.Session`` and ``close`` it when the build
    ends.
    """

    def __init__(
        self,
        *,
        local_dirs: Mapping[str, Path],
        export_targets: Mapping[int, ExportTarget],
        shared_key: str = "",
        name: str = "flense",
    ) -> None:
        for label, value in (("shared key", shared_key), ("name", name)):
            if not value.isascii() or not value.isprintable():
                raise ValueError(
                    f"invalid session {label} {value!r}: use printable ASCII only"
                )
        self.id = new_id()
        self.shared_key = shared_key
        self.name = name
        self._lock = threading.Lock()
        self._transfers: list[TransferStats] = []
        self._closers: list[Callable[[], None]] = []
        self._closed = False

        self._file_sync = FileSyncService(local_dirs, on_transfer=self._record_transfer)
        self._file_send = FileSendService(export_targets)
        health_service = _HealthService(self.id)
        self._handlers: dict[str, grpc.RpcMethodHandler] = {
            HEALTH_CHECK: grpc.unary_unary_rpc_method_handler(
                health_service.check,
                request_deserializer=health_pb2.HealthCheckRequest.FromString,
                response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
            ),
            HEALTH_WATCH: grpc.unary_stream_rpc_method_handler(
                health_service.watch,
                request_deserializer=health_pb2.HealthCheckRequest.FromString,
                response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
            ),
        }
        for service, handlers in (
            ("moby.filesync.v1.FileSync", self._file_sync.method_handlers()),
            ("moby.filesync.v1.FileSend", self._file_send.method_handlers()),
        ):
            for method, handler in handlers.items():
                self._handlers[f"/{service}/{method}"] = handler
        self.methods = (*HEALTH_METHODS, FILE_SYNC_DIFF_COPY, FILE_SEND_DIFF_COPY)

    @property
    def transfers(self) -> tuple[TransferStats, ...]:
        """Statistics of the FileSync transfers that have finished so far."""
        with self._lock:
            return tuple(self._transfers)

    def attach_docker(self, api: DockerAPI, api_version: str) -> None:
        """Open the session through dockerd's ``POST /session`` upgrade."""
        headers = [
            (HEADER_UUID, self.id),
            (HEADER_NAME, self.name),
            (HEADER_SHARED_KEY, self.shared_key),
        ]
        headers.extend((HEADER_METHOD, method) for method in self.methods)
        upgraded = api.upgrade(f"/v{api_version}/session", headers)
        self._serve(SocketStream(upgraded.sock, upgraded.initial_bytes))
        logger.info("session %s: attached to %s", self.id, api.address)

    def attach_control_stream(self, stub: control_pb2_grpc.ControlStub) -> None:
        """Open the session as a ``Control.Session`` stream (buildkitd)."""
        metadata = [
            ("x-docker-expose-session-uuid", self.id),
            ("x-docker-expose-session-name", self.name),
            ("x-docker-expose-session-sharedkey", self.shared_key),
        ]
        metadata.extend(
            ("x-docker-expose-session-grpc-method", method) for method in self.methods
        )
        self._serve(ControlSessionStream(stub, metadata, self.id))
        logger.info("session %s: attached through Control.Session", self.id)

    def close(self) -> None:
        """End the session, stop the server and remove the private directory.

        Transfers and receivers still running are ended first, so that
        everything they log comes before what the caller reports next.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for closer in reversed(self._closers):
            closer()
        self._file_sync.stop_all()
        if not self._file_send.wait_idle(RECEIVER_STOP_SECONDS):
            logger.warning(
                "session %s: an export receiver still runs %.0f s after the "
                "session closed",
                self.id,
                RECEIVER_STOP_SECONDS,
            )
        logger.info("session %s: closed", self.id)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _serve(self, stream: ControlSessionStream | SocketStream) -> None:
        connection = GrpcConnection(
            stream,
            self._handlers,
            name=f"session-{self.id[:8]}",
            max_message_bytes=MAX_MESSAGE_BYTES,
            unlimited_methods=frozenset(HEALTH_METHODS),
        )
        connection.start()
        self._closers.append(connection.close)

    def _record_transfer(self, stats: TransferStats) -> None:
        with self._lock:
            self._transfers.append(stats)


class _HealthService:
    """``grpc.health.v1.Health``: flense is SERVING while the session is open.

    BuildKit checks the empty service name and treats any error, including
    NOT_FOUND for an unknown name, as a dead client.
    """

    def __init__(self, session_id: str) -> None:
        self._session_id = session_id
        self._checks = 0

    def check(
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        self._checks += 1
        logger.debug("session %s: health check %d", self._session_id, self._checks)
        return self._status(request, context)

    def watch(
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> Iterator[health_pb2.HealthCheckResponse]:
        """Send the status once, then hold the call open until it ends."""
        yield self._status(request, context)
        ended = threading.Event()
        if context.add_callback(ended.set):
            ended.wait()

    def _status(
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        if request.service:
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}"
            )
        return health_pb2.HealthCheckResponse(
            status=health_pb2.HealthCheckResponse.SERVING
        )


class ControlSessionStream:
    """The HTTP/2 byte stream inside a ``Control.Session`` call.

    Each BytesMessage carries a slice of the raw HTTP/2 stream in one
    direction. ``close`` half-closes the call, which ends the session on the
    daemon, and cancels it when the daemon has not ended its side within
    ``STREAM_CLOSE_SECONDS``.
    """

    def __init__(
        self,
        stub: control_pb2_grpc.ControlStub,
        metadata: list[tuple[str, str]],
        session_id: str,
    ) -> None:
        self._session_id = session_id
        self._outgoing: queue.Queue[bytes | None] = queue.Queue(STREAM_QUEUE_MESSAGES)
        self._closing = threading.Event()
        self._ended = threading.Event()
        self._call = stub.Session(self._requests(), metadata=metadata)

    def recv(self) -> bytes:
        try:
            for message in self._call:
                if message.data:
                    return bytes(message.data)
            logger.debug("session %s: the daemon ended the stream", self._session_id)
        except grpc.RpcError as error:
            if not self._closing.is_set():
                logger.warning(
                    "session %s: the stream failed: %s", self._session_id, error
                )
        self._ended.set()
        return b""

    def sendall(self, data: bytes) -> None:
        for offset in range(0, len(data), STREAM_CHUNK_BYTES):
            self._put(data[offset : offset + STREAM_CHUNK_BYTES])

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()
        try:
            self._outgoing.put_nowait(None)
        except queue.Full:
            self._call.cancel()
        if not self._ended.wait(STREAM_CLOSE_SECONDS):
            self._call.cancel()

    def _put(self, item: bytes) -> None:
        while not self._closing.is_set() and not self._call.done():
            try:
                self._outgoing.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        raise OSError("the Control.Session stream has ended")

    def _requests(self) -> Iterator[control_pb2.BytesMessage]:
        while True:
            item = self._outgoing.get()
            if item is None:
                return
            yield control_pb2.BytesMessage(data=item)
