"""The file-sync sender: serves ``/moby.filesync.v1.FileSync/DiffCopy``.

The daemon calls DiffCopy when the build needs a ``local://<name>`` source.
It names the directory and its filters in the request metadata and acts as
the fsutil receiver, flense as the sender:

1. flense sends one STAT packet per entry of the filtered tree in walk order
   (IDs count every entry), then a STAT packet without a stat.
2. Meanwhile the daemon compares the listing with its previous copy and sends
   a REQ packet for each regular file whose contents it needs. flense sends
   the file in DATA packets and an empty DATA packet as the end of that file.
3. When the daemon has everything, it sends FIN and flense replies with FIN.

The walk, the requests and the file reads run in their own threads, and all
outgoing packets pass through one bounded queue that the gRPC response
iterator drains, so neither the listing nor a file is held in memory whole.
The walk hands over STAT packets in batches, and a file's packets go
together when it fits in one chunk, so the queue sees a few items per file
or per hundred entries. The file data waiting in the queues of all
transfers of a session is bounded by one shared ``ReadAheadBudget``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_plus

import grpc

from flense.engine.filesync import modes
from flense.engine.filesync.walk import Entry, walk
from flense.engine.h2grpc import MessageBatch
from flense.engine.proto import fsutil_pb2
from flense.patterns import escape

logger = logging.getLogger(__name__)

FILE_SYNC_DIFF_COPY = "/moby.filesync.v1.FileSync/DiffCopy"

# Request metadata keys (BuildKit session/filesync).
KEY_DIR_NAME = "dir-name"
KEY_INCLUDE_PATTERNS = "include-patterns"
KEY_EXCLUDE_PATTERNS = "exclude-patterns"
KEY_FOLLOW_PATHS = "followpaths"

CHUNK_SIZE = 256 * 1024
FILE_WORKERS = 2
# Items (a DATA chunk, a small file's packets, or a batch of STATs) waiting
# for the gRPC stream, per transfer.
QUEUE_SIZE = 64
# STAT packets the walk hands over at once. A batch of this size takes a
# few milliseconds to walk, which delays the daemon's first requests little.
STAT_BATCH_SIZE = 256
# STAT batches a transfer's walk may queue ahead of the stream. Without this
# limit the queue alone held up to QUEUE_SIZE batches (about 3 MB) per
# transfer, so a build with many components waiting on the daemon used
# hundreds of megabytes.
QUEUED_STAT_BATCHES = 4
# File data read ahead of the gRPC stream by all transfers of a session
# together. The daemon runs every transfer of a build at once, so a
# per-transfer limit would grow with the number of components.
READ_AHEAD_BYTES = 16 * 1024 * 1024
PUT_POLL_SECONDS = 0.5
# The number of include patterns that log lines list. The copy builder sends
# one per component, the component's directory.
LOGGED_INCLUDE_PATTERNS = 3
# The text of Go's context.Canceled, which the daemon sends in an ERR packet
# when it cancels a transfer.
GO_CONTEXT_CANCELED = "context canceled"

Packet = fsutil_pb2.Packet


@dataclass(frozen=True)
class TransferStats:
    """Counts of one DiffCopy call: what flense sent to the daemon."""

    dir_name: str
    entries: int  # STAT packets, not counting the end of the listing
    files_sent: int  # files whose contents the daemon requested
    bytes_sent: int  # file content bytes
    seconds: float
    # The daemon's include patterns, which tell apart transfers of one
    # directory (flense sends one per component).
    include_patterns: tuple[str, ...] = ()


class TransferError(Exception):
    """A transfer failed; the message is sent to the daemon."""


class _Cancelled(Exception):
    """The RPC ended, so the threads of a transfer stop."""


_DONE = object()


class ReadAheadBudget:
    """Bytes of file data that transfers may read before the stream sends them.

    One budget is shared by the transfers of a session. A reader waits while
    the budget is used up, except when nothing is taken, so that a chunk
    larger than the limit cannot wait forever.
    """

    def __init__(self, limit: int = READ_AHEAD_BYTES) -> None:
        self.limit = limit
        self._used = 0
        self._changed = threading.Condition()

    @property
    def used(self) -> int:
        with self._changed:
            return self._used

    def acquire(self, size: int, cancelled: threading.Event) -> None:
        """Take ``size`` bytes; raise ``_Cancelled`` once ``cancelled`` is set."""
        with self._changed:
            while self._used and self._used + size > self.limit:
                if cancelled.is_set():
                    raise _Cancelled
                self._changed.wait(PUT_POLL_SECONDS)
            if cancelled.is_set():
                raise _Cancelled
            self._used += size
            if self._used < self.limit:
                # Another reader may fit in what is left.
                self._changed.notify()

    def release(self, size: int) -> None:
        if size <= 0:
            return
        with self._changed:
            self._used -= size
            self._changed.notify()


def metadata_values(context: grpc.ServicerContext) -> dict[str, list[str]]:
    """Collect request metadata into lists per key, decoding ``-encoded`` keys.

    BuildKit v0.12+ URL-query-escapes the values of a key when any of them
    contains non-ASCII characters and then sends ``<key>-encoded: 1``.
    """
    raw: dict[str, list[str]] = {}
    for key, value in context.invocation_metadata() or ():
        if isinstance(value, bytes):
            continue
        raw.setdefault(key, []).append(value)
    decoded: dict[str, list[str]] = {}
    for key, values in raw.items():
        flag = raw.get(f"{key}-encoded", [""])[0]
        if flag in ("1", "t", "T", "true", "TRUE", "True"):
            decoded[key] = [unquote_plus(value) for value in values]
        else:
            decoded[key] = values
    return decoded


class FileSyncService:
    """The FileSync handler of a session, serving the directories it is given."""

    def __init__(
        self,
        local_dirs: Mapping[str, Path],
        on_transfer: Callable[[TransferStats], None] | None = None,
    ) -> None:
        self._local_dirs = dict(local_dirs)
        self._on_transfer = on_transfer
        self._lock = threading.Lock()
        self._active: set[_Transfer] = set()
        self.read_ahead = ReadAheadBudget()

    def stop_all(self) -> None:
        """End the transfers still running and log how far each got."""
        with self._lock:
            active = list(self._active)
        for transfer in active:
            transfer.stop("the session closed")

    def method_handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        """Return the handler for ``FileSync/DiffCopy``, keyed by method name.

        The method is declared with BytesMessage, but fsutil Packets travel
        on it, so requests are parsed as Packets. Responses are Packets or
        Packets serialized already.
        """
        return {
            "DiffCopy": grpc.stream_stream_rpc_method_handler(
                self.diff_copy,
                request_deserializer=Packet.FromString,
                response_serializer=serialize_packet,
            )
        }

    def diff_copy(
        self, requests: Iterator[Packet], context: grpc.ServicerContext
    ) -> Iterator[Packet | bytes | MessageBatch]:
        options = metadata_values(context)
        dir_name = (options.get(KEY_DIR_NAME) or [""])[0]
        root = self._local_dirs.get(dir_name)
        if root is None:
            logger.warning("the daemon requested unknown local directory %r", dir_name)
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"no access allowed to dir {dir_name!r}"
            )
            raise AssertionError("context.abort returned")
        transfer = _Transfer(
            dir_name,
            root,
            include=options.get(KEY_INCLUDE_PATTERNS, []),
            exclude=options.get(KEY_EXCLUDE_PATTERNS, []),
            follow_paths=options.get(KEY_FOLLOW_PATHS, []),
            read_ahead=self.read_ahead,
            on_done=self._transfer_done,
        )
        with self._lock:
            self._active.add(transfer)
        return transfer.run(requests, context)

    def _transfer_done(self, transfer: _Transfer, stats: TransferStats) -> None:
        with self._lock:
            self._active.discard(transfer)
        if self._on_transfer is not None:
            self._on_transfer(stats)


class _Transfer:
    """One DiffCopy call: walks the directory, serves requests, streams files."""

    def __init__(
        self,
        dir_name: str,
        root: Path,
        *,
        include: Sequence[str],
        exclude: Sequence[str],
        follow_paths: Sequence[str],
        read_ahead: ReadAheadBudget,
        on_done: Callable[[_Transfer, TransferStats], None] | None,
    ) -> None:
        self.dir_name = dir_name
        self.root = root
        self.include = list(include)
        self.exclude = list(exclude)
        self.follow_paths = list(follow_paths)
        self._on_done = on_done
        self._read_ahead = read_ahead
        # Read-ahead bytes this transfer has reserved, given back when it ends.
        self._read_ahead_taken = 0
        self._outgoing: queue.Queue[object] = queue.Queue(QUEUE_SIZE)
        self._stat_batches = threading.Semaphore(QUEUED_STAT_BATCHES)
        self._file_requests: queue.Queue[tuple[int, str] | None] = queue.Queue()
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._requestable: dict[int, str] = {}
        self._entries = 0
        self._files_sent = 0
        self._bytes_sent = 0
        self._error: str | None = None
        self._stop_reason = "the daemon ended the transfer"
        self._started = time.monotonic()
        self._ended = False
        self.description = describe_transfer(dir_name, self.include)

    def run(
        self, requests: Iterator[Packet], context: grpc.ServicerContext
    ) -> Iterator[Packet | bytes | MessageBatch]:
        """Serve the call: yield Packets, serialized Packets and batches of them."""
        self._started = time.monotonic()
        logger.info(
            "sending %s from %s with %d exclude and %d follow patterns",
            self.description,
            self.root,
            len(self.exclude),
            len(self.follow_paths),
        )
        context.add_callback(self._cancelled.set)
        threads = [
            threading.Thread(target=self._walk, name="filesync-walk", daemon=True),
            threading.Thread(
                target=self._read_requests,
                args=(requests,),
                name="filesync-requests",
                daemon=True,
            ),
        ]
        threads.extend(
            threading.Thread(target=self._send_files, name="filesync-file", daemon=True)
            for _ in range(FILE_WORKERS)
        )
        for thread in threads:
            thread.start()

        finished = False
        try:
            while True:
                try:
                    item = self._outgoing.get(timeout=PUT_POLL_SECONDS)
                except queue.Empty:
                    if self._cancelled.is_set():
                        break
                    continue
                if item is _DONE:
                    finished = True
                    break
                if isinstance(item, TransferError):
                    self._error = str(item)
                    yield Packet(type=fsutil_pb2.PACKET_ERR, data=str(item).encode())
                    break
                assert isinstance(item, _Outgoing)
                self._give_back(item.read_ahead)
                if item.stat_batch:
                    self._stat_batches.release()
                yield item.messages
        finally:
            self._end(finished, self._stop_reason)
        if self._error is not None:
            context.abort(grpc.StatusCode.UNKNOWN, self._error)

    def stop(self, reason: str) -> None:
        """End the transfer from flense's side, e.g. when the session closes."""
        self._end(False, reason)

    def _end(self, finished: bool, reason: str) -> None:
        """Stop the worker threads and log the outcome, once per transfer."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
        self._cancelled.set()
        for _ in range(FILE_WORKERS):
            self._file_requests.put(None)
        with self._lock:
            taken, self._read_ahead_taken = self._read_ahead_taken, 0
        self._read_ahead.release(taken)
        stats = TransferStats(
            self.dir_name,
            self._entries,
            self._files_sent,
            self._bytes_sent,
            time.monotonic() - self._started,
            tuple(self.include),
        )
        if finished:
            logger.info(
                "sent %s: %d entries, %d files, %d bytes in %.1f s",
                self.description,
                stats.entries,
                stats.files_sent,
                stats.bytes_sent,
                stats.seconds,
            )
        elif self._error is not None:
            logger.warning(
                "sending %s failed after %d entries, %d files, %d bytes: %s",
                self.description,
                stats.entries,
                stats.files_sent,
                stats.bytes_sent,
                self._error,
            )
        else:
            # The daemon cancels the transfers of a build that failed or was
            # interrupted, and the build's own error gives the reason.
            logger.info(
                "sending %s stopped after %d entries, %d files, %d bytes: %s",
                self.description,
                stats.entries,
                stats.files_sent,
                stats.bytes_sent,
                reason,
            )
        if self._on_done is not None:
            self._on_done(self, stats)

    def _put(self, item: object) -> None:
        """Queue an outgoing item, giving up when the RPC has ended."""
        while True:
            if self._cancelled.is_set():
                raise _Cancelled
            try:
                self._outgoing.put(item, timeout=PUT_POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _put_stat_batch(self, batch: list[bytes]) -> None:
        """Queue STAT packets once fewer than QUEUED_STAT_BATCHES wait."""
        while not self._stat_batches.acquire(timeout=PUT_POLL_SECONDS):
            if self._cancelled.is_set():
                raise _Cancelled
        self._put(_Outgoing(MessageBatch(batch), stat_batch=True))

    def _fail(self, message: str) -> None:
        with contextlib.suppress(_Cancelled):
            self._put(TransferError(message))

    def _walk(self) -> None:
        try:
            entries = walk(
                self.root,
                include=self.include,
                exclude=self.exclude,
                follow_paths=self.follow_paths,
            )
            batch: list[bytes] = []
            for index, entry in enumerate(entries):
                packet = Packet(type=fsutil_pb2.PACKET_STAT)
                _fill_stat(packet.stat, entry, self.root)
                if modes.is_regular(packet.stat.mode) and not entry.hardlink:
                    with self._lock:
                        self._requestable[index] = entry.path
                batch.append(packet.SerializeToString())
                if len(batch) == STAT_BATCH_SIZE:
                    self._put_stat_batch(batch)
                    batch = []
                self._entries = index + 1
            batch.append(Packet(type=fsutil_pb2.PACKET_STAT).SerializeToString())
            self._put_stat_batch(batch)
        except _Cancelled:
            return
        # walk raises PatternSyntaxError, a ValueError, for a bad pattern.
        except (OSError, ValueError, TransferError) as error:
            logger.warning("walking %s failed: %s", self.description, error)
            self._fail(f"reading local directory {self.dir_name!r} failed: {error}")

    def _read_requests(self, requests: Iterator[Packet]) -> None:
        try:
            for packet in requests:
                if packet.type == fsutil_pb2.PACKET_REQ:
                    with self._lock:
                        path = self._requestable.pop(packet.ID, None)
                    if path is None:
                        self._fail(f"invalid file id {packet.ID}")
                        return
                    logger.debug("the daemon requested %s (id %d)", path, packet.ID)
                    self._file_requests.put((packet.ID, path))
                elif packet.type == fsutil_pb2.PACKET_FIN:
                    self._put(_Outgoing(Packet(type=fsutil_pb2.PACKET_FIN)))
                    self._put(_DONE)
                    return
                elif packet.type == fsutil_pb2.PACKET_ERR:
                    message = packet.data.decode("utf-8", "replace")
                    if GO_CONTEXT_CANCELED in message:
                        # The daemon stops the transfers of a build that
                        # failed or was interrupted this way.
                        self._stop_reason = f"the daemon cancelled it ({message})"
                        self._cancelled.set()
                        return
                    self._fail(f"error from receiver: {message}")
                    return
            # The request stream ended without FIN: the daemon cancelled.
            self._cancelled.set()
        except _Cancelled:
            return
        except grpc.RpcError as error:
            logger.debug("request stream of %s ended: %s", self.description, error)
            self._cancelled.set()

    def _send_files(self) -> None:
        while True:
            request = self._file_requests.get()
            if request is None or self._cancelled.is_set():
                return
            file_id, path = request
            try:
                self._send_file(file_id, path)
            except _Cancelled:
                return

    def _send_file(self, file_id: int, path: str) -> None:
        """Send a file as DATA packets and an empty DATA packet.

        Each chunk takes its size from the read-ahead budget before it is
        read. The last chunk and the end packet go as one queue item.
        """
        full_path = os.path.join(self.root, path)
        end = Packet(type=fsutil_pb2.PACKET_DATA, ID=file_id).SerializeToString()
        try:
            descriptor = os.open(full_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as error:
            # fsutil's sender does the same: the file arrives empty.
            logger.warning("cannot open %s, sending it empty: %s", full_path, error)
            self._put(_Outgoing(end))
        else:
            try:
                self._send_chunks(file_id, descriptor, end)
            finally:
                os.close(descriptor)
        with self._lock:
            self._files_sent += 1

    def _send_chunks(self, file_id: int, descriptor: int, end: bytes) -> None:
        size = os.fstat(descriptor).st_size
        sent = 0
        # A chunk read past the size fstat returned: the file grew meanwhile.
        # NOTE: its bytes are not counted in the read-ahead budget, because
        # taking budget while holding a chunk could deadlock the readers.
        extra = b""
        while True:
            if extra:
                chunk, budgeted, extra = extra, 0, b""
            else:
                chunk = self._read_chunk(descriptor)
                budgeted = len(chunk)
            if not chunk:
                self._put(_Outgoing(end))
                return
            sent += len(chunk)
            data = Packet(
                type=fsutil_pb2.PACKET_DATA, ID=file_id, data=chunk
            ).SerializeToString()
            with self._lock:
                self._bytes_sent += len(chunk)
            if sent >= size:
                # Most likely the last chunk: confirm, then send it together
                # with the end packet.
                extra = os.read(descriptor, CHUNK_SIZE)
                if not extra:
                    self._put(_Outgoing(MessageBatch([data, end]), budgeted))
                    return
            self._put(_Outgoing(data, budgeted))

    def _read_chunk(self, descriptor: int) -> bytes:
        """Read the next chunk, holding read-ahead bytes for what it returns."""
        self._take(CHUNK_SIZE)
        try:
            chunk = os.read(descriptor, CHUNK_SIZE)
        except BaseException:
            self._give_back(CHUNK_SIZE)
            raise
        self._give_back(CHUNK_SIZE - len(chunk))
        return chunk

    def _take(self, size: int) -> None:
        """Take read-ahead bytes for this transfer; see ReadAheadBudget."""
        self._read_ahead.acquire(size, self._cancelled)
        with self._lock:
            ended = self._ended
            if not ended:
                self._read_ahead_taken += size
        if ended:
            self._read_ahead.release(size)
            raise _Cancelled

    def _give_back(self, size: int) -> None:
        if size <= 0:
            return
        with self._lock:
            if self._ended:
                # _end gave back everything this transfer held.
                return
            self._read_ahead_taken -= size
        self._read_ahead.release(size)


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """An item of a transfer's queue: messages and the read-ahead they hold."""

    messages: Packet | bytes | MessageBatch
    read_ahead: int = 0
    stat_batch: bool = False


def serialize_packet(packet: Packet | bytes) -> bytes:
    """Serialize a Packet; bytes are a Packet serialized already."""
    if isinstance(packet, bytes):
        return packet
    return packet.SerializeToString()


def describe_transfer(dir_name: str, include: Sequence[str]) -> str:
    """Name a transfer for log lines, with its first include patterns."""
    if not include:
        return f"local directory {dir_name!r}"
    patterns = ", ".join(include[:LOGGED_INCLUDE_PATTERNS])
    hidden = len(include) - LOGGED_INCLUDE_PATTERNS
    if hidden > 0:
        patterns += f" and {hidden} more"
    return f"local directory {dir_name!r} (include {patterns})"


def readable_name(name: str) -> str:
    """Return a file name with each byte that is not UTF-8 written as ``\\xNN``.

    ``name`` comes from ``os.fsdecode``, so such bytes are lone surrogates.
    """
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def non_utf8_name_error(entry: Entry) -> TransferError:
    """Describe a walk entry whose path or symlink target is not UTF-8."""
    path = readable_name(entry.path)
    if _is_utf8(entry.path):
        assert entry.link_target is not None
        return TransferError(
            f"the symlink '{path}' points to "
            f"'{readable_name(entry.link_target)}', which is not valid UTF-8 "
            f"(invalid bytes are shown as \\xNN), and flense can send only UTF-8 "
            f"names to BuildKit; change the link's target, or exclude the link "
            f"with a pattern such as '**/{_pattern_for(entry.path)}'"
        )
    return TransferError(
        f"the file name '{path}' is not valid UTF-8 (invalid bytes are shown as "
        f"\\xNN), and flense can send only UTF-8 names to BuildKit; rename the "
        f"file, or exclude it with a pattern such as "
        f"'**/{_pattern_for(entry.path)}'"
    )


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _pattern_for(path: str) -> str:
    """Return an exclude pattern for path's last element: ``?`` per bad byte."""
    escaped = escape(path.rpartition("/")[2])
    return "".join(character if _is_utf8(character) else "?" for character in escaped)


def _fill_stat(stat: fsutil_pb2.Stat, entry: Entry, root: Path) -> None:
    """Fill an fsutil Stat from a walk entry, as fsutil's Go sender would.

    uid and gid are 0, as BuildKit's Go client rewrites them, because they are
    part of the daemon's content checksums and the files' owners in the image.
    """
    info = entry.stat
    try:
        stat.path = entry.path
        if entry.link_target is not None:
            stat.linkname = entry.link_target
    except UnicodeEncodeError as error:
        # NOTE: Go sends such names as raw bytes; Python's protobuf accepts
        # only valid UTF-8 in string fields, so flense cannot send them.
        raise non_utf8_name_error(entry) from error

    stat.mode = modes.go_file_mode(info.st_mode)
    if not stat.mode & modes.MODE_DIR:
        # A hardlink entry carries its file's size too, although its data
        # travels with the first path. The daemon compares sizes with its
        # previous copy, where fsutil's walk gives every link the size. On a
        # mismatch it re-links the file, and because renaming a new link over
        # an old link to the same file does nothing, a ".tmp.*" file stayed.
        stat.size = info.st_size
    stat.modTime = info.st_mtime_ns
    if stat.mode & modes.MODE_DEVICE:
        stat.devmajor, stat.devminor = modes.device_numbers(info.st_rdev)
    _fill_xattrs(stat, os.path.join(root, entry.path))


def _fill_xattrs(stat: fsutil_pb2.Stat, path: str) -> None:
    """Copy extended attributes, skipping ``com.apple.*`` as fsutil does."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        if name.startswith("com.apple."):
            continue
        try:
            stat.xattrs[name] = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
