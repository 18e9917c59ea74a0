"""Vertices of the LLB graph, their outputs and per-vertex metadata.

A vertex is one op (source, exec, file, merge, diff). It is built once and
never changes, so its serialized bytes and digest are computed once per
default platform and cached on the object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from flense.llb.platform import Platform
from flense.llb.proto import ops_pb2

CUSTOM_NAME_KEY = "llb.customname"


@dataclass(frozen=True)
class ProgressGroup:
    """A progress group: vertices that share an id are shown as one entry."""

    id: str
    name: str
    weak: bool = False


@dataclass(frozen=True)
class VertexOptions:
    """Metadata that a caller attaches to one vertex.

    ``name`` becomes the ``llb.customname`` description entry, which BuildKit
    shows in place of the generated vertex name. ``description`` entries are
    free-form and do not change the op digest.
    """

    name: str | None = None
    description: tuple[tuple[str, str], ...] = ()
    ignore_cache: bool = False
    progress_group: ProgressGroup | None = None

    @classmethod
    def build(
        cls,
        name: str | None = None,
        description: Mapping[str, str] | None = None,
        ignore_cache: bool = False,
        progress_group: ProgressGroup | None = None,
    ) -> VertexOptions:
        """Collect the keyword arguments every op constructor accepts."""
        entries = tuple(sorted((description or {}).items()))
        for key, value in entries:
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(
                    f"description entry {key!r}: {value!r} is invalid:"
                    " keys and values must be strings"
                )
        return cls(name, entries, ignore_cache, progress_group)

    def to_pb(self, caps: Iterable[str]) -> ops_pb2.OpMetadata:
        """Return the ``pb.OpMetadata`` for a vertex that needs ``caps``."""
        metadata = ops_pb2.OpMetadata(ignore_cache=self.ignore_cache)
        # Item assignment: MutableMapping.update on a protobuf map is slower.
        description = metadata.description
        for key, value in self.description:
            description[key] = value
        if self.name is not None:
            description[CUSTOM_NAME_KEY] = self.name
        caps_map = metadata.caps
        for cap in caps:
            caps_map[cap] = True
        if self.progress_group is not None:
            group = metadata.progress_group
            group.id = self.progress_group.id
            group.name = self.progress_group.name
            group.weak = self.progress_group.weak
            group.SetInParent()
        return metadata


class Marshalled(NamedTuple):
    """One serialized op: its digest, exact bytes and metadata."""

    digest: str
    data: bytes
    metadata: ops_pb2.OpMetadata


def digest_of(data: bytes) -> str:
    """Return the LLB digest of serialized op bytes: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Vertex:
    """Base class of every op, whose subclasses build the ``pb.Op`` message.

    Vertices compare by identity. Two separately built but equal vertices
    have the same digest, and marshalling writes their op once.
    """

    __slots__ = ("options", "_marshalled")

    def __init__(self, options: VertexOptions) -> None:
        self.options = options
        self._marshalled: dict[Platform, Marshalled] = {}

    def inputs(self) -> Sequence[Output]:
        """Return the outputs this vertex reads, in the Go client's walk order."""
        return ()

    def build_op(self, context: MarshalContext) -> tuple[ops_pb2.Op, set[str]]:
        """Build the op message and the set of capability IDs it needs."""
        raise NotImplementedError

    def marshal(self, context: MarshalContext) -> Marshalled:
        """Serialize this vertex, or return the cached result."""
        cached = self._marshalled.get(context.platform)
        if cached is not None:
            return cached
        op, caps = self.build_op(context)
        # NOTE: these bytes are expected to equal Go's deterministic encoding
        # of the same op (same field order, sorted maps), but no Go output
        # was compared. BuildKit 0.17.2 and later re-encode ops and report
        # vertex digests of their own bytes, so a difference shows there.
        data = op.SerializeToString(deterministic=True)
        result = Marshalled(digest_of(data), data, self.options.to_pb(caps))
        self._marshalled[context.platform] = result
        return result


@dataclass(frozen=True, slots=True)
class Output:
    """One output of a vertex: the filesystem an edge points to."""

    vertex: Vertex
    index: int = 0


class MarshalContext:
    """Settings shared by every vertex of one marshal call."""

    __slots__ = ("platform",)

    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def input_of(self, output: Output) -> ops_pb2.Input:
        """Return the edge to ``output``, serializing its vertex if needed."""
        marshalled = output.vertex.marshal(self)
        return ops_pb2.Input(digest=marshalled.digest, index=output.index)


def new_op() -> ops_pb2.Op:
    """Return an op with the empty ``constraints`` every non-terminal op has."""
    op = ops_pb2.Op()
    op.constraints.SetInParent()
    return op
