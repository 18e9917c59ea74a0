"""The file-sync sender served by the h2 server, read by a grpcio client.

The client plays the daemon's part: it reads the listing, requests every
regular file, collects the DATA packets and ends with FIN.
"""

from __future__ import annotations

import os
import queue
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from flense.engine.filesync import modes
from flense.engine.filesync.sender import (
    CHUNK_SIZE,
    QUEUED_STAT_BATCHES,
    STAT_BATCH_SIZE,
    FileSyncService,
    ReadAheadBudget,
    TransferStats,
    _Cancelled,
    _Transfer,
    serialize_packet,
)
from flense.engine.h2grpc import GrpcConnection, SocketStream
from flense.engine.proto import fsutil_pb2

Packet = fsutil_pb2.Packet

SIZES = {
    "empty": 0,
    "one": 1,
    "below-chunk": CHUNK_SIZE - 1,
    "chunk": CHUNK_SIZE,
    "above-chunk": CHUNK_SIZE + 1,
    "three-chunks": 3 * CHUNK_SIZE + 17,
}


class Received:
    """What the client got: STATs by ID, file data by ID, and ends per ID."""

    def __init__(self) -> None:
        self.stats: list[fsutil_pb2.Stat] = []
        self.data: dict[int, bytearray] = {}
        self.ends: dict[int, int] = {}
        self.after_end: list[int] = []
        self.fin = False


def receive_all(channel: grpc.Channel, dir_name: str) -> Received:
    outgoing: queue.Queue[Packet | None] = queue.Queue()

    def requests() -> Iterator[Packet]:
        while (packet := outgoing.get()) is not None:
            yield packet

    call = channel.stream_stream(
        "/moby.filesync.v1.FileSync/DiffCopy",
        request_serializer=Packet.SerializeToString,
        response_deserializer=Packet.FromString,
    )(requests(), metadata=[("dir-name", dir_name)], timeout=60)
    received = Received()
    listing_done = False
    pending_ids: set[int] = set()
    for packet in call:
        if packet.type == fsutil_pb2.PACKET_STAT:
            if not packet.HasField("stat"):
                listing_done = True
            else:
                file_id = len(received.stats)
                received.stats.append(packet.stat)
                if modes.is_regular(packet.stat.mode):
                    pending_ids.add(file_id)
                    received.data[file_id] = bytearray()
                    outgoing.put(Packet(type=fsutil_pb2.PACKET_REQ, ID=file_id))
        elif packet.type == fsutil_pb2.PACKET_DATA:
            if packet.ID in received.ends:
                received.after_end.append(packet.ID)
            if packet.data:
                received.data[packet.ID] += packet.data
            else:
                received.ends[packet.ID] = received.ends.get(packet.ID, 0) + 1
                pending_ids.discard(packet.ID)
        elif packet.type == fsutil_pb2.PACKET_FIN:
            received.fin = True
        if listing_done and not pending_ids and not received.fin:
            outgoing.put(Packet(type=fsutil_pb2.PACKET_FIN))
    outgoing.put(None)
    return received


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    for name, size in SIZES.items():
        (root / f"{name}.bin").write_bytes(os.urandom(size))
    (root / "sub").mkdir()
    (root / "sub" / "small.txt").write_text("hello\n")
    return root


@pytest.fixture
def channel(tree: Path) -> Iterator[tuple[grpc.Channel, list[TransferStats]]]:
    stats: list[TransferStats] = []
    service = FileSyncService({"context": tree}, on_transfer=stats.append)
    handlers = {
        f"/moby.filesync.v1.FileSync/{method}": handler
        for method, handler in service.method_handlers().items()
    }
    directory = tempfile.mkdtemp(prefix="flense-filesync-test-")
    path = os.path.join(directory, "server.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    connections: list[GrpcConnection] = []

    def accept() -> None:
        sock, _ = listener.accept()
        connection = GrpcConnection(
            SocketStream(sock), handlers, name="test", max_message_bytes=1 << 24
        )
        connection.start()
        connections.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    client = grpc.insecure_channel(f"unix:{path}")
    yield client, stats
    client.close()
    for connection in connections:
        connection.close()
    listener.close()
    os.unlink(path)
    os.rmdir(directory)
    assert service.read_ahead.used == 0


def test_transfer_sends_every_file_whole(
    tree: Path, channel: tuple[grpc.Channel, list[TransferStats]]
) -> None:
    received = receive_all(channel[0], "context")
    by_path = {stat.path: index for index, stat in enumerate(received.stats)}

    for name in SIZES:
        file_id = by_path[f"{name}.bin"]
        assert received.data[file_id] == (tree / f"{name}.bin").read_bytes(), name
        assert received.ends[file_id] == 1, name
    assert received.data[by_path["sub/small.txt"]] == b"hello\n"
    assert received.after_end == []
    assert received.fin


def test_transfer_lists_in_walk_order(
    channel: tuple[grpc.Channel, list[TransferStats]],
) -> None:
    received = receive_all(channel[0], "context")

    assert [stat.path for stat in received.stats] == sorted(
        [f"{name}.bin" for name in SIZES] + ["sub", "sub/small.txt"]
    )


def test_transfer_stats_count_bytes(
    channel: tuple[grpc.Channel, list[TransferStats]],
) -> None:
    client, stats = channel
    receive_all(client, "context")

    assert [s.files_sent for s in stats] == [len(SIZES) + 1]
    assert [s.bytes_sent for s in stats] == [sum(SIZES.values()) + len("hello\n")]


def test_unknown_directory_not_found(
    channel: tuple[grpc.Channel, list[TransferStats]],
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        receive_all(channel[0], "missing")

    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize(
    ("limit", "held", "size", "fits"),
    [
        (100, 0, 60, True),
        (100, 40, 60, True),
        (100, 41, 60, False),
        # A request larger than the limit goes through when nothing is held.
        (100, 0, 500, True),
    ],
)
def test_read_ahead_budget_limits(limit: int, held: int, size: int, fits: bool) -> None:
    budget = ReadAheadBudget(limit)
    never = threading.Event()
    if held:
        budget.acquire(held, never)
    done = threading.Event()

    def take() -> None:
        budget.acquire(size, never)
        done.set()

    threading.Thread(target=take, daemon=True).start()

    assert done.wait(0.3) == fits
    budget.release(held)
    assert done.wait(5)


def test_read_ahead_budget_cancelled() -> None:
    budget = ReadAheadBudget(10)
    budget.acquire(10, threading.Event())
    cancelled = threading.Event()
    cancelled.set()

    with pytest.raises(_Cancelled):
        budget.acquire(5, cancelled)

    assert budget.used == 10


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (b"\x08\x01", b"\x08\x01"),
        (Packet(type=fsutil_pb2.PACKET_FIN), b"\x08\x03"),
    ],
)
def test_serialize_packet(item: Packet | bytes, expected: bytes) -> None:
    assert serialize_packet(item) == expected


class _IdleContext:
    """The parts of a servicer context that a transfer uses, for a call that idles."""

    def __init__(self) -> None:
        self.callbacks: list = []

    def add_callback(self, callback) -> bool:  # type: ignore[no-untyped-def]
        self.callbacks.append(callback)
        return True

    def abort(self, code, details):  # type: ignore[no-untyped-def]
        raise AssertionError(f"aborted: {code} {details}")


def test_walk_waits_for_stream(tmp_path: Path) -> None:
    # A daemon that reads nothing yet: the walk queues a few batches of
    # STAT packets and then waits, instead of listing the whole directory
    # into memory.
    root = tmp_path / "many"
    root.mkdir()
    for index in range(20 * STAT_BATCH_SIZE):
        (root / f"f{index:05}").touch()
    release = threading.Event()

    def requests() -> Iterator[Packet]:
        release.wait()
        return
        yield

    transfer = _Transfer(
        "context",
        root,
        include=[],
        exclude=[],
        follow_paths=[],
        read_ahead=ReadAheadBudget(),
        on_done=None,
    )
    stream = transfer.run(requests(), _IdleContext())
    try:
        next(stream)
        time.sleep(1.0)
        walked = transfer._entries
    finally:
        release.set()
        transfer.stop("the test ended")
        stream.close()

    assert walked <= (QUEUED_STAT_BATCHES + 2) * STAT_BATCH_SIZE
