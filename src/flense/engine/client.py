"""flense's BuildKit client: connect to an engine, describe it, run builds.

Usage::

    with Client.connect() as client:
        result = client.solve(
            definition,
            local_dirs={"context": Path(".")},
            outputs=[parse_output("type=local,dest=out")],
        )
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import grpc
from google.protobuf.message import DecodeError

from flense.engine import capabilities
from flense.engine.address import EngineAddress, resolve_address
from flense.engine.dockerapi import DockerAPI, DockerVersion, unreachable_error
from flense.engine.filesync.staging import commit_all, discard_all
from flense.engine.outputs import (
    CacheEntry,
    Output,
    check_destinations,
    parse_cache_entry,
    parse_output,
)
from flense.engine.proto import control_pb2, control_pb2_grpc
from flense.engine.session import Session
from flense.engine.solve import (
    SolveResult,
    SolveTarget,
    build_request,
    check_local_dirs,
    default_shared_key,
    exporters_for,
    new_ref,
    run_solve,
)
from flense.engine.status import StatusCallback
from flense.engine.transport import UpgradeRelay
from flense.errors import EngineError, UsageError
from flense.llb.proto import ops_pb2

__all__ = [
    "CacheEntry",
    "Client",
    "EngineInfo",
    "Output",
    "SolveResult",
    "parse_cache_entry",
    "parse_output",
]

logger = logging.getLogger(__name__)

MIB = 1024 * 1024
MAX_MESSAGE_BYTES = 16 * MIB
INFO_TIMEOUT_SECONDS = 10.0

_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
]

SessionTransport = Literal["auto", "control-stream"]


@dataclass(frozen=True)
class EngineInfo:
    """The engine flense talks to.

    ``version`` is the Docker Engine version for dockerd and the BuildKit
    version for buildkitd. ``caps`` are the LLB capability IDs of
    ``buildkit_version``; for dockerd without a stamped BuildKit version they
    come from the BuildKit release the engine version vendors.
    """

    kind: Literal["dockerd", "buildkitd"]
    version: str
    buildkit_version: str
    caps: frozenset[str]


# Capabilities that dockerd's BuildKit enables only with the containerd
# image store ("requested feature mergeop has been disabled on the build
# server: only enabled with containerd image store backend").
CONTAINERD_STORE_CAPS = frozenset({"mergeop", "diffop"})


class Client:
    """A connection to one BuildKit daemon, standalone or inside dockerd."""

    def __init__(
        self,
        address: EngineAddress,
        channel: grpc.Channel,
        *,
        docker: DockerAPI | None = None,
        docker_version: DockerVersion | None = None,
        relay: UpgradeRelay | None = None,
    ) -> None:
        self.address = address
        self._channel = channel
        self._stub = control_pb2_grpc.ControlStub(channel)
        self._docker = docker
        self._docker_version = docker_version
        self._relay = relay
        self._info: EngineInfo | None = None
        # Tests set this to run buildkitd's session transport against dockerd.
        self.session_transport: SessionTransport = "auto"

    @classmethod
    def connect(cls, addr: str | None = None) -> Client:
        """Connect to ``addr``, else BUILDKIT_HOST, else DOCKER_HOST or its default.

        Raises EngineError naming the address and the fix when the engine
        cannot be reached, and UsageError for an invalid address.
        """
        address = resolve_address(addr)
        logger.info("connecting to %s (%s)", address, address.kind)
        if address.kind == "dockerd":
            client = cls._connect_docker(address)
        else:
            channel = grpc.insecure_channel(
                address.grpc_target, options=_CHANNEL_OPTIONS
            )
            client = cls(address, channel)
        try:
            info = client.info()
        except BaseException:
            client.close()
            raise
        logger.info(
            "connected to %s %s (BuildKit %s)",
            info.kind,
            info.version,
            info.buildkit_version,
        )
        return client

    @classmethod
    def _connect_docker(cls, address: EngineAddress) -> Client:
        docker = DockerAPI(address)
        docker_version = docker.version()
        grpc_path = f"/v{docker_version.api_version}/grpc"
        relay = UpgradeRelay(lambda: docker.upgrade(grpc_path), name="dockerd-grpc")
        channel = grpc.insecure_channel(f"unix:{relay.path}", options=_CHANNEL_OPTIONS)
        return cls(
            address, channel, docker=docker, docker_version=docker_version, relay=relay
        )

    def info(self) -> EngineInfo:
        """Describe the engine, querying the daemon on the first call only."""
        if self._info is None:
            self._info = self._load_info()
        return self._info

    def solve(
        self,
        definition: bytes | ops_pb2.Definition,
        *,
        local_dirs: Mapping[str, Path],
        outputs: Sequence[Output] = (),
        cache_exports: Sequence[CacheEntry] = (),
        cache_imports: Sequence[CacheEntry] = (),
        on_status: StatusCallback | None = None,
        shared_key: str = "",
    ) -> SolveResult:
        """Build ``definition`` and run its exporters.

        ``local_dirs`` maps the names of ``local://`` sources to directories.
        ``on_status`` runs in a background thread for every StatusResponse.
        ``shared_key`` is the session's shared key, part of the key under
        which the daemon keeps the previous copy of each local directory and
        sends only files whose size, mtime or mode differ from it. Empty means
        a key derived from the directories' absolute paths, so that two
        projects with a "context" directory do not share one copy.

        File and ``local`` exports are staged beside their destinations and
        moved into place only when the build succeeded. A tar stream on
        stdout is written as it arrives.

        Raises EngineError when the build fails (naming the failing step) or
        the engine cannot be reached, UsageError for invalid outputs or local
        directories, and KeyboardInterrupt after cancelling the build.
        """
        if isinstance(definition, bytes):
            try:
                definition_message = ops_pb2.Definition.FromString(definition)
            except DecodeError as error:
                raise UsageError(
                    f"the build definition is not a serialized pb.Definition "
                    f"({error}); pass the output of flense compile"
                ) from error
        else:
            definition_message = definition
        check_destinations(outputs)
        directories = check_local_dirs(local_dirs)
        is_dockerd = self.address.kind == "dockerd"
        exporters, targets = exporters_for(outputs, dockerd=is_dockerd)

        session = Session(
            local_dirs=directories,
            export_targets=targets,
            shared_key=shared_key or default_shared_key(directories),
        )
        try:
            try:
                self._attach(session)
                request = build_request(
                    ref=new_ref(),
                    session_id=session.id,
                    definition=definition_message,
                    exporters=exporters,
                    cache_exports=cache_exports,
                    cache_imports=cache_imports,
                )
                result = run_solve(self._solve_target(), session, request, on_status)
            finally:
                # Closing first ends the receivers, so no export is still
                # being written when it is committed or discarded.
                session.close()
            commit_all(targets.values())
            return result
        finally:
            discard_all(targets.values())

    def close(self) -> None:
        self._channel.close()
        if self._relay is not None:
            self._relay.close()
        logger.debug("closed the connection to %s", self.address)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _attach(self, session: Session) -> None:
        if self._docker is not None and self.session_transport == "auto":
            assert self._docker_version is not None
            session.attach_docker(self._docker, self._docker_version.api_version)
        else:
            session.attach_control_stream(self._stub)

    def _solve_target(self) -> SolveTarget:
        info = self.info()
        buildkit = capabilities.parse_version(info.buildkit_version) or (0, 0, 0)
        if info.kind == "dockerd":
            engine = capabilities.parse_version(info.version) or (0, 0, 0)
            # dockerd's /grpc used gRPC's default 4 MiB limit until Docker 28.0.
            limit = 16 * MIB if engine >= (28, 0, 0) else 4 * MIB
            return SolveTarget(
                self.address, self._stub, limit, "dockerd's /grpc endpoint"
            )
        # buildkitd's control server accepts 16 MiB since BuildKit v0.14.
        limit = 16 * MIB if buildkit >= (0, 14, 0) or buildkit == (0, 0, 0) else 4 * MIB
        return SolveTarget(self.address, self._stub, limit, "buildkitd")

    def _load_info(self) -> EngineInfo:
        reported = self._reported_buildkit_version()
        if self._docker_version is not None:
            engine_version = self._docker_version.version
            if capabilities.is_known_buildkit_version(reported):
                buildkit = capabilities.parse_version(reported)
            else:
                buildkit = capabilities.buildkit_version_for_docker(engine_version)
            if buildkit is None:
                raise EngineError(
                    f"the Docker Engine at {self.address} is version {engine_version}, "
                    f"which has no BuildKit; flense needs Docker Engine 26 or newer "
                    f"(scripts/engine.sh installs one)"
                )
            caps = capabilities.caps_for(buildkit)
            if self._docker is not None and not self._docker.uses_containerd_store():
                caps = caps - CONTAINERD_STORE_CAPS
            return EngineInfo(
                "dockerd",
                engine_version,
                capabilities.format_version(buildkit),
                caps,
            )

        buildkit = capabilities.parse_version(reported)
        if buildkit is None or buildkit == (0, 0, 0):
            # NOTE: an unstamped buildkitd (a development build) is assumed to
            # be recent and to have every capability in flense's table.
            return EngineInfo(
                "buildkitd", reported or "unknown", reported, capabilities.all_caps()
            )
        return EngineInfo(
            "buildkitd", reported, reported, capabilities.caps_for(buildkit)
        )

    def _reported_buildkit_version(self) -> str:
        """Ask the daemon for its BuildKit version (Info, else ListWorkers)."""
        try:
            response = self._stub.Info(
                control_pb2.InfoRequest(), timeout=INFO_TIMEOUT_SECONDS
            )
            return response.buildkitVersion.version
        except grpc.RpcError as error:
            code = error.code()
            if code != grpc.StatusCode.UNIMPLEMENTED:
                raise self._rpc_error("Info", error) from None
        # Info exists since BuildKit v0.11; older daemons have ListWorkers.
        logger.debug("%s has no Info RPC; asking ListWorkers", self.address)
        try:
            workers = self._stub.ListWorkers(
                control_pb2.ListWorkersRequest(), timeout=INFO_TIMEOUT_SECONDS
            )
        except grpc.RpcError as error:
            raise self._rpc_error("ListWorkers", error) from None
        for record in workers.record:
            if record.BuildkitVersion.version:
                return record.BuildkitVersion.version
        return ""

    def _rpc_error(self, method: str, error: grpc.RpcError) -> EngineError:
        code = error.code()
        details = error.details()
        if details and "http1.x server" in details and self.address.network == "unix":
            return EngineError(
                f"{self.address} responds with HTTP/1.1, as the Docker API does, "
                f"not with BuildKit's gRPC; to use the Docker Engine's BuildKit, write "
                f"docker://{self.address.target}"
            )
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            return unreachable_error(self.address, details or code.name)
        return EngineError(
            f"the {method} call to BuildKit at {self.address} failed: {details}"
        )
