"""Running one build: the SolveRequest, the session, Solve and Status together.

The steps are those of BuildKit's Go client. It opens a session that serves
the local directories and receives the exports. Then it calls ``Solve`` and
``Status`` with the same build ref at the same time, and it closes the
session when Solve returns.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from flense.engine.address import EngineAddress
from flense.engine.dockerapi import unreachable_error
from flense.engine.filesync.sender import TransferStats
from flense.engine.filesync.staging import DirectoryTarget, ExportTarget, FileTarget
from flense.engine.outputs import CacheEntry, Output
from flense.engine.proto import control_pb2, control_pb2_grpc
from flense.engine.session import Session, new_id
from flense.engine.status import StatusCallback, StatusWatcher
from flense.errors import EngineError, UsageError
from flense.llb.proto import ops_pb2

logger = logging.getLogger(__name__)

# How long flense keeps reading Status after Solve returned; the Go client
# stops after 5 s without messages.
STATUS_DRAIN_SECONDS = 5.0
SOLVE_POLL_SECONDS = 0.25
MIB = 1024 * 1024


@dataclass(frozen=True)
class SolveResult:
    """The outcome of a build that succeeded."""

    exporter_response: dict[str, str]
    # The local directories the daemon read, one entry per transfer.
    transfers: tuple[TransferStats, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SolveTarget:
    """The daemon a solve talks to, with its request size limit."""

    address: EngineAddress
    stub: control_pb2_grpc.ControlStub
    # Largest SolveRequest the daemon accepts, in bytes.
    max_request_bytes: int
    # Name of the endpoint for the size error, e.g. "dockerd's /grpc".
    endpoint: str


def exporters_for(
    outputs: Sequence[Output], *, dockerd: bool
) -> tuple[list[control_pb2.Exporter], dict[int, ExportTarget]]:
    """Turn outputs into Exporter messages and the client-side export targets.

    An exporter's position in the list is the ID the daemon sends with a
    FileSend call, so targets are keyed by it. On dockerd, ``image`` becomes
    ``moby``, which loads the image into Docker's image store.
    """
    exporters: list[control_pb2.Exporter] = []
    targets: dict[int, ExportTarget] = {}
    for index, output in enumerate(outputs):
        exporter_type = output.type
        attrs = dict(output.attrs)
        if dockerd and exporter_type == "image":
            if attrs.get("push") == "true":
                raise UsageError(
                    "pushing an image (push=true) is not supported with the Docker "
                    "Engine's BuildKit; build with type=image,name=NAME and run "
                    "docker push NAME"
                )
            exporter_type = "moby"
        elif not dockerd and exporter_type == "moby":
            raise UsageError(
                "the moby output type exists only in the Docker Engine's BuildKit; "
                "use type=image with buildkitd"
            )
        if exporter_type == "local":
            targets[index] = DirectoryTarget(Path(_required_dest(output)))
        elif exporter_type in ("tar", "oci", "docker"):
            targets[index] = FileTarget(_required_dest(output))
        exporters.append(control_pb2.Exporter(Type=exporter_type, Attrs=attrs))
    return exporters, targets


def build_request(
    *,
    ref: str,
    session_id: str,
    definition: ops_pb2.Definition,
    exporters: Sequence[control_pb2.Exporter],
    cache_exports: Sequence[CacheEntry],
    cache_imports: Sequence[CacheEntry],
) -> control_pb2.SolveRequest:
    """Build the SolveRequest with the exporters in both old and new fields.

    Daemons before BuildKit v0.13 read only the single-exporter fields 3 and
    4; newer ones read ``Exporters`` and ignore 3 and 4 when it is set.
    """
    request = control_pb2.SolveRequest(
        Ref=ref,
        Definition=definition,
        Session=session_id,
        Exporters=exporters,
    )
    if exporters:
        request.ExporterDeprecated = exporters[0].Type
        request.ExporterAttrsDeprecated.update(exporters[0].Attrs)
    for entry in cache_exports:
        request.Cache.Exports.add(Type=entry.type, Attrs=dict(entry.attrs))
    for entry in cache_imports:
        request.Cache.Imports.add(Type=entry.type, Attrs=dict(entry.attrs))
    return request


def run_solve(
    target: SolveTarget,
    session: Session,
    request: control_pb2.SolveRequest,
    on_status: StatusCallback | None,
) -> SolveResult:
    """Call Solve and Status for an attached session and wait for the build.

    Raises EngineError for a failed build and re-raises KeyboardInterrupt
    after cancelling the Solve call, which makes the daemon cancel the build.
    The caller closes the session.
    """
    size = request.ByteSize()
    if size > target.max_request_bytes:
        raise EngineError(
            f"the build request is {size / MIB:.1f} MiB, above the "
            f"{target.max_request_bytes // MIB} MiB that {target.endpoint} accepts; "
            f"make large inline files (mkfile) smaller or read them from a local "
            f"directory instead"
        )

    started = time.monotonic()
    logger.info(
        "solve %s started on %s (session %s, %d exporters, %d bytes of request)",
        request.Ref,
        target.address,
        request.Session,
        len(request.Exporters),
        size,
    )
    future = target.stub.Solve.future(request)
    watcher = StatusWatcher(target.stub, request.Ref, on_status)
    watcher.start()
    try:
        response = _wait(future)
    except KeyboardInterrupt:
        logger.warning("solve %s interrupted; cancelling the build", request.Ref)
        future.cancel()
        watcher.cancel()
        raise
    except grpc.RpcError as error:
        watcher.wait(STATUS_DRAIN_SECONDS)
        engine_error = _engine_error(error, watcher, target.address)
        # INFO, because the caller reports the error itself.
        logger.info(
            "solve %s failed after %.1f s: %s",
            request.Ref,
            time.monotonic() - started,
            engine_error,
        )
        raise engine_error from None

    watcher.wait(STATUS_DRAIN_SECONDS)
    logger.info("solve %s finished in %.1f s", request.Ref, time.monotonic() - started)
    return SolveResult(dict(response.ExporterResponse), session.transfers)


def new_ref() -> str:
    return new_id()


def check_local_dirs(local_dirs: Mapping[str, Path]) -> dict[str, Path]:
    """Resolve local directories; raise UsageError for a missing one."""
    resolved: dict[str, Path] = {}
    for name, path in local_dirs.items():
        if not Path(path).is_dir():
            raise UsageError(
                f"local directory {name!r} is {str(path)!r}, which is not an "
                f"existing directory; create it or pass another path"
            )
        resolved[name] = Path(path).resolve()
    return resolved


def default_shared_key(local_dirs: Mapping[str, Path]) -> str:
    """Derive a session shared key from the local directories' absolute paths.

    The daemon keeps the last copy of a local directory under
    ``<name>:<sharedkeyhint>:<shared key>`` and treats a file as unchanged
    when size, mtime and mode match that copy. With an empty key, every
    project's "context" directory would share one copy.
    """
    text = "\n".join(f"{name}={path}" for name, path in sorted(local_dirs.items()))
    return (
        "flense-"
        + hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:24]
    )


def _wait(future: grpc.Future) -> control_pb2.SolveResponse:
    # A short timeout keeps the main thread responsive to Ctrl-C.
    while True:
        try:
            return future.result(timeout=SOLVE_POLL_SECONDS)
        except grpc.FutureTimeoutError:
            continue


def _required_dest(output: Output) -> str:
    if not output.dest:
        raise UsageError(
            f"the {output.type} output needs dest=; write for example "
            f"type={output.type},dest=PATH"
        )
    return output.dest


def _engine_error(
    error: grpc.RpcError, watcher: StatusWatcher, address: EngineAddress
) -> EngineError:
    code = error.code()
    details = error.details() or code.name
    if code == grpc.StatusCode.UNAVAILABLE:
        return unreachable_error(address, details)

    failed = watcher.failed_vertex()
    if failed is None:
        return EngineError(f"BuildKit failed the build: {details}")
    lines = [f"BuildKit failed at step {failed.name}: {failed.error}"]
    if failed.error not in details:
        lines.append(f"  daemon error: {details}")
    if failed.log_tail:
        lines.append("  last output lines:")
        lines.extend(f"    {line}" for line in failed.log_tail)
    return EngineError("\n".join(lines))
