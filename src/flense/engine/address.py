"""Engine addresses: where flense finds BuildKit.

Two kinds of daemon are supported:

* a standalone ``buildkitd``, reached with plain gRPC on ``unix:///path`` or
  ``tcp://host:port`` (the ``--addr`` and ``BUILDKIT_HOST`` forms buildctl
  uses);
* the BuildKit embedded in ``dockerd``, reached through the Docker API
  socket. ``docker://`` uses ``DOCKER_HOST`` or the default socket,
  ``docker:///path/to/docker.sock`` names a socket, and
  ``docker://host:port`` a Docker API on plain TCP.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from flense.errors import UsageError

DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"
DEFAULT_DOCKER_HOST = f"unix://{DEFAULT_DOCKER_SOCKET}"

EngineKind = Literal["dockerd", "buildkitd"]
Network = Literal["unix", "tcp"]


@dataclass(frozen=True)
class EngineAddress:
    """A parsed engine address.

    ``target`` is a socket path for ``network == "unix"`` and ``host:port``
    for ``network == "tcp"``. ``text`` is the address as the user gave it (or
    as flense chose it), for messages.
    """

    kind: EngineKind
    network: Network
    target: str
    text: str

    def __str__(self) -> str:
        return self.text

    @property
    def grpc_target(self) -> str:
        """The address in grpcio's channel syntax (buildkitd only)."""
        if self.network == "unix":
            return f"unix:{self.target}"
        return self.target


def resolve_address(
    addr: str | None = None, environ: Mapping[str, str] | None = None
) -> EngineAddress:
    """Choose the engine address: ``addr``, else BUILDKIT_HOST, else DOCKER_HOST.

    Without any of them the default Docker socket is used.
    """
    env = os.environ if environ is None else environ
    if addr:
        return parse_address(addr, env)
    buildkit_host = env.get("BUILDKIT_HOST", "")
    if buildkit_host:
        return parse_address(buildkit_host, env)
    return parse_docker_host(env.get("DOCKER_HOST", "") or DEFAULT_DOCKER_HOST)


def parse_address(text: str, environ: Mapping[str, str] | None = None) -> EngineAddress:
    """Parse an ``--addr`` or ``BUILDKIT_HOST`` value.

    Raises UsageError naming the value and the accepted forms.
    """
    env = os.environ if environ is None else environ
    scheme, separator, rest = text.partition("://")
    if not separator:
        raise _invalid_address(text, "it has no scheme")

    if scheme == "unix":
        return EngineAddress("buildkitd", "unix", _unix_path(text, rest), text)
    if scheme == "tcp":
        return EngineAddress("buildkitd", "tcp", _host_port(text, rest), text)
    if scheme == "docker":
        if rest == "":
            docker_host = env.get("DOCKER_HOST", "") or DEFAULT_DOCKER_HOST
            return parse_docker_host(docker_host)
        if rest.startswith("/"):
            return EngineAddress("dockerd", "unix", _unix_path(text, rest), text)
        return EngineAddress("dockerd", "tcp", _host_port(text, rest), text)
    raise _invalid_address(text, f"the scheme {scheme!r} is not supported")


def parse_docker_host(text: str) -> EngineAddress:
    """Parse a ``DOCKER_HOST`` value (``unix:///path`` or ``tcp://host:port``)."""
    scheme, separator, rest = text.partition("://")
    if scheme == "unix" and separator:
        return EngineAddress("dockerd", "unix", _unix_path(text, rest), text)
    if scheme == "tcp" and separator:
        # NOTE: TLS (DOCKER_TLS_VERIFY, port 2376) is not implemented, so a
        # TLS-protected Docker API fails at the first request.
        return EngineAddress("dockerd", "tcp", _host_port(text, rest), text)
    raise UsageError(
        f"invalid DOCKER_HOST {text!r}: flense reaches Docker only through "
        f"unix:///path or tcp://host:port (ssh:// and npipe:// are not "
        f"supported); unset DOCKER_HOST to use {DEFAULT_DOCKER_HOST}"
    )


def _unix_path(text: str, rest: str) -> str:
    if not rest.startswith("/"):
        raise _invalid_address(text, "a unix socket path must be absolute")
    return rest


def _host_port(text: str, rest: str) -> str:
    parts = urlsplit(f"//{rest}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or parts.path not in ("", "/"):
        raise _invalid_address(text, "a TCP address needs a host and a port")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{port}"


def _invalid_address(text: str, reason: str) -> UsageError:
    return UsageError(
        f"invalid engine address {text!r}: {reason}; use unix:///path/to/"
        f"buildkitd.sock or tcp://host:port for buildkitd, or docker:// "
        f"(DOCKER_HOST, default {DEFAULT_DOCKER_HOST}), docker:///path/to/"
        f"docker.sock or docker://host:port for Docker's embedded BuildKit"
    )
