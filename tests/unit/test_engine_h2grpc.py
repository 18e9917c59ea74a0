"""The h2-based gRPC server, called by a real grpcio client over a unix socket."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from collections.abc import Iterator

import grpc
import pytest

from flense.engine.h2grpc import CallCancelled, GrpcConnection, SocketStream

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class Recorder:
    """Handlers whose calls the tests inspect afterwards."""

    def __init__(self) -> None:
        self.metadata: list[tuple[str, str | bytes]] = []
        self.cancelled = threading.Event()
        self.callback_ran = threading.Event()
        self.started = threading.Event()

    def echo(self, requests: Iterator[bytes], context: object) -> Iterator[bytes]:
        yield from requests

    def upper(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        self.metadata = list(context.invocation_metadata())
        return request.upper()

    def fail(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        context.abort(grpc.StatusCode.NOT_FOUND, "no dir 'é' here")

    def crash(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        raise RuntimeError("boom")

    def hang(
        self, requests: Iterator[bytes], context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        context.add_callback(self.callback_ran.set)
        self.started.set()
        try:
            for _ in requests:
                pass
        except CallCancelled:
            self.cancelled.set()
        yield from ()


def handlers(recorder: Recorder) -> dict[str, grpc.RpcMethodHandler]:
    return {
        "/test.Test/Echo": grpc.stream_stream_rpc_method_handler(recorder.echo),
        "/test.Test/Upper": grpc.unary_unary_rpc_method_handler(recorder.upper),
        "/test.Test/Fail": grpc.unary_unary_rpc_method_handler(recorder.fail),
        "/test.Test/Crash": grpc.unary_unary_rpc_method_handler(recorder.crash),
        "/test.Test/Hang": grpc.stream_stream_rpc_method_handler(recorder.hang),
    }


class Served:
    """A GrpcConnection serving one grpcio channel's connection."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.directory = tempfile.mkdtemp(prefix="flense-h2grpc-test-")
        path = os.path.join(self.directory, "server.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(1)
        self.connection: GrpcConnection | None = None
        self.accepted = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()
        self.channel = grpc.insecure_channel(
            f"unix:{path}",
            options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)],
        )

    def _accept(self) -> None:
        sock, _ = self.listener.accept()
        self.connection = GrpcConnection(
            SocketStream(sock),
            handlers(self.recorder),
            name="test",
            max_message_bytes=MAX_MESSAGE_BYTES,
        )
        self.connection.start()
        self.accepted.set()

    def unary(self, method: str) -> grpc.UnaryUnaryMultiCallable:
        return self.channel.unary_unary(method)

    def stream(self, method: str) -> grpc.StreamStreamMultiCallable:
        return self.channel.stream_stream(method)

    def close(self) -> None:
        self.channel.close()
        if self.connection is not None:
            self.connection.close()
        self.listener.close()
        for name in os.listdir(self.directory):
            os.unlink(os.path.join(self.directory, name))
        os.rmdir(self.directory)


@pytest.fixture
def served() -> Iterator[Served]:
    server = Served()
    yield server
    server.close()


def test_unary_call_returns_response(served: Served) -> None:
    assert served.unary("/test.Test/Upper")(b"abc", timeout=10) == b"ABC"


def test_unary_call_passes_metadata(served: Served) -> None:
    served.unary("/test.Test/Upper")(
        b"x",
        metadata=[
            ("include-patterns", "a"),
            ("include-patterns", "b/c"),
            ("blob-bin", b"\x00\xff"),
        ],
        timeout=10,
    )
    metadata = served.recorder.metadata

    assert [v for k, v in metadata if k == "include-patterns"] == ["a", "b/c"]
    assert ("blob-bin", b"\x00\xff") in metadata
    assert not any(key.startswith(":") for key, _ in metadata)


@pytest.mark.parametrize(
    ("method", "code", "details"),
    [
        ("/test.Test/Missing", grpc.StatusCode.UNIMPLEMENTED, "unknown method"),
        ("/test.Test/Fail", grpc.StatusCode.NOT_FOUND, "no dir 'é' here"),
        ("/test.Test/Crash", grpc.StatusCode.UNKNOWN, "RuntimeError: boom"),
    ],
)
def test_call_error_status(
    served: Served, method: str, code: grpc.StatusCode, details: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        served.unary(method)(b"x", timeout=10)

    assert raised.value.code() == code
    assert details in raised.value.details()


def test_stream_keeps_order_of_many_messages(served: Served) -> None:
    messages = [f"message {index}".encode() for index in range(20_000)]

    received = list(served.stream("/test.Test/Echo")(iter(messages), timeout=60))

    assert received == messages


def test_stream_carries_large_messages(served: Served) -> None:
    messages = [bytes([index]) * (3 * 1024 * 1024 + index) for index in range(4)]

    received = list(served.stream("/test.Test/Echo")(iter(messages), timeout=60))

    assert [len(message) for message in received] == [len(m) for m in messages]
    assert received == messages


def test_concurrent_streams_stay_apart(served: Served) -> None:
    results: dict[int, list[bytes]] = {}

    def run(number: int) -> None:
        messages = [f"{number}:{index}".encode() * 50 for index in range(500)]
        call = served.stream("/test.Test/Echo")(iter(messages), timeout=60)
        results[number] = list(call)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(results) == list(range(40))
    for number, received in results.items():
        assert received == [f"{number}:{i}".encode() * 50 for i in range(500)]


def test_client_cancel_reaches_handler(served: Served) -> None:
    release = threading.Event()

    def requests() -> Iterator[bytes]:
        yield b"first"
        release.wait(10)

    call = served.stream("/test.Test/Hang")(requests(), timeout=30)
    assert served.recorder.started.wait(10)
    call.cancel()
    release.set()

    assert served.recorder.cancelled.wait(10)
    assert served.recorder.callback_ran.wait(10)


def test_close_cancels_running_calls(served: Served) -> None:
    release = threading.Event()

    def requests() -> Iterator[bytes]:
        yield b"first"
        release.wait(10)

    call = served.stream("/test.Test/Hang")(requests(), timeout=30)
    assert served.recorder.started.wait(10)
    assert served.accepted.wait(10)
    assert served.connection is not None
    served.connection.close()
    release.set()

    assert served.recorder.cancelled.wait(10)
    assert served.recorder.callback_ran.wait(10)
    with pytest.raises(grpc.RpcError):
        list(call)


def test_socket_stream_returns_initial_bytes_first() -> None:
    left, right = socket.socketpair()
    stream = SocketStream(left, b"early")
    right.sendall(b"later")

    assert stream.recv() == b"early"
    assert stream.recv() == b"later"
    stream.close()
    right.close()
