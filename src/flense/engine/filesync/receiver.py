"""Export receivers: serve ``/moby.filesync.v1.FileSend/DiffCopy``.

The daemon calls FileSend once per exporter that delivers to the client, and
names the exporter by its position in ``SolveRequest.Exporters`` in the
``buildkit-attachable-exporter-id`` request metadata (absent means 0, as on
daemons older than BuildKit v0.13). Two payloads travel on the same method:

* ``local`` exporter: fsutil Packets, with the daemon as sender and flense as
  receiver. flense writes the tree into a staging directory.
* ``tar`` exporter (and ``oci``/``docker`` with ``tar=true``): BytesMessages
  whose data are consecutive pieces of one tar stream, ended by the daemon's
  half-close. flense writes them to a temporary file, or to stdout.

The client moves a staged export into place after the build succeeded
(see ``staging``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat as stat_module
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import grpc
from google.protobuf.message import DecodeError

from flense.engine.filesync import modes
from flense.engine.filesync.sender import metadata_values
from flense.engine.filesync.staging import (
    DirectoryTarget,
    ExportTarget,
    FileTarget,
    StagingError,
)
from flense.engine.proto import filesync_pb2, fsutil_pb2

logger = logging.getLogger(__name__)

FILE_SEND_DIFF_COPY = "/moby.filesync.v1.FileSend/DiffCopy"
KEY_EXPORTER_ID = "buildkit-attachable-exporter-id"
KEY_EXPORTER_METADATA_PREFIX = "exporter-md-"

Packet = fsutil_pb2.Packet


class ReceiveError(Exception):
    """The daemon sent an export that flense cannot or must not write."""


class FileSendService:
    """The FileSend handler of a session, one target per exporter index."""

    def __init__(self, targets: Mapping[int, ExportTarget]) -> None:
        self._targets = dict(targets)
        self._active = 0
        self._idle = threading.Condition()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no export is being received, and return False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    def method_handlers(self) -> dict[str, grpc.RpcMethodHandler]:
        """Return the handler for ``FileSend/DiffCopy``, keyed by method name.

        Messages stay raw bytes here because their type depends on the target.
        """
        return {
            "DiffCopy": grpc.stream_stream_rpc_method_handler(
                self.diff_copy,
                request_deserializer=None,
                response_serializer=None,
            )
        }

    def diff_copy(
        self, requests: Iterator[bytes], context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        options = metadata_values(context)
        exporter_id = _exporter_id(options.get(KEY_EXPORTER_ID, []))
        target = self._targets.get(exporter_id)
        if target is None:
            logger.warning(
                "the daemon sent an export for unknown exporter %d", exporter_id
            )
            context.abort(
                grpc.StatusCode.NOT_FOUND, f"exporter {exporter_id} not found"
            )
            raise AssertionError("context.abort returned")
        exporter_metadata = {
            key.removeprefix(KEY_EXPORTER_METADATA_PREFIX): ",".join(values)
            for key, values in options.items()
            if key.startswith(KEY_EXPORTER_METADATA_PREFIX)
        }
        if exporter_metadata:
            logger.debug("exporter %d metadata: %s", exporter_id, exporter_metadata)
        if isinstance(target, DirectoryTarget):
            return self._tracked(
                _receive_directory(requests, context, target, exporter_id)
            )
        return self._tracked(_receive_file(requests, context, target, exporter_id))

    def _tracked(self, responses: Iterator[bytes]) -> Iterator[bytes]:
        """Count the call as active until ``responses`` ends or is closed."""
        with self._idle:
            self._active += 1
        try:
            yield from responses
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()


def _exporter_id(values: list[str]) -> int:
    """Parse the exporter index; a missing or invalid value means 0, as in Go."""
    if not values:
        return 0
    try:
        return int(values[0])
    except ValueError:
        return 0


def _receive_file(
    requests: Iterator[bytes],
    context: grpc.ServicerContext,
    target: FileTarget,
    exporter_id: int,
) -> Iterator[bytes]:
    """Write the tar stream to the target. The daemon gets no messages back."""
    started = time.monotonic()
    written = 0
    destination = target.destination
    logger.info("receiving export %d into %s", exporter_id, destination)
    try:
        with target.open() as output:
            for raw in requests:
                data = filesync_pb2.BytesMessage.FromString(raw).data
                output.write(data)
                written += len(data)
    except grpc.RpcError:
        # The request iterator raises this when the daemon cancels the call
        # because the build failed or was interrupted.
        logger.info(
            "receiving export %d into %s stopped after %d bytes: the daemon "
            "cancelled it",
            exporter_id,
            destination,
            written,
        )
        target.discard()
        return
    except (OSError, StagingError) as error:
        logger.warning(
            "writing export %d to %s failed: %s", exporter_id, destination, error
        )
        target.discard()
        context.abort(
            grpc.StatusCode.INTERNAL, f"failed to write {destination}: {error}"
        )
    target.mark_complete()
    logger.info(
        "received export %d for %s: %d bytes in %.1f s",
        exporter_id,
        destination,
        written,
        time.monotonic() - started,
    )
    yield from ()


def _receive_directory(
    requests: Iterator[bytes],
    context: grpc.ServicerContext,
    target: DirectoryTarget,
    exporter_id: int,
) -> Iterator[bytes]:
    """Run the fsutil receiver; yield the REQ and FIN packets to send."""
    started = time.monotonic()
    destination = target.destination
    logger.info("receiving export %d into directory %s", exporter_id, destination)
    writer: DirectoryWriter | None = None
    next_id = 0
    listing_done = False
    fin_sent = False
    try:
        writer = DirectoryWriter(Path(target.open()))
        writer.open()
        for raw in requests:
            packet = _parse_packet(raw)
            if packet.type == fsutil_pb2.PACKET_STAT:
                if not packet.HasField("stat"):
                    listing_done = True
                else:
                    if writer.add(next_id, packet.stat):
                        yield Packet(
                            type=fsutil_pb2.PACKET_REQ, ID=next_id
                        ).SerializeToString()
                    next_id += 1
            elif packet.type == fsutil_pb2.PACKET_DATA:
                writer.write(packet.ID, packet.data)
            elif packet.type == fsutil_pb2.PACKET_FIN:
                break
            elif packet.type == fsutil_pb2.PACKET_ERR:
                raise ReceiveError(
                    f"error from sender: {packet.data.decode('utf-8', 'replace')}"
                )

            if listing_done and not fin_sent and writer.complete:
                target.mark_complete(writer.finish)
                # Set before the yield: once the daemon has the FIN it may end
                # the call, and grpcio then closes this generator at the yield.
                fin_sent = True
                yield Packet(type=fsutil_pb2.PACKET_FIN).SerializeToString()
        if not fin_sent:
            raise ReceiveError("the export ended before all files arrived")
    except (grpc.RpcError, GeneratorExit):
        # RpcError comes from the request iterator and GeneratorExit from
        # grpcio dropping this generator when the daemon ends the call. The
        # daemon may do so as soon as it has flense's FIN; before that, it
        # means that the build failed or was interrupted.
        if not fin_sent:
            logger.info(
                "receiving export %d into %s stopped: the daemon cancelled it",
                exporter_id,
                destination,
            )
            target.discard()
            return
    except (ReceiveError, StagingError, OSError) as error:
        logger.warning(
            "receiving export %d into %s failed: %s", exporter_id, destination, error
        )
        target.discard()
        yield Packet(
            type=fsutil_pb2.PACKET_ERR, data=str(error).encode()
        ).SerializeToString()
        context.abort(grpc.StatusCode.INTERNAL, str(error))
    finally:
        if writer is not None:
            writer.close()
    assert writer is not None
    logger.info(
        "received export %d for %s: %d entries, %d files, %d bytes in %.1f s",
        exporter_id,
        destination,
        writer.entries,
        writer.files,
        writer.bytes_written,
        time.monotonic() - started,
    )


def _parse_packet(raw: bytes) -> fsutil_pb2.Packet:
    try:
        return Packet.FromString(raw)
    except DecodeError as error:
        # Python's protobuf rejects string fields that are not UTF-8, which
        # Go's fsutil sends for such file names.
        raise ReceiveError(
            f"invalid fsutil packet ({error}); a file name in the export may "
            f"not be valid UTF-8"
        ) from error


class DirectoryWriter:
    """Write fsutil entries below a destination directory.

    Every parent of an entry must have arrived earlier in the same listing as
    a directory, and no path may arrive twice. Because flense replaces any
    non-directory it finds where a listed directory goes, each parent is then
    a real directory it created or checked, and no entry can be written
    through a symlink to a place outside the destination.
    """

    def __init__(self, destination: Path) -> None:
        self.root = os.path.abspath(destination)
        self.entries = 0
        self.files = 0
        self.bytes_written = 0
        self._seen: set[str] = set()
        self._directories: list[tuple[str, fsutil_pb2.Stat]] = []
        self._directory_paths: set[str] = set()
        self._regular_files: set[str] = set()
        self._requested: dict[int, fsutil_pb2.Stat] = {}
        self._open: dict[int, int] = {}

    @property
    def complete(self) -> bool:
        return not self._requested

    def open(self) -> None:
        os.makedirs(self.root, exist_ok=True)

    def add(self, file_id: int, stat: fsutil_pb2.Stat) -> bool:
        """Create one entry; return whether its contents must be requested."""
        path = self._check_path(stat.path)
        full_path = os.path.join(self.root, path)
        mode = stat.mode
        self.entries += 1

        if mode & modes.MODE_DIR:
            self._make_directory(full_path)
            self._directories.append((full_path, stat))
            self._directory_paths.add(path)
            return False

        _remove_existing(full_path)
        if mode & modes.MODE_SYMLINK:
            os.symlink(stat.linkname, full_path)
            _set_mtime(full_path, stat.modTime)
            return False
        if modes.is_regular(mode) and stat.linkname:
            target = self._check_path(stat.linkname, new=False)
            if target not in self._regular_files:
                raise ReceiveError(
                    f"invalid hardlink {path!r} to {target!r}, which is not an "
                    f"earlier regular file of the export"
                )
            os.link(os.path.join(self.root, target), full_path, follow_symlinks=False)
            return False
        if modes.is_regular(mode):
            descriptor = os.open(
                full_path,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
            )
            os.close(descriptor)
            self._regular_files.add(path)
            self._requested[file_id] = stat
            return True
        self._make_special(full_path, stat)
        return False

    def write(self, file_id: int, data: bytes) -> None:
        """Append file data; empty data ends the file and sets its metadata."""
        stat = self._requested.get(file_id)
        if stat is None:
            raise ReceiveError(f"invalid file request {file_id}")
        full_path = os.path.join(self.root, stat.path)
        if data:
            descriptor = self._open.get(file_id)
            if descriptor is None:
                descriptor = os.open(
                    full_path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
                )
                self._open[file_id] = descriptor
            view = memoryview(data)
            while view:
                count = os.write(descriptor, view)
                view = view[count:]
            self.bytes_written += len(data)
            return

        descriptor = self._open.pop(file_id, None)
        if descriptor is not None:
            os.close(descriptor)
        del self._requested[file_id]
        self.files += 1
        os.chmod(full_path, modes.unix_mode(stat.mode).permissions)
        _set_xattrs(full_path, stat)
        _set_mtime(full_path, stat.modTime)

    def finish(self, root: str | None = None) -> None:
        """Set directory modes and mtimes, children before parents.

        ``root`` is where the tree is now, when it was moved after writing.
        """
        for full_path, stat in reversed(self._directories):
            if root is not None:
                full_path = os.path.join(root, stat.path)
            os.chmod(full_path, modes.unix_mode(stat.mode).permissions)
            _set_xattrs(full_path, stat)
            _set_mtime(full_path, stat.modTime)

    def close(self) -> None:
        for descriptor in self._open.values():
            with contextlib.suppress(OSError):
                os.close(descriptor)
        self._open.clear()

    def _check_path(self, path: str, *, new: bool = True) -> str:
        parts = path.split("/")
        if (
            not path
            or path.startswith("/")
            or "\0" in path
            or any(part in ("", ".", "..") for part in parts)
        ):
            raise ReceiveError(
                f"invalid path {path!r} in the export: it is not a clean relative "
                f"path inside the destination"
            )
        if not new:
            return path
        if path in self._seen:
            raise ReceiveError(f"invalid export: the path {path!r} was sent twice")
        parent = path.rpartition("/")[0]
        if parent and parent not in self._directory_paths:
            raise ReceiveError(
                f"invalid export: {path!r} arrived before its directory {parent!r}"
            )
        self._seen.add(path)
        return path

    def _make_directory(self, full_path: str) -> None:
        try:
            info = os.lstat(full_path)
        except FileNotFoundError:
            os.mkdir(full_path, 0o700)
            return
        if not stat_module.S_ISDIR(info.st_mode):
            os.unlink(full_path)
            os.mkdir(full_path, 0o700)
            return
        # The final mode is set in finish(); until then flense must be able
        # to write into a directory that an earlier export made read-only.
        os.chmod(full_path, stat_module.S_IMODE(info.st_mode) | 0o700)

    def _make_special(self, full_path: str, stat: fsutil_pb2.Stat) -> None:
        try:
            unix = modes.unix_mode(stat.mode)
        except ValueError as error:
            raise ReceiveError(f"cannot create {stat.path!r}: {error}") from error
        device = 0
        if unix.file_type in (stat_module.S_IFCHR, stat_module.S_IFBLK):
            device = modes.device_id(stat.devmajor, stat.devminor)
        try:
            if unix.file_type == stat_module.S_IFIFO:
                os.mkfifo(full_path, 0o600)
            else:
                os.mknod(full_path, unix.file_type | 0o600, device)
        except PermissionError as error:
            # NOTE: BuildKit's own client fails here; flense skips device
            # nodes it may not create so that exporting a root filesystem
            # works without root.
            logger.warning("skipping special file %s: %s", stat.path, error)
            return
        os.chmod(full_path, unix.permissions)
        _set_mtime(full_path, stat.modTime)


def _remove_existing(full_path: str) -> None:
    try:
        info = os.lstat(full_path)
    except FileNotFoundError:
        return
    if stat_module.S_ISDIR(info.st_mode):
        shutil.rmtree(full_path)
    else:
        os.unlink(full_path)


def _set_mtime(full_path: str, mtime_ns: int) -> None:
    os.utime(full_path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)


def _set_xattrs(full_path: str, stat: fsutil_pb2.Stat) -> None:
    for name, value in stat.xattrs.items():
        try:
            os.setxattr(full_path, name, value, follow_symlinks=False)
        except OSError as error:
            logger.debug("cannot set xattr %s on %s: %s", name, full_path, error)
