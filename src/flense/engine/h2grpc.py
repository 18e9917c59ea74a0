"""A gRPC server on one HTTP/2 connection that the client opened, built on h2.

The BuildKit daemon calls the session's services over a connection that
flense opens (an upgraded Docker API socket, or the byte stream of
``Control.Session``), so flense is the HTTP/2 server on a connection it did
not accept. grpcio can serve only on a listening socket, and its server sends
one message per write. This server speaks HTTP/2 with the ``h2`` library on
any ``ByteStream``. One writer thread packs the pending messages of every
call into DATA frames and sends them with one write, so tens of thousands of
small messages (one fsutil STAT packet per file) cost a few hundred writes.

Handlers are grpcio's own ``grpc.RpcMethodHandler`` values (from
``grpc.stream_stream_rpc_method_handler`` and friends), and each call runs in
its own thread with a ``grpc.ServicerContext``-like context, so a handler
written for ``grpc.server`` runs here unchanged. The context offers
``invocation_metadata``, ``add_callback``, ``abort``, ``set_code``,
``set_details``, ``is_active``, ``cancel``, ``peer`` and ``time_remaining``
and no other method. When the daemon cancels a call, the
request iterator raises ``CallCancelled``, a ``grpc.RpcError``, as grpcio's
does.

Not supported: compressed messages (rejected with UNIMPLEMENTED, and the
daemon sends none) and deadlines (``grpc-timeout`` is ignored).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import logging
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol
from urllib.parse import quote

import grpc
import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

logger = logging.getLogger(__name__)

# gRPC length prefix: 1 byte compressed flag, 4 bytes big-endian length.
_PREFIX = struct.Struct(">BI")
# Bytes of outgoing messages a call may queue before its handler waits. The
# writer needs a few frames per call to fill large writes.
CALL_BUFFER_BYTES = 256 * 1024
# Most bytes the writer passes to one socket write.
WRITE_BATCH_BYTES = 1024 * 1024
# Receive windows advertised to the daemon. Received data is acknowledged
# when the handler takes the message, so this bounds what waits unread.
STREAM_WINDOW_BYTES = 4 * 1024 * 1024
CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024
# Handlers running at once; further calls wait with their stream open.
# Health checks are not counted, so the daemon still gets responses when
# many transfers run. Each file transfer runs five threads. At 2,000
# components and 1,000,000 files on 2 cores, 32 took 311 s and 194 MiB at
# peak. 128 took 932 s and 267 MiB, under heavier load from other work
# (docs/benchmarks.md, "Large scale").
MAX_RUNNING_HANDLERS = 32
# Streams the daemon may open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
MAX_CONCURRENT_STREAMS = 4096
# How long close() waits for the reader and writer threads.
CLOSE_WAIT_SECONDS = 5.0

# Request headers that grpcio leaves out of invocation_metadata.
_RESERVED_HEADERS = frozenset(
    {"content-type", "te", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding"}
)


class ByteStream(Protocol):
    """A bidirectional byte stream that carries one HTTP/2 connection."""

    def recv(self) -> bytes:
        """Return the next bytes, or ``b""`` at the end of the stream."""

    def sendall(self, data: bytes) -> None:
        """Write all of ``data``; raise ``OSError`` when the stream is gone."""

    def close(self) -> None:
        """End the stream in both directions; later calls do nothing."""


class SocketStream:
    """A ``ByteStream`` over a connected socket.

    ``initial_bytes`` are returned by the first ``recv``: dockerd may send its
    first HTTP/2 bytes in the same read as the ``101`` response.
    """

    READ_BYTES = 256 * 1024

    def __init__(self, sock: socket.socket, initial_bytes: bytes = b"") -> None:
        self._sock = sock
        self._initial_bytes = initial_bytes
        self._closed = False

    def recv(self) -> bytes:
        if self._initial_bytes:
            data, self._initial_bytes = self._initial_bytes, b""
            return data
        return self._sock.recv(self.READ_BYTES)

    def sendall(self, data: bytes) -> None:
        self._sock.sendall(data)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


class MessageBatch(list[Any]):
    """Response messages that a streaming handler yields as one item.

    Each element is serialized and sent as a message of its own, as if
    yielded one by one, but the call's buffer is filled in one step.
    """


class CallCancelled(grpc.RpcError):
    """The daemon cancelled the call, or the connection ended."""


class _Abort(Exception):
    """Raised by ``context.abort`` to end a call with a status."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


@dataclass(eq=False)
class _Call:
    """The state of one call, guarded by the connection's lock."""

    stream_id: int
    method: str
    metadata: tuple[tuple[str, str | bytes], ...]
    changed: threading.Condition
    handler: grpc.RpcMethodHandler | None = None
    # Complete request messages, and the bytes of an incomplete one.
    requests: collections.deque[bytes] = field(default_factory=collections.deque)
    partial: bytearray = field(default_factory=bytearray)
    unacknowledged: int = 0
    request_ended: bool = False
    cancelled: bool = False
    # Outgoing bytes (length prefixes and messages) not yet given to h2.
    outgoing: collections.deque[bytes | memoryview] = field(
        default_factory=collections.deque
    )
    outgoing_bytes: int = 0
    headers_sent: bool = False
    trailers: list[tuple[str, str]] | None = None
    callbacks: list[Callable[[], None]] = field(default_factory=list)
    code: grpc.StatusCode = grpc.StatusCode.OK
    details: str = ""


class GrpcConnection:
    """Serves gRPC methods to the peer of one HTTP/2 connection.

    ``handlers`` maps full method paths (``/package.Service/Method``) to
    grpcio method handlers. ``start`` begins reading and writing in two
    threads, and ``close`` cancels the running calls and ends the stream.
    """

    def __init__(
        self,
        stream: ByteStream,
        handlers: Mapping[str, grpc.RpcMethodHandler],
        *,
        name: str,
        max_message_bytes: int,
        unlimited_methods: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self._stream = stream
        self._handlers = dict(handlers)
        self._max_message_bytes = max_message_bytes
        self._unlimited_methods = unlimited_methods
        self._lock = threading.Lock()
        self._writer_wakeup = threading.Condition(self._lock)
        self._calls: dict[int, _Call] = {}
        # Calls with outgoing bytes or trailers, in round-robin order.
        self._ready: dict[_Call, None] = {}
        self._waiting: collections.deque[_Call] = collections.deque()
        self._running = 0
        # Cancelled calls whose callbacks have not run yet.
        self._cancelled: list[_Call] = []
        # Whether the writer may have frames to pack or bytes to send.
        self._work_pending = False
        self._closed = False
        self._ended = threading.Event()

        config = h2.config.H2Configuration(client_side=False, header_encoding=None)
        self._h2 = h2.connection.H2Connection(config=config)
        self._h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW_BYTES,
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: (
                    MAX_CONCURRENT_STREAMS
                ),
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: 1024 * 1024,
            },
        )
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(
            CONNECTION_WINDOW_BYTES - self._h2.inbound_flow_control_window
        )
        self._work_pending = True
        self._threads = [
            threading.Thread(target=self._read_loop, name=f"{name}-read", daemon=True),
            threading.Thread(
                target=self._write_loop, name=f"{name}-write", daemon=True
            ),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()
        logger.debug("%s: serving %s", self.name, ", ".join(self._handlers))

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the connection has ended; return False on timeout."""
        return self._ended.wait(timeout)

    def close(self) -> None:
        """Cancel the running calls, send GOAWAY and close the stream."""
        self._shut_down(send_goaway=True)
        reader, writer = self._threads
        if writer.is_alive():
            writer.join(CLOSE_WAIT_SECONDS)
        self._stream.close()
        if reader.is_alive():
            reader.join(CLOSE_WAIT_SECONDS)
        self._ended.set()

    # The reader: HTTP/2 input, requests and cancellations.

    def _read_loop(self) -> None:
        try:
            while True:
                try:
                    data = self._stream.recv()
                except OSError as error:
                    if not self._closed:
                        logger.debug("%s: reading failed: %s", self.name, error)
                    break
                if not data:
                    logger.debug("%s: the peer ended the connection", self.name)
                    break
                if not self._receive(data):
                    break
        finally:
            self._shut_down(send_goaway=False)
            self._ended.set()

    def _receive(self, data: bytes) -> bool:
        """Process bytes from the peer; return False when the connection ended."""
        started: list[_Call] = []
        connected = True
        with self._lock:
            if self._closed:
                return False
            try:
                events = self._h2.receive_data(data)
            except h2.exceptions.ProtocolError as error:
                logger.warning("%s: HTTP/2 protocol error: %s", self.name, error)
                events = []
                connected = False
            for event in events:
                if isinstance(event, h2.events.RequestReceived):
                    call = self._open_call(event)
                    if call is not None and self._may_start(call):
                        started.append(call)
                elif isinstance(event, h2.events.DataReceived):
                    self._receive_data(event)
                elif isinstance(event, h2.events.StreamEnded):
                    self._end_requests(event.stream_id)
                elif isinstance(event, h2.events.StreamReset):
                    call = self._calls.pop(event.stream_id, None)
                    if call is not None:
                        self._cancel(call)
                elif isinstance(event, h2.events.ConnectionTerminated):
                    logger.debug(
                        "%s: the peer sent GOAWAY (error code %s)",
                        self.name,
                        event.error_code,
                    )
                    connected = False
            self._wake_writer()
        for call in started:
            self._start_handler(call)
        self._run_cancel_callbacks()
        return connected

    def _open_call(self, event: h2.events.RequestReceived) -> _Call | None:
        stream_id = event.stream_id
        headers: dict[str, str] = {}
        metadata: list[tuple[str, str | bytes]] = []
        for raw_name, raw_value in event.headers or ():
            name = bytes(raw_name).decode("ascii", "replace")
            value = bytes(raw_value)
            if name.startswith(":") or name in _RESERVED_HEADERS:
                headers[name] = value.decode("latin-1")
            elif name.endswith("-bin"):
                metadata.append((name, _decode_binary_header(value)))
            else:
                metadata.append((name, value.decode("latin-1")))
        method = headers.get(":path", "")
        call = _Call(
            stream_id, method, tuple(metadata), threading.Condition(self._lock)
        )
        self._calls[stream_id] = call
        if event.stream_ended:
            call.request_ended = True

        handler = self._handlers.get(method)
        if handler is None:
            logger.debug("%s: unknown method %s", self.name, method)
            self._finish(
                call, grpc.StatusCode.UNIMPLEMENTED, f"unknown method {method}"
            )
            return None
        if not headers.get("content-type", "").startswith("application/grpc"):
            self._finish(
                call, grpc.StatusCode.INTERNAL, "content-type is not application/grpc"
            )
            return None
        call.handler = handler
        return call

    def _receive_data(self, event: h2.events.DataReceived) -> None:
        call = self._calls.get(event.stream_id)
        size = event.flow_controlled_length
        if call is None or call.cancelled or call.trailers is not None:
            self._acknowledge(event.stream_id, size)
            return
        call.unacknowledged += size
        call.partial += event.data
        while len(call.partial) >= _PREFIX.size:
            compressed, length = _PREFIX.unpack_from(call.partial)
            if compressed:
                self._reject(call, grpc.StatusCode.UNIMPLEMENTED, "compressed message")
                return
            if length > self._max_message_bytes:
                self._reject(
                    call,
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"message of {length} bytes exceeds the limit of "
                    f"{self._max_message_bytes} bytes",
                )
                return
            end = _PREFIX.size + length
            if len(call.partial) < end:
                break
            call.requests.append(bytes(call.partial[_PREFIX.size : end]))
            del call.partial[:end]
        call.changed.notify_all()

    def _end_requests(self, stream_id: int) -> None:
        call = self._calls.get(stream_id)
        if call is not None:
            call.request_ended = True
            call.changed.notify_all()

    def _acknowledge(self, stream_id: int, size: int) -> None:
        if size <= 0:
            return
        with contextlib.suppress(h2.exceptions.ProtocolError):
            self._h2.acknowledge_received_data(size, stream_id)
        self._wake_writer()

    def _reject(self, call: _Call, code: grpc.StatusCode, details: str) -> None:
        """End a call on a bad request; its handler gets ``CallCancelled``."""
        logger.warning("%s: rejecting %s: %s", self.name, call.method, details)
        self._acknowledge(call.stream_id, call.unacknowledged)
        call.unacknowledged = 0
        call.partial.clear()
        call.requests.clear()
        self._finish(call, code, details)
        # The handler gets CallCancelled while the trailers go out.
        call.cancelled = True
        call.changed.notify_all()
        self._cancelled.append(call)

    # Handlers: one thread per call.

    def _may_start(self, call: _Call) -> bool:
        """Count a handler as running, or queue it; call with the lock held."""
        if call.method in self._unlimited_methods:
            return True
        if self._running < MAX_RUNNING_HANDLERS:
            self._running += 1
            return True
        self._waiting.append(call)
        return False

    def _handler_done(self, call: _Call) -> None:
        if call.method in self._unlimited_methods:
            return
        with self._lock:
            self._running -= 1
            following = None
            while self._waiting:
                candidate = self._waiting.popleft()
                if not candidate.cancelled:
                    following = candidate
                    self._running += 1
                    break
        if following is not None:
            self._start_handler(following)

    def _start_handler(self, call: _Call) -> None:
        threading.Thread(
            target=self._run_handler,
            args=(call,),
            name=f"{self.name}-call-{call.stream_id}",
            daemon=True,
        ).start()

    def _run_handler(self, call: _Call) -> None:
        handler = call.handler
        assert handler is not None
        context = _Context(self, call)
        responses: Iterator[Any] | None = None
        try:
            requests = _RequestIterator(self, call, handler.request_deserializer)
            if handler.request_streaming:
                request: Any = requests
            else:
                request = next(requests, _MISSING)
                if request is _MISSING:
                    raise _Abort(grpc.StatusCode.INTERNAL, "missing request message")
            serialize = handler.response_serializer or _identity
            if handler.response_streaming:
                behaviour = handler.stream_stream or handler.unary_stream
                responses = iter(behaviour(request, context))
                for response in responses:
                    if isinstance(response, MessageBatch):
                        self._send(call, [serialize(item) for item in response])
                    else:
                        self._send(call, [serialize(response)])
            else:
                behaviour = handler.stream_unary or handler.unary_unary
                self._send(call, [serialize(behaviour(request, context))])
            code, details = call.code, call.details
        except _Abort as abort:
            code, details = abort.code, abort.details
        except CallCancelled:
            code, details = grpc.StatusCode.CANCELLED, "cancelled"
        except Exception as error:
            logger.exception("%s: %s failed", self.name, call.method)
            code, details = grpc.StatusCode.UNKNOWN, f"{type(error).__name__}: {error}"
        finally:
            if responses is not None and hasattr(responses, "close"):
                # A generator that stopped early runs its cleanup now, as when
                # grpcio drops it.
                responses.close()
        with self._lock:
            self._finish(call, code, details)
            callbacks, call.callbacks = call.callbacks, []
        _run_callbacks(callbacks)
        self._handler_done(call)

    def _send(self, call: _Call, messages: list[bytes]) -> None:
        """Queue response messages, waiting while the call's buffer is full."""
        for message in messages:
            if len(message) > self._max_message_bytes:
                raise _Abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"response of {len(message)} bytes exceeds the limit of "
                    f"{self._max_message_bytes} bytes",
                )
        with self._lock:
            while call.outgoing_bytes >= CALL_BUFFER_BYTES and not call.cancelled:
                call.changed.wait()
            if call.cancelled:
                raise CallCancelled
            for message in messages:
                call.outgoing.append(_PREFIX.pack(0, len(message)))
                call.outgoing.append(message)
                call.outgoing_bytes += _PREFIX.size + len(message)
            self._ready[call] = None
            self._wake_writer()

    def _finish(self, call: _Call, code: grpc.StatusCode, details: str) -> None:
        """Queue the call's trailers; call with the lock held."""
        if call.trailers is not None or call.cancelled:
            return
        trailers = [("grpc-status", str(code.value[0]))]
        if details and code != grpc.StatusCode.OK:
            trailers.append(("grpc-message", quote(details, safe=" !-./:;<>?@[]_~")))
        call.trailers = trailers
        self._ready[call] = None
        self._wake_writer()

    def _cancel(self, call: _Call) -> None:
        """Mark a call cancelled and queue its callbacks; hold the lock."""
        if call.cancelled:
            return
        call.cancelled = True
        self._ready.pop(call, None)
        call.outgoing.clear()
        call.outgoing_bytes = 0
        call.changed.notify_all()
        self._cancelled.append(call)

    def _run_cancel_callbacks(self) -> None:
        """Run the callbacks of cancelled calls; call without the lock."""
        with self._lock:
            calls, self._cancelled = self._cancelled, []
            callbacks = []
            for call in calls:
                callbacks += call.callbacks
                call.callbacks = []
        _run_callbacks(callbacks)

    def _shut_down(self, *, send_goaway: bool) -> None:
        """Cancel every call, run their callbacks and stop the writer."""
        with self._lock:
            if not self._closed:
                self._closed = True
                for call in self._calls.values():
                    self._cancel(call)
                for call in self._waiting:
                    self._cancel(call)
                self._calls.clear()
                self._waiting.clear()
                if send_goaway:
                    with contextlib.suppress(h2.exceptions.ProtocolError):
                        self._h2.close_connection()
                self._writer_wakeup.notify_all()
        self._run_cancel_callbacks()

    # The writer: every outgoing byte passes through this one thread.

    def _wake_writer(self) -> None:
        """Tell the writer there is work; call with the lock held."""
        self._work_pending = True
        self._writer_wakeup.notify()

    def _write_loop(self) -> None:
        while True:
            with self._lock:
                while not self._work_pending and not self._closed:
                    self._writer_wakeup.wait()
                closed = self._closed
                self._work_pending = False
                if not closed:
                    self._pack_frames()
                data = self._h2.data_to_send()
            if data:
                try:
                    self._stream.sendall(data)
                except OSError as error:
                    if not closed:
                        logger.debug("%s: writing failed: %s", self.name, error)
                    self._shut_down(send_goaway=False)
                    return
            self._run_cancel_callbacks()
            if closed:
                return

    def _pack_frames(self) -> None:
        """Move queued bytes into h2 frames within the peer's windows.

        Calls take turns, one frame each, so that a health check response goes out
        between the frames of large transfers. Runs with the lock held.
        """
        budget = WRITE_BATCH_BYTES
        frame_size = self._h2.max_outbound_frame_size
        progress = True
        while progress and budget > 0 and self._ready:
            progress = False
            for call in list(self._ready):
                if budget <= 0:
                    break
                try:
                    sent = self._pack_call(call, min(frame_size, budget))
                except h2.exceptions.ProtocolError as error:
                    # The stream closed under us, e.g. the peer reset it.
                    logger.debug("%s: stream %d: %s", self.name, call.stream_id, error)
                    self._calls.pop(call.stream_id, None)
                    self._cancel(call)
                    continue
                if sent:
                    progress = True
                    budget -= sent
        if budget <= 0 and self._ready:
            # The batch is full, so the writer comes back for the rest.
            self._work_pending = True

    def _pack_call(self, call: _Call, limit: int) -> int:
        """Frame up to ``limit`` bytes of one call; return the bytes framed."""
        stream_id = call.stream_id
        if call.outgoing:
            if not call.headers_sent:
                self._h2.send_headers(
                    stream_id,
                    [(":status", "200"), ("content-type", "application/grpc")],
                )
                call.headers_sent = True
            size = min(limit, call.outgoing_bytes)
            size = min(size, self._h2.local_flow_control_window(stream_id))
            if size <= 0:
                return 0
            self._h2.send_data(stream_id, _take(call, size))
            if call.outgoing_bytes < CALL_BUFFER_BYTES:
                call.changed.notify_all()
            return size
        if call.trailers is not None:
            self._ready.pop(call, None)
            self._calls.pop(stream_id, None)
            if call.headers_sent:
                self._h2.send_headers(stream_id, call.trailers, end_stream=True)
            else:
                self._h2.send_headers(
                    stream_id,
                    [
                        (":status", "200"),
                        ("content-type", "application/grpc"),
                        *call.trailers,
                    ],
                    end_stream=True,
                )
            if call.unacknowledged:
                self._acknowledge(stream_id, call.unacknowledged)
                call.unacknowledged = 0
            return 1
        self._ready.pop(call, None)
        return 0


class _RequestIterator:
    """The request messages of one call, as grpcio's request iterator."""

    def __init__(
        self,
        connection: GrpcConnection,
        call: _Call,
        deserialize: Callable[[bytes], Any] | None,
    ) -> None:
        self._connection = connection
        self._call = call
        self._deserialize = deserialize or _identity

    def __iter__(self) -> _RequestIterator:
        return self

    def __next__(self) -> Any:
        call = self._call
        connection = self._connection
        with connection._lock:
            while not call.requests and not call.request_ended and not call.cancelled:
                call.changed.wait()
            if call.cancelled:
                raise CallCancelled
            if not call.requests:
                raise StopIteration
            message = call.requests.popleft()
            # Return the window for what was taken, or all of it once
            # nothing is left, which covers prefixes and padding.
            if call.requests or call.partial:
                size = min(call.unacknowledged, _PREFIX.size + len(message))
            else:
                size = call.unacknowledged
            call.unacknowledged -= size
            connection._acknowledge(call.stream_id, size)
        return self._deserialize(message)


class _Context:
    """The subset of ``grpc.ServicerContext`` that flense's handlers use."""

    def __init__(self, connection: GrpcConnection, call: _Call) -> None:
        self._connection = connection
        self._call = call

    def invocation_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return self._call.metadata

    def add_callback(self, callback: Callable[[], None]) -> bool:
        with self._connection._lock:
            if self._call.cancelled:
                return False
            self._call.callbacks.append(callback)
            return True

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        raise _Abort(code, details)

    def set_code(self, code: grpc.StatusCode) -> None:
        self._call.code = code

    def set_details(self, details: str) -> None:
        self._call.details = details

    def is_active(self) -> bool:
        return not self._call.cancelled and self._call.trailers is None

    def cancel(self) -> None:
        connection = self._connection
        with connection._lock:
            connection._finish(self._call, grpc.StatusCode.CANCELLED, "cancelled")
            connection._cancel(self._call)
        connection._run_cancel_callbacks()

    def time_remaining(self) -> float | None:
        return None

    def peer(self) -> str:
        return self._connection.name


def _take(call: _Call, size: int) -> bytes:
    """Remove and return the first ``size`` queued bytes of a call."""
    pieces: list[bytes | memoryview] = []
    remaining = size
    while remaining:
        piece = call.outgoing[0]
        if len(piece) <= remaining:
            call.outgoing.popleft()
            pieces.append(piece)
            remaining -= len(piece)
        else:
            view = memoryview(piece)
            pieces.append(view[:remaining])
            call.outgoing[0] = view[remaining:]
            remaining = 0
    call.outgoing_bytes -= size
    if len(pieces) == 1:
        return bytes(pieces[0])
    return b"".join(pieces)


def _run_callbacks(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            logger.exception("a call's callback failed")


_MISSING = object()


def _identity(value: Any) -> Any:
    return value


def _decode_binary_header(value: bytes) -> bytes:
    padding = b"=" * (-len(value) % 4)
    try:
        return base64.b64decode(value + padding)
    except ValueError:
        return value
