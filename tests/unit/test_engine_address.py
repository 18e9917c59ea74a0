"""Engine address parsing: --addr, BUILDKIT_HOST and DOCKER_HOST forms."""

from __future__ import annotations

import pytest

from flense.engine.address import EngineAddress, parse_address, resolve_address
from flense.errors import UsageError

PARSE_CASES = [
    pytest.param(
        "unix:///run/buildkit/buildkitd.sock",
        {},
        EngineAddress(
            "buildkitd",
            "unix",
            "/run/buildkit/buildkitd.sock",
            "unix:///run/buildkit/buildkitd.sock",
        ),
        id="buildkitd-unix",
    ),
    pytest.param(
        "tcp://127.0.0.1:1234",
        {},
        EngineAddress("buildkitd", "tcp", "127.0.0.1:1234", "tcp://127.0.0.1:1234"),
        id="buildkitd-tcp",
    ),
    pytest.param(
        "tcp://[::1]:1234",
        {},
        EngineAddress("buildkitd", "tcp", "[::1]:1234", "tcp://[::1]:1234"),
        id="buildkitd-tcp-ipv6",
    ),
    pytest.param(
        "docker://",
        {},
        EngineAddress(
            "dockerd", "unix", "/var/run/docker.sock", "unix:///var/run/docker.sock"
        ),
        id="docker-default",
    ),
    pytest.param(
        "docker://",
        {"DOCKER_HOST": "unix:///tmp/d.sock"},
        EngineAddress("dockerd", "unix", "/tmp/d.sock", "unix:///tmp/d.sock"),
        id="docker-from-docker-host",
    ),
    pytest.param(
        "docker:///srv/docker.sock",
        {},
        EngineAddress(
            "dockerd", "unix", "/srv/docker.sock", "docker:///srv/docker.sock"
        ),
        id="docker-socket-path",
    ),
    pytest.param(
        "docker://localhost:2375",
        {},
        EngineAddress("dockerd", "tcp", "localhost:2375", "docker://localhost:2375"),
        id="docker-tcp",
    ),
]


@pytest.mark.parametrize(("text", "environ", "expected"), PARSE_CASES)
def test_parse_address(
    text: str, environ: dict[str, str], expected: EngineAddress
) -> None:
    assert parse_address(text, environ) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/run/buildkit/buildkitd.sock", "has no scheme"),
        ("ssh://host", "scheme 'ssh' is not supported"),
        ("unix://relative.sock", "must be absolute"),
        ("tcp://host", "needs a host and a port"),
        ("tcp://:1234", "needs a host and a port"),
        ("tcp://host:port", "needs a host and a port"),
        ("tcp://host:1234/path", "needs a host and a port"),
    ],
)
def test_parse_address_invalid(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_address(text, {})


@pytest.mark.parametrize(
    ("addr", "environ", "expected_text", "expected_kind"),
    [
        (None, {}, "unix:///var/run/docker.sock", "dockerd"),
        (None, {"DOCKER_HOST": "tcp://h:2375"}, "tcp://h:2375", "dockerd"),
        (
            None,
            {"BUILDKIT_HOST": "tcp://b:1234", "DOCKER_HOST": "tcp://h:2375"},
            "tcp://b:1234",
            "buildkitd",
        ),
        (
            "unix:///x.sock",
            {"BUILDKIT_HOST": "tcp://b:1234"},
            "unix:///x.sock",
            "buildkitd",
        ),
        (
            None,
            {"BUILDKIT_HOST": "", "DOCKER_HOST": ""},
            "unix:///var/run/docker.sock",
            "dockerd",
        ),
    ],
)
def test_resolve_address(
    addr: str | None, environ: dict[str, str], expected_text: str, expected_kind: str
) -> None:
    address = resolve_address(addr, environ)
    assert address.text == expected_text
    assert address.kind == expected_kind


def test_resolve_address_invalid_docker_host() -> None:
    with pytest.raises(UsageError, match="invalid DOCKER_HOST 'ssh://me@host'"):
        resolve_address(None, {"DOCKER_HOST": "ssh://me@host"})


@pytest.mark.parametrize(
    ("text", "grpc_target"),
    [
        ("unix:///run/buildkit/buildkitd.sock", "unix:/run/buildkit/buildkitd.sock"),
        ("tcp://127.0.0.1:1234", "127.0.0.1:1234"),
    ],
)
def test_grpc_target(text: str, grpc_target: str) -> None:
    assert parse_address(text, {}).grpc_target == grpc_target
