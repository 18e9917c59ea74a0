"""Base image configs: the ENV, WORKDIR, USER and labels a stage starts from.

Blubber reads each base image's config before it compiles a stage, because
``$LIVES_UID``, ``$PATH`` and the other variables in the instructions are
expanded against the image's ``Env``, and the stage's commands run with the
image's working directory and user. flense reads the config of an image in
the engine's local image store through the Docker API
(``GET /images/{name}/json``), which is where the local base images of a
build without a registry live.

A resolver is anything with ``resolve(reference, platform) -> BaseImage``:

* ``DockerImageResolver`` reads configs from the Docker Engine. When no
  engine responds, or the image is not in its store, it logs a warning and
  returns an empty config, so compiling never fails for lack of an engine.
  The result only depends on the engine's image store at the time of the
  call.
* ``ImageTable`` returns configs from a table given by the caller, for
  tests and for callers that know their images.
"""

from __future__ import annotations

import http.client
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

from flense import llb
from flense.blubber.image import ImageConfig
from flense.engine.address import resolve_address
from flense.engine.dockerapi import DockerAPI
from flense.errors import EngineError, UsageError

__all__ = [
    "BaseImage",
    "DockerImageResolver",
    "ImageConfigResolver",
    "ImageTable",
]

logger = logging.getLogger(__name__)

INSPECT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class BaseImage:
    """A base image's config and platform, as the build starts from them.

    ``architecture`` and ``os`` are empty when they are unknown; the image
    config of the result then takes them from the build platform.
    """

    reference: str
    config: ImageConfig = field(default_factory=ImageConfig)
    architecture: str = ""
    os: str = ""


class ImageConfigResolver(Protocol):
    """Looks up the config of a base image."""

    def resolve(self, reference: str, platform: llb.Platform) -> BaseImage:
        """Return the config of ``reference`` for ``platform``.

        An image whose config cannot be read gets an empty ``BaseImage``.
        """
        ...


@dataclass(frozen=True)
class ImageTable:
    """Configs given by the caller, by reference as written in the Blubber file.

    A reference missing from the table gets an empty config.
    """

    images: Mapping[str, BaseImage] = field(default_factory=dict)

    def resolve(self, reference: str, platform: llb.Platform) -> BaseImage:
        """Return the table's entry for ``reference``, or an empty config."""
        return self.images.get(reference, BaseImage(reference))


class DockerImageResolver:
    """Reads image configs from a Docker Engine's image store.

    ``address`` is an engine address as ``flense build --addr`` takes it;
    None uses ``BUILDKIT_HOST``, else ``DOCKER_HOST``, else the default
    socket. Each reference is looked up once per resolver, and after the
    first failed connection no further one is tried.
    """

    def __init__(self, address: str | None = None) -> None:
        self._address = address
        self._api: DockerAPI | None = None
        self._unavailable = False
        self._results: dict[str, BaseImage] = {}

    def resolve(self, reference: str, platform: llb.Platform) -> BaseImage:
        """Return the image's config from the engine, or an empty one."""
        # NOTE: ``platform`` is not sent: the engine returns the config of the
        # image it stores under ``reference``, which for a multi-platform
        # image is the engine's own platform.
        if reference not in self._results:
            self._results[reference] = self._lookup(reference)
        return self._results[reference]

    def _lookup(self, reference: str) -> BaseImage:
        api = self._docker_api()
        if api is None:
            return BaseImage(reference)
        try:
            body = _inspect_image(api, reference)
        except EngineError as error:
            self._unavailable = True
            logger.warning(
                "cannot read the config of base image %s: %s; building it"
                " without its ENV, WORKDIR and USER",
                reference,
                error,
            )
            return BaseImage(reference)
        if body is None:
            logger.warning(
                "base image %s is not in the image store of the Docker Engine at"
                " %s, so its ENV, WORKDIR and USER are not applied; BuildKit"
                " pulls it from its registry at build time",
                reference,
                api.address,
            )
            return BaseImage(reference)
        image = parse_inspect(reference, body)
        logger.debug("base image %s: %s", reference, image)
        return image

    def _docker_api(self) -> DockerAPI | None:
        if self._unavailable:
            return None
        if self._api is not None:
            return self._api
        try:
            address = resolve_address(self._address)
        except UsageError as error:
            logger.warning(
                "cannot read base image configs: %s; building without them", error
            )
            self._unavailable = True
            return None
        if address.kind != "dockerd":
            # NOTE: a standalone buildkitd has no image store to read; its
            # base images would need BuildKit's ResolveImageConfig, which
            # flense does not call yet.
            logger.warning(
                "cannot read base image configs from buildkitd at %s (only a"
                " Docker Engine's image store is read); building without"
                " their ENV, WORKDIR and USER",
                address,
            )
            self._unavailable = True
            return None
        self._api = DockerAPI(address)
        return self._api


def parse_inspect(reference: str, body: Mapping[str, object]) -> BaseImage:
    """Build a BaseImage from a ``GET /images/{name}/json`` response body."""
    config = body.get("Config")
    if not isinstance(config, Mapping):
        config = {}
    labels = config.get("Labels")
    return BaseImage(
        reference=reference,
        config=ImageConfig(
            env=tuple(_strings(config.get("Env"))),
            user=_string(config.get("User")),
            working_dir=_string(config.get("WorkingDir")),
            entrypoint=_optional_strings(config.get("Entrypoint")),
            cmd=_optional_strings(config.get("Cmd")),
            labels=(
                {str(key): str(value) for key, value in labels.items()}
                if isinstance(labels, Mapping)
                else {}
            ),
        ),
        architecture=_string(body.get("Architecture")),
        os=_string(body.get("Os")),
    )


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str)]


def _optional_strings(value: object) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        return None
    return tuple(_strings(value))


class _ConnectionOverAPI(http.client.HTTPConnection):
    """An http.client connection over a socket that ``DockerAPI`` opens."""

    def __init__(self, api: DockerAPI) -> None:
        super().__init__("docker", timeout=INSPECT_TIMEOUT_SECONDS)
        self._api = api

    def connect(self) -> None:
        self.sock = self._api.connect()
        self.sock.settimeout(INSPECT_TIMEOUT_SECONDS)


def _inspect_image(api: DockerAPI, reference: str) -> Mapping[str, object] | None:
    """Call ``GET /images/{reference}/json``; return None when it is not found.

    Raises EngineError when the engine cannot be reached or fails.
    """
    path = "/images/" + quote(reference, safe="/:@") + "/json"
    connection = _ConnectionOverAPI(api)
    try:
        connection.request("GET", path, headers={"Host": "docker"})
        response = connection.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException) as error:
        raise EngineError(
            f"GET {path} on the Docker Engine at {api.address} failed: {error}"
        ) from error
    finally:
        connection.close()
    if response.status == 404:
        return None
    if response.status != 200:
        raise EngineError(
            f"GET {path} on the Docker Engine at {api.address} failed: "
            f"{response.status} {response.reason}: "
            f"{data.decode('utf-8', 'replace').strip()}"
        )
    try:
        body = json.loads(data)
    except ValueError as error:
        raise EngineError(
            f"GET {path} on the Docker Engine at {api.address} returned invalid"
            f" JSON: {error}"
        ) from error
    if not isinstance(body, dict):
        raise EngineError(
            f"GET {path} on the Docker Engine at {api.address} returned"
            f" {type(body).__name__} instead of an object"
        )
    return body
