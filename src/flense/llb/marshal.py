"""Marshalling a state into a ``pb.Definition``, and reading one back."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import NamedTuple

from google.protobuf.message import DecodeError

from flense.llb.platform import Platform
from flense.llb.proto import ops_pb2
from flense.llb.state import State
from flense.llb.vertex import MarshalContext, Vertex, digest_of


def elements(definition: ops_pb2.Definition) -> list[bytes]:
    """Return the ``def`` field, whose name is a Python keyword."""
    return getattr(definition, "def")  # type: ignore[no-any-return]


class DefinitionOp(NamedTuple):
    """One element of a definition, decoded."""

    digest: str
    op: ops_pb2.Op
    metadata: ops_pb2.OpMetadata


class Definition:
    """A marshalled LLB graph: what ``buildctl build`` reads on stdin.

    ``def`` lists every op once, inputs before the ops that use them. Its
    last element is the terminal op whose only input is the result.
    """

    def __init__(self, proto: ops_pb2.Definition) -> None:
        self._proto = proto

    @property
    def proto(self) -> ops_pb2.Definition:
        """The ``pb.Definition`` message. Treat it as read-only."""
        return self._proto

    def to_bytes(self) -> bytes:
        """Serialize deterministically: the same graph gives the same bytes."""
        return self._proto.SerializeToString(deterministic=True)

    @classmethod
    def from_bytes(cls, data: bytes) -> Definition:
        """Parse a serialized ``pb.Definition``.

        Raises ValueError when the bytes are not a definition or an element
        of ``def`` is not an op.
        """
        proto = ops_pb2.Definition()
        try:
            proto.ParseFromString(data)
        except DecodeError as error:
            raise ValueError(f"invalid LLB definition: {error}") from error
        definition = cls(proto)
        _ = definition.ops  # decode every element now, to fail early
        return definition

    @cached_property
    def ops(self) -> list[DefinitionOp]:
        """Every element of ``def`` decoded, in order. The terminal op is last."""
        decoded = []
        for position, data in enumerate(elements(self._proto)):
            op = ops_pb2.Op()
            try:
                op.ParseFromString(data)
            except DecodeError as error:
                raise ValueError(
                    f"invalid LLB definition: element {position} of def is not"
                    f" an op: {error}"
                ) from error
            digest = digest_of(data)
            metadata = ops_pb2.OpMetadata()
            if digest in self._proto.metadata:
                metadata.CopyFrom(self._proto.metadata[digest])
            decoded.append(DefinitionOp(digest, op, metadata))
        return decoded

    @property
    def head(self) -> str:
        """The digest of the result op: the terminal op's input."""
        return self._terminal_input().digest

    @property
    def head_index(self) -> int:
        """The output index of the result op that the build returns."""
        return self._terminal_input().index

    def _terminal_input(self) -> ops_pb2.Input:
        if not self.ops or not self.ops[-1].op.inputs:
            raise ValueError(
                "invalid LLB definition: the last element must be a terminal"
                " op with one input"
            )
        return self.ops[-1].op.inputs[0]

    def to_json(self, *, indent: int | None = None) -> str:
        """Render like ``buildctl debug dump-llb``: one JSON object per op."""
        from flense.llb.render import render_json

        return render_json(self.ops, indent=indent)

    def to_dot(
        self,
        clusters: Callable[[str, ops_pb2.OpMetadata], str | None] | None = None,
    ) -> str:
        """Render a Graphviz graph like ``buildctl debug dump-llb --dot``.

        ``clusters`` maps a vertex (digest, metadata) to a cluster label, or
        None to leave it outside every cluster.
        """
        from flense.llb.render import render_dot

        return render_dot(self.ops, clusters)


def marshal(state: State, *, platform: Platform | None = None) -> Definition:
    """Marshal ``state`` and every vertex it depends on into a definition.

    ``platform`` is used by image sources and execs that have none of their
    own, and defaults to ``Platform()``, the machine's. Raises ValueError for
    a scratch state, which BuildKit cannot take as a build result.
    """
    if state.output is None:
        raise ValueError(
            "cannot marshal a scratch state: BuildKit has no way to express an"
            " empty result (buildctl rejects an empty definition); add a file"
            " op or marshal a state that has a vertex"
        )
    context = MarshalContext(platform or Platform())
    definition = ops_pb2.Definition()
    written: set[str] = set()
    for vertex in _post_order(state.output.vertex):
        marshalled = vertex.marshal(context)
        # Equal vertices built separately share a digest: write the op once
        # and merge their metadata, as Go's client does.
        definition.metadata[marshalled.digest].MergeFrom(marshalled.metadata)
        if marshalled.digest not in written:
            written.add(marshalled.digest)
            elements(definition).append(marshalled.data)

    terminal = ops_pb2.Op()
    terminal.inputs.append(context.input_of(state.output))
    data = terminal.SerializeToString(deterministic=True)
    elements(definition).append(data)
    definition.metadata[digest_of(data)].CopyFrom(_terminal_metadata(definition))
    return Definition(definition)


def _post_order(root: Vertex) -> list[Vertex]:
    # Depth-first, inputs before users, in each vertex's input order. The
    # walk is iterative because a chain of thousands of ops would exceed
    # Python's recursion limit.
    visited: set[Vertex] = set()
    order: list[Vertex] = []
    stack: list[tuple[Vertex, bool]] = [(root, False)]
    while stack:
        vertex, expanded = stack.pop()
        if vertex in visited:
            continue
        if expanded:
            visited.add(vertex)
            order.append(vertex)
            continue
        stack.append((vertex, True))
        for output in reversed(vertex.inputs()):
            if output.vertex not in visited:
                stack.append((output.vertex, False))
    return order


def _terminal_metadata(definition: ops_pb2.Definition) -> ops_pb2.OpMetadata:
    # The daemon skips the terminal op when it checks caps, but the Go
    # client lists there the caps of features used anywhere in the graph.
    metadata = ops_pb2.OpMetadata()
    metadata.caps["constraints"] = True
    metadata.caps["platform"] = True
    for entry in definition.metadata.values():
        if entry.ignore_cache:
            metadata.caps["meta.ignorecache"] = True
        if entry.description:
            metadata.caps["meta.description"] = True
    return metadata
