"""Export destinations that show nothing until the build succeeds.

The receiver writes an export into a staging file or directory on the
destination's file system. The client calls ``commit`` only after Solve
returned success, and ``discard`` in every case, so an interrupted or failed
build leaves no half-written file under a final name:

* a file export goes to a temporary file in the destination's directory, and
  ``commit`` renames it over the destination;
* a ``local`` export goes to a staging directory, and ``commit`` renames it
  to the destination or, when the destination already exists, moves each
  entry into it. Existing files that the export does not name stay, as in
  BuildKit's local exporter.

A tar stream on standard output (destination ``-``) is written as it
arrives and cannot be taken back.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import shutil
import stat as stat_module
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from flense.errors import EngineError

logger = logging.getLogger(__name__)

STAGING_MARKER = ".flense-staging-"


class StagingError(Exception):
    """An export cannot be staged, e.g. because it was already discarded."""


class FileTarget:
    """A file export (tar, oci, docker): a file path, or ``-`` for stdout."""

    def __init__(self, destination: str) -> None:
        self.destination = destination
        self.temporary_path: str | None = None
        self._lock = threading.Lock()
        self._complete = False
        self._discarded = False

    @property
    def streams(self) -> bool:
        """Whether the export is written as it arrives, without staging.

        That is the case for standard output and for an existing destination
        that is not a regular file (``/dev/null``, a FIFO): renaming a staged
        file over a device node would replace the device.
        """
        return self.destination == "-" or _is_special_file(self.destination)

    @contextlib.contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """Yield the stream to write the export to.

        For a file this is a new temporary file beside the destination,
        synced to disk when the block ends without an exception.
        """
        if self.destination == "-":
            output = sys.stdout.buffer
            yield output
            output.flush()
            return
        if self.streams:
            with open(self.destination, "wb") as special:
                yield special
            return

        directory, name = os.path.split(os.path.abspath(self.destination))
        with self._lock:
            if self._discarded or self.temporary_path is not None:
                raise StagingError(
                    f"the export to {self.destination} was already started or discarded"
                )
            descriptor, path = _create_unique_file(directory, name)
            self.temporary_path = path
        logger.debug("staging the export to %s in %s", self.destination, path)
        with os.fdopen(descriptor, "wb") as output:
            yield output
            output.flush()
            os.fsync(output.fileno())

    def mark_complete(self) -> None:
        """Record that the daemon sent the whole export."""
        with self._lock:
            self._complete = True

    def commit(self) -> None:
        """Rename the temporary file to the destination."""
        if self.streams:
            return
        with self._lock:
            path = self.temporary_path
            if not self._complete or path is None:
                raise _incomplete_error(self.destination)
            try:
                os.replace(path, self.destination)
            except OSError as error:
                # The staged file stays for the user, so discard skips it.
                self.temporary_path = None
                raise EngineError(
                    f"moving the export into {self.destination} failed: "
                    f"{error.strerror}; the build result is in {path}"
                ) from error
            self.temporary_path = None
        logger.info("wrote the export to %s", self.destination)

    def discard(self) -> None:
        """Delete the temporary file, if any. Later ``open`` calls fail."""
        with self._lock:
            self._discarded = True
            path, self.temporary_path = self.temporary_path, None
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            logger.info("removed the unfinished export to %s", self.destination)


class DirectoryTarget:
    """A ``local`` export: a directory, created when missing."""

    def __init__(self, destination: Path) -> None:
        self.destination = Path(destination)
        self.staging_path: str | None = None
        self._lock = threading.Lock()
        self._finish: Callable[[str], None] | None = None
        self._discarded = False

    def open(self) -> str:
        """Create the staging directory and return its path.

        It is inside the destination when that exists, because its parent
        may not be writable (``dest=.``), and beside the destination
        otherwise, so that ``commit`` is one rename.
        """
        destination = os.path.abspath(self.destination)
        with self._lock:
            if self._discarded or self.staging_path is not None:
                raise StagingError(
                    f"the export to {destination} was already started or discarded"
                )
            if os.path.isdir(destination):
                path = _create_unique_directory(destination, "")
            else:
                parent, name = os.path.split(destination)
                path = _create_unique_directory(parent, name)
            self.staging_path = path
        logger.debug("staging the export to %s in %s", destination, path)
        return path

    def mark_complete(self, finish: Callable[[str], None]) -> None:
        """Record that the whole export arrived.

        ``finish`` sets directory modes and mtimes below a root. ``commit``
        runs it on the destination after moving the entries, because moving
        entries changes the mtimes of their parents and because a staged
        read-only directory could not be emptied.
        """
        with self._lock:
            self._finish = finish

    def commit(self) -> None:
        """Move the staged tree into the destination and set directory modes."""
        destination = os.path.abspath(self.destination)
        with self._lock:
            staging = self.staging_path
            finish = self._finish
            if finish is None or staging is None:
                raise _incomplete_error(destination)
            try:
                _move_tree(staging, destination)
            except OSError as error:
                # The entries not moved stay for the user, so discard skips
                # them. An interrupt here lets discard remove them instead.
                self.staging_path = None
                raise EngineError(
                    f"moving the export into {destination} failed: {error}; the "
                    f"entries not moved yet are in {staging}"
                ) from error
            self.staging_path = None
            try:
                finish(destination)
            except OSError as error:
                raise EngineError(
                    f"setting directory modes and mtimes in {destination} "
                    f"failed: {error}; the files are in place"
                ) from error
        logger.info("wrote the export to %s", destination)

    def discard(self) -> None:
        """Remove the staging directory, if any. Later ``open`` calls fail."""
        with self._lock:
            self._discarded = True
            path, self.staging_path = self.staging_path, None
        if path is not None:
            shutil.rmtree(path, ignore_errors=True)
            logger.info(
                "removed the unfinished export to %s", os.path.abspath(self.destination)
            )


ExportTarget = DirectoryTarget | FileTarget


def commit_all(targets: Iterable[ExportTarget]) -> None:
    """Commit each target, raising EngineError for the first that fails."""
    for target in targets:
        target.commit()


def discard_all(targets: Iterable[ExportTarget]) -> None:
    """Discard whatever each target still has staged."""
    for target in targets:
        target.discard()


def _incomplete_error(destination: str) -> EngineError:
    return EngineError(
        f"BuildKit reported success, but flense did not receive the whole export "
        f"to {destination}; build again"
    )


def _create_unique_file(directory: str, name: str) -> tuple[int, str]:
    # os.open with mode 0o666 lets the umask decide the final file's mode, as
    # open(path, "wb") would. tempfile.mkstemp would force 0o600.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    while True:
        path = os.path.join(directory, _staging_name(name))
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:
            continue


def _create_unique_directory(directory: str, name: str) -> str:
    while True:
        path = os.path.join(directory, _staging_name(name))
        try:
            os.mkdir(path, 0o777)
        except FileExistsError:
            continue
        return path


def _staging_name(name: str) -> str:
    prefix = f".{name}" if name else ""
    return f"{prefix}{STAGING_MARKER}{secrets.token_hex(6)}"


def _move_tree(staging: str, destination: str) -> None:
    """Move staging's tree to destination, merging into an existing directory.

    ``staging`` is removed at the end, even when it is inside the destination.
    """
    if os.path.dirname(staging) != destination:
        try:
            os.rename(staging, destination)
            return
        except OSError as error:
            # The destination appeared after the staging directory was made.
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
    _merge_directory(staging, destination)
    os.rmdir(staging)


def _merge_directory(source: str, target: str) -> None:
    """Move each entry of ``source`` into ``target``, replacing what is there.

    A directory that exists on both sides is merged. Anything else in the
    target, including a symlink, is replaced and never followed.
    """
    for name in os.listdir(source):
        source_path = os.path.join(source, name)
        target_path = os.path.join(target, name)
        source_is_dir = stat_module.S_ISDIR(os.lstat(source_path).st_mode)
        try:
            target_info = os.lstat(target_path)
        except FileNotFoundError:
            os.rename(source_path, target_path)
            continue

        target_is_dir = stat_module.S_ISDIR(target_info.st_mode)
        if source_is_dir and target_is_dir:
            # The export's finish step sets the final mode, and until then
            # the directory must be writable.
            os.chmod(target_path, stat_module.S_IMODE(target_info.st_mode) | 0o700)
            _merge_directory(source_path, target_path)
            os.rmdir(source_path)
        elif target_is_dir:
            shutil.rmtree(target_path)
            os.rename(source_path, target_path)
        elif source_is_dir:
            os.unlink(target_path)
            os.rename(source_path, target_path)
        else:
            os.replace(source_path, target_path)


def _is_special_file(path: str) -> bool:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    return not stat_module.S_ISREG(mode) and not stat_module.S_ISDIR(mode)
