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

In both cases flense runs a ``grpc.server`` on a unix socket in a private
directory and splices the daemon's connection into a connection to it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from flense.engine.dockerapi import DockerAPI
from flense.engine.filesync.receiver import FILE_SEND_DIFF_COPY, FileSendService
from flense.engine.filesync.sender import (
    FILE_SYNC_DIFF_COPY,
    FileSyncService,
    TransferStats,
)
from flense.engine.filesync.staging import ExportTarget
from flense.engine.proto import control_pb2, control_pb2_grpc
from flense.engine.transport import Splice, private_socket_dir

logger = logging.getLogger(__name__)

# The daemon's session client accepts 16 MiB messages since BuildKit v0.13
# (4 MiB before); flense's own messages stay far below either limit.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# Each running transfer occupies one worker for its whole duration, and the
# daemon may read many local sources at once. Unused workers cost nothing
# because the executor starts threads only when needed.
SESSION_WORKERS = 128
# The largest message flense sends on the Control.Session stream: far below
# the 4 MiB that buildkitd accepted before v0.14.
STREAM_CHUNK_BYTES = 64 * 1024
# How long close() waits for export receivers that the daemon cancelled to
# return; they stop at their next read of the request stream.
RECEIVER_STOP_SECONDS = 5.0

HEALTH_METHODS = ("/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch")

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

        self._directory = private_socket_dir("flense-session-")
        self._socket_path = os.path.join(self._directory, "session.sock")
        self._server = grpc.server(
            ThreadPoolExecutor(
                max_workers=SESSION_WORKERS, thread_name_prefix="flense-session"
            ),
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        health_servicer = _LoggingHealthServicer(self.id)
        # BuildKit checks the empty service name and treats any error,
        # including NOT_FOUND for an unknown name, as a dead client.
        health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, self._server)

        self._file_sync = FileSyncService(local_dirs, on_transfer=self._record_transfer)
        self._file_send = FileSendService(export_targets)
        self._server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    "moby.filesync.v1.FileSync", self._file_sync.method_handlers()
                ),
                grpc.method_handlers_generic_handler(
                    "moby.filesync.v1.FileSend", self._file_send.method_handlers()
                ),
            )
        )
        self.methods = (*HEALTH_METHODS, FILE_SYNC_DIFF_COPY, FILE_SEND_DIFF_COPY)
        self._server.add_insecure_port(f"unix:{self._socket_path}")
        self._server.start()
        logger.debug("session %s: serving on %s", self.id, self._socket_path)

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
        local = self._connect_local()
        splice = Splice(
            upgraded.sock,
            local,
            name=f"session-{self.id[:8]}",
            initial_bytes=upgraded.initial_bytes,
        )
        splice.start()
        self._closers.append(lambda: _close_splice(splice))
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
        local = self._connect_local()
        closing = threading.Event()
        call = stub.Session(_read_socket(local), metadata=metadata)
        thread = threading.Thread(
            target=_write_socket,
            args=(call, local, self.id, closing),
            name=f"session-{self.id[:8]}-in",
            daemon=True,
        )
        thread.start()

        def close() -> None:
            # Ending the request stream half-closes it, which ends the
            # session on the daemon; cancel only if that does not finish it.
            closing.set()
            with contextlib.suppress(OSError):
                local.shutdown(socket.SHUT_RDWR)
            thread.join(5)
            if thread.is_alive():
                call.cancel()
                thread.join(5)
            local.close()

        self._closers.append(close)
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
        self._server.stop(grace=2).wait(5)
        self._file_sync.stop_all()
        if not self._file_send.wait_idle(RECEIVER_STOP_SECONDS):
            logger.warning(
                "session %s: an export receiver still runs %.0f s after the "
                "session closed",
                self.id,
                RECEIVER_STOP_SECONDS,
            )
        shutil.rmtree(self._directory, ignore_errors=True)
        logger.info("session %s: closed", self.id)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect_local(self) -> socket.socket:
        local = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        local.connect(self._socket_path)
        return local

    def _record_transfer(self, stats: TransferStats) -> None:
        with self._lock:
            self._transfers.append(stats)


class _LoggingHealthServicer(health.HealthServicer):
    """grpcio's Health service, logging each check the daemon makes."""

    def __init__(self, session_id: str) -> None:
        super().__init__()
        self._session_id = session_id
        self._checks = 0

    def Check(  # noqa: N802 (the gRPC method name)
        self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthCheckResponse:
        self._checks += 1
        logger.debug("session %s: health check %d", self._session_id, self._checks)
        return super().Check(request, context)


def _close_splice(splice: Splice) -> None:
    splice.close()
    splice.join(5)


def _read_socket(local: socket.socket) -> Iterator[control_pb2.BytesMessage]:
    """Yield what the local gRPC server writes, as Control.Session messages."""
    while True:
        try:
            data = local.recv(STREAM_CHUNK_BYTES)
        except OSError:
            return
        if not data:
            return
        yield control_pb2.BytesMessage(data=data)


def _write_socket(
    call: Iterator[control_pb2.BytesMessage],
    local: socket.socket,
    session_id: str,
    closing: threading.Event,
) -> None:
    """Write the daemon's Control.Session messages into the local connection."""
    try:
        for message in call:
            local.sendall(message.data)
        with contextlib.suppress(OSError):
            local.shutdown(socket.SHUT_WR)
        logger.debug("session %s: the daemon ended the stream", session_id)
    except (grpc.RpcError, OSError) as error:
        if not closing.is_set():
            logger.warning("session %s: the stream failed: %s", session_id, error)
        with contextlib.suppress(OSError):
            local.shutdown(socket.SHUT_RDWR)
