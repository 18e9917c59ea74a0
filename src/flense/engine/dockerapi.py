"""The few Docker Engine API calls flense needs: version and connection upgrades.

dockerd exposes its embedded BuildKit through two HTTP/1.1 endpoints that
switch the connection to HTTP/2 without TLS ("h2c"). After ``POST /grpc``,
dockerd serves BuildKit's control API on the connection. After
``POST /session``, dockerd is the HTTP/2 client and calls the session
services that flense serves. ``/session`` exists since Docker 18.09 and
``/grpc`` since Docker 19.03. Both are deprecated from Docker 29.2, which
serves gRPC on the API socket directly.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from flense.engine.address import EngineAddress
from flense.errors import EngineError

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_HEAD_BYTES = 64 * 1024


@dataclass(frozen=True)
class DockerVersion:
    """The engine version and API version from ``GET /version``."""

    version: str  # e.g. "26.1.5+dfsg1"
    api_version: str  # the engine's maximum API version, e.g. "1.45"


@dataclass(frozen=True)
class UpgradedConnection:
    """A socket switched to HTTP/2, and bytes read past the 101 response."""

    sock: socket.socket
    initial_bytes: bytes


class DockerAPI:
    """An HTTP/1.1 client for the Docker API on a unix or TCP socket."""

    def __init__(self, address: EngineAddress) -> None:
        self.address = address

    def connect(self) -> socket.socket:
        """Open a new connection to the API socket.

        Raises EngineError that names the address and how to start the engine.
        """
        try:
            if self.address.network == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(CONNECT_TIMEOUT_SECONDS)
                try:
                    sock.connect(self.address.target)
                except OSError:
                    sock.close()
                    raise
            else:
                host, _, port = self.address.target.rpartition(":")
                sock = socket.create_connection(
                    (host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_SECONDS
                )
        except OSError as error:
            raise unreachable_error(self.address, error) from error
        sock.settimeout(None)
        return sock

    def version(self) -> DockerVersion:
        """Call ``GET /version`` (unversioned, so any engine accepts it)."""
        body = self._get_json("/version")
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("Version"), str)
            or not isinstance(body.get("ApiVersion"), str)
        ):
            raise EngineError(
                f"the Docker Engine at {self.address} returned an unexpected "
                f"/version response without Version or ApiVersion: {body!r:.200}"
            )
        return DockerVersion(body["Version"], body["ApiVersion"])

    def uses_containerd_store(self) -> bool:
        """Tell whether dockerd keeps images in containerd (``GET /info``).

        Docker Engine 26's BuildKit runs MergeOp and DiffOp only with the
        containerd image store; the classic graph-driver store rejects them.
        """
        body = self._get_json("/info")
        status = body.get("DriverStatus") if isinstance(body, dict) else None
        return any(
            isinstance(row, list)
            and "io.containerd.snapshotter" in " ".join(map(str, row))
            for row in status or []
        )

    def upgrade(
        self, path: str, headers: Sequence[tuple[str, str]] = ()
    ) -> UpgradedConnection:
        """Send ``POST path`` with ``Upgrade: h2c`` and return the switched socket.

        dockerd can send HTTP/2 bytes right after the ``101`` response, in the
        same read as the response head, so those bytes are returned in
        ``initial_bytes`` and must be delivered before anything else read
        from the socket.
        """
        sock = self.connect()
        try:
            lines = [
                f"POST {path} HTTP/1.1",
                "Host: docker",
                "User-Agent: flense",
                "Content-Length: 0",
                "Connection: Upgrade",
                "Upgrade: h2c",
            ]
            lines.extend(f"{name}: {value}" for name, value in headers)
            request = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
            sock.sendall(request)
            status, reason, head, rest = _read_response_head(sock)
            if status != 101:
                body = rest + _read_body(sock, head, len(rest))
                message = body.decode("utf-8", "replace").strip()
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    message = json.loads(message)["message"]
                raise EngineError(
                    f"the Docker Engine at {self.address} rejected the upgrade "
                    f"of POST {path} to HTTP/2: {status} {reason}: {message}"
                )
            logger.debug("upgraded %s on %s (%s)", path, self.address, head)
            return UpgradedConnection(sock, rest)
        except OSError as error:
            sock.close()
            raise EngineError(
                f"the connection to the Docker Engine at {self.address} failed "
                f"during POST {path}: {error}"
            ) from error
        except BaseException:
            sock.close()
            raise

    def _get_json(self, path: str) -> object:
        connection = _SocketHTTPConnection(self)
        try:
            connection.request("GET", path, headers={"Host": "docker"})
            response = connection.getresponse()
            data = response.read()
        except OSError as error:
            raise EngineError(
                f"GET {path} on the Docker Engine at {self.address} failed: {error}"
            ) from error
        except http.client.HTTPException as error:
            raise EngineError(
                f"GET {path} on the Docker Engine at {self.address} returned an "
                f"invalid HTTP response: {error}"
            ) from error
        finally:
            connection.close()
        if response.status != 200:
            raise EngineError(
                f"GET {path} on the Docker Engine at {self.address} failed: "
                f"{response.status} {response.reason}: "
                f"{data.decode('utf-8', 'replace').strip()}"
            )
        try:
            return json.loads(data)
        except ValueError as error:
            raise EngineError(
                f"GET {path} on the Docker Engine at {self.address} returned "
                f"invalid JSON: {error}"
            ) from error


def unreachable_error(
    address: EngineAddress, error: BaseException | str
) -> EngineError:
    """Build the error for an engine that cannot be reached at ``address``."""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else error
    if address.kind == "dockerd":
        fix = (
            "start Docker Engine 26 or newer (scripts/engine.sh installs and "
            "starts one), or point DOCKER_HOST, BUILDKIT_HOST or --addr at a "
            "running engine"
        )
        what = "the Docker Engine"
    else:
        fix = (
            "start buildkitd there, or point BUILDKIT_HOST or --addr at a running "
            "daemon (unset both to use the Docker Engine's BuildKit)"
        )
        what = "buildkitd"
    return EngineError(f"cannot reach {what} at {address}: {reason}; {fix}")


class _SocketHTTPConnection(http.client.HTTPConnection):
    """An http.client connection over a socket that DockerAPI opens."""

    def __init__(self, api: DockerAPI) -> None:
        super().__init__("docker", timeout=CONNECT_TIMEOUT_SECONDS)
        self._api = api

    def connect(self) -> None:
        self.sock = self._api.connect()
        self.sock.settimeout(CONNECT_TIMEOUT_SECONDS)


def _read_response_head(sock: socket.socket) -> tuple[int, str, str, bytes]:
    """Read an HTTP/1.1 response head; return status, reason, head and extra bytes."""
    sock.settimeout(CONNECT_TIMEOUT_SECONDS)
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_RESPONSE_HEAD_BYTES:
            raise EngineError(
                f"the Docker Engine sent a response head longer than "
                f"{MAX_RESPONSE_HEAD_BYTES} bytes"
            )
        chunk = sock.recv(65536)
        if not chunk:
            raise EngineError(
                "the Docker Engine closed the connection before it sent a "
                "complete HTTP response"
            )
        buffer += chunk
    sock.settimeout(None)

    head, _, rest = buffer.partition(b"\r\n\r\n")
    text = head.decode("iso-8859-1")
    status_line = text.split("\r\n", 1)[0]
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise EngineError(
            f"the Docker Engine sent an invalid HTTP status line: {status_line!r}"
        )
    reason = parts[2] if len(parts) > 2 else ""
    return int(parts[1]), reason, text, rest


def _read_body(sock: socket.socket, head: str, already_read: int) -> bytes:
    """Read the rest of an error response's body, up to 64 KiB or 2 s."""
    length = 65536
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            length = min(int(value.strip()), 65536)
    sock.settimeout(2.0)
    data = b""
    try:
        while already_read + len(data) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    except OSError as error:
        logger.debug("reading an error response body failed: %s", error)
    return data
