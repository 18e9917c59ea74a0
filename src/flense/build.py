"""Run a compiled definition on BuildKit: outputs, progress and the result."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flense import llb
from flense.engine.client import Client
from flense.engine.filesync.sender import TransferStats
from flense.engine.outputs import (
    Output,
    check_destinations,
    parse_cache_entry,
    parse_output,
)
from flense.engine.progress import Progress, ProgressMode, VertexRecord, format_bytes
from flense.engine.solve import SolveResult
from flense.errors import EngineError
from flense.llb.proto import ops_pb2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildRequest:
    """The request of one `flense build`, as parsed from its command line."""

    # A definition, or a function that compiles one for the engine's
    # capabilities (the manifest compiler picks merge or chain assembly).
    definition: llb.Definition | Callable[[frozenset[str]], llb.Definition]
    context: Path
    address: str | None = None
    tags: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    progress: str = "auto"
    no_cache: bool = False
    export_cache: tuple[str, ...] = ()
    import_cache: tuple[str, ...] = ()
    # OCI image config (env, user, working dir, entrypoint...) for image
    # outputs; None leaves BuildKit's default for a result with no config.
    image_config: Mapping[str, object] | None = field(default=None)


@dataclass(frozen=True)
class BuildOutcome:
    """The report of a finished build: exporter response, transfers and steps."""

    exporter_response: dict[str, str]
    transfers: tuple[TransferStats, ...]
    vertices: tuple[VertexRecord, ...]


def run_build(request: BuildRequest) -> BuildOutcome:
    """Build the request's definition, export it, and report what happened."""
    outputs = [parse_output(spec) for spec in request.outputs]
    if request.tags:
        # The client turns "image" into dockerd's own "moby" exporter.
        outputs.insert(0, Output(type="image", attrs={"name": ",".join(request.tags)}))
    outputs = [_with_image_config(output, request.image_config) for output in outputs]
    check_destinations(outputs)
    cache_exports = [parse_cache_entry(s, export=True) for s in request.export_cache]
    cache_imports = [parse_cache_entry(s, export=False) for s in request.import_cache]

    started = time.monotonic()
    with Client.connect(request.address) as client:
        info = client.info()
        log.debug(
            "building with %s %s (BuildKit %s)",
            info.kind,
            info.version,
            info.buildkit_version,
        )
        compiled = request.definition
        if not isinstance(compiled, llb.Definition):
            compiled = compiled(info.caps)
        definition = compiled.proto
        if request.no_cache:
            definition = _without_cache(definition)
        if not outputs:
            log.warning(
                "no --tag or --output given: the result stays in the build cache only"
            )

        with Progress(request.progress) as progress:
            try:
                result = client.solve(
                    definition,
                    local_dirs={"context": request.context},
                    outputs=outputs,
                    cache_exports=cache_exports,
                    cache_imports=cache_imports,
                    on_status=progress.update,
                )
            except EngineError as error:
                progress.finish(error=error)
                failed = _reported_failure(progress)
                if failed is None:
                    raise
                # The display printed the step's error and last output lines
                # already, as buildx does, so the final message is one line.
                raise EngineError(
                    f"BuildKit failed at step {failed}; its error and last "
                    "output lines are above"
                ) from error
            except BaseException as error:
                progress.finish(error=error)
                raise
            progress.finish(result=_describe_result(result, request, outputs))
    log.info("build finished in %.1fs", time.monotonic() - started)
    for transfer in result.transfers:
        log.debug(
            "sent %s: %d entries, %d files, %d bytes in %.2fs",
            transfer.dir_name,
            transfer.entries,
            transfer.files_sent,
            transfer.bytes_sent,
            transfer.seconds,
        )
    return BuildOutcome(
        exporter_response=dict(result.exporter_response),
        transfers=tuple(result.transfers),
        vertices=tuple(progress.vertices()),
    )


def _reported_failure(progress: Progress) -> str | None:
    """Return the failed step that the display reported, if it did."""
    if progress.mode is ProgressMode.RAWJSON:
        return None
    for vertex in progress.vertices():
        if vertex.error and "context canceled" not in vertex.error:
            return vertex.name
    return None


def _with_image_config(output: Output, config: Mapping[str, object] | None) -> Output:
    if config is None or output.type not in ("moby", "image", "oci", "docker"):
        return output
    attrs = dict(output.attrs)
    attrs["containerimage.config"] = json.dumps(config, sort_keys=True)
    return Output(type=output.type, attrs=attrs, dest=output.dest)


def _without_cache(definition: ops_pb2.Definition) -> ops_pb2.Definition:
    copy = ops_pb2.Definition()
    copy.CopyFrom(definition)
    for metadata in copy.metadata.values():
        metadata.ignore_cache = True
    return copy


def _describe_result(
    result: SolveResult, request: BuildRequest, outputs: list[Output]
) -> str:
    response = result.exporter_response
    files = sum(transfer.files_sent for transfer in result.transfers)
    size = sum(transfer.bytes_sent for transfer in result.transfers)
    transfers = len(result.transfers)
    parts = [
        f"sent {files} changed {'file' if files == 1 else 'files'} "
        f"({format_bytes(size)}) in {transfers} "
        f"{'transfer' if transfers == 1 else 'transfers'}"
    ]
    if request.tags:
        parts.append("image " + ", ".join(request.tags))
    for output in outputs:
        if output.dest:
            parts.append(f"{output.type} output in {output.dest}")
    digest = response.get("containerimage.digest") or response.get(
        "containerimage.config.digest"
    )
    if digest:
        parts.append(digest)
    if len(parts) == 1:
        parts.append("kept in the build cache only")
    return "; ".join(parts)
