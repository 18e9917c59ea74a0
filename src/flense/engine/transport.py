"""Byte relays between sockets, used to carry gRPC through HTTP upgrades.

grpcio can only dial a plain address, and can only serve on a listening
socket. dockerd, however, offers BuildKit on a connection that first speaks
HTTP/1.1 and then switches to HTTP/2. flense bridges the two with local unix
sockets in a private directory and a pair of threads per connection that
copy bytes both ways (``Splice``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable

from flense.engine.dockerapi import UpgradedConnection

logger = logging.getLogger(__name__)

BUFFER_SIZE = 1024 * 1024


def private_socket_dir(prefix: str) -> str:
    """Create a directory for local sockets that only this user can enter."""
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o700)
    return path


class Splice:
    """Copies bytes between two connected sockets until both directions end.

    When one side ends its writes, the other side's write half is shut down,
    so HTTP/2's end of connection passes through. An error in either direction
    shuts both sockets down. ``initial_bytes`` are sent to ``right`` before
    anything read from ``left``.
    """

    def __init__(
        self,
        left: socket.socket,
        right: socket.socket,
        *,
        name: str,
        initial_bytes: bytes = b"",
        on_close: Callable[[Splice], None] | None = None,
    ) -> None:
        self.name = name
        self._left = left
        self._right = right
        self._initial_bytes = initial_bytes
        self._on_close = on_close
        self._lock = threading.Lock()
        self._running = 2
        self._closed = False
        self._threads = [
            threading.Thread(
                target=self._copy,
                args=(left, right, initial_bytes),
                name=f"{name}-out",
                daemon=True,
            ),
            threading.Thread(
                target=self._copy,
                args=(right, left, b""),
                name=f"{name}-in",
                daemon=True,
            ),
        ]

    def start(self) -> Splice:
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        """Shut both sockets down; the copy threads then end on their own."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for sock in (self._left, self._right):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def _copy(self, source: socket.socket, target: socket.socket, first: bytes) -> None:
        buffer = bytearray(BUFFER_SIZE)
        view = memoryview(buffer)
        try:
            if first:
                target.sendall(first)
            while True:
                count = source.recv_into(buffer)
                if count == 0:
                    break
                target.sendall(view[:count])
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)
        except OSError as error:
            if not self._closed:
                logger.debug("%s: connection ended with an error: %s", self.name, error)
            self.close()
        finally:
            self._finish_direction()

    def _finish_direction(self) -> None:
        with self._lock:
            self._running -= 1
            done = self._running == 0
        if not done:
            return
        for sock in (self._left, self._right):
            with contextlib.suppress(OSError):
                sock.close()
        logger.debug("%s: closed", self.name)
        if self._on_close is not None:
            self._on_close(self)


class UpgradeRelay:
    """A local unix socket whose connections are relayed through an upgrade.

    For each connection accepted on ``path``, ``dial`` opens a connection to
    the engine and switches it to HTTP/2. The relay then splices the two.
    flense points a grpcio channel at ``path``, where grpcio finds what looks
    like a plain HTTP/2 server.
    """

    def __init__(self, dial: Callable[[], UpgradedConnection], *, name: str) -> None:
        self._dial = dial
        self._name = name
        self._directory = private_socket_dir(f"flense-{name}-")
        self.path = os.path.join(self._directory, "relay.sock")
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(16)
        self._lock = threading.Lock()
        self._splices: set[Splice] = set()
        self._closed = False
        self._count = 0
        self._thread = threading.Thread(
            target=self._accept_loop, name=f"{name}-accept", daemon=True
        )
        self._thread.start()
        logger.debug("%s: listening on %s", name, self.path)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            splices = list(self._splices)
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for splice in splices:
            splice.close()
        self._thread.join(5)
        for splice in splices:
            splice.join(5)
        shutil.rmtree(self._directory, ignore_errors=True)
        logger.debug("%s: stopped", self._name)

    def _accept_loop(self) -> None:
        while True:
            try:
                local, _ = self._listener.accept()
            except OSError:
                if not self._closed:
                    logger.exception("%s: accepting a connection failed", self._name)
                return
            threading.Thread(
                target=self._relay,
                args=(local,),
                name=f"{self._name}-dial",
                daemon=True,
            ).start()

    def _relay(self, local: socket.socket) -> None:
        try:
            upgraded = self._dial()
        except Exception as error:
            # grpcio only gets a closed connection and reports UNAVAILABLE,
            # so the reason is logged here.
            logger.warning("%s: connecting to the engine failed: %s", self._name, error)
            local.close()
            return
        with self._lock:
            self._count += 1
            name = f"{self._name}-{self._count}"
            if self._closed:
                local.close()
                upgraded.sock.close()
                return
            splice = Splice(
                upgraded.sock,
                local,
                name=name,
                initial_bytes=upgraded.initial_bytes,
                on_close=self._forget,
            )
            self._splices.add(splice)
        logger.debug("%s: relaying a new connection", name)
        splice.start()

    def _forget(self, splice: Splice) -> None:
        with self._lock:
            self._splices.discard(splice)
