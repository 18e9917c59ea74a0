"""Merge ops: stack several filesystems, later ones winning (BuildKit 0.10+)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flense.llb.proto import ops_pb2
from flense.llb.state import State, scratch
from flense.llb.vertex import (
    MarshalContext,
    Output,
    ProgressGroup,
    Vertex,
    VertexOptions,
    new_op,
)


class MergeVertex(Vertex):
    """A ``MergeOp`` over two or more non-scratch states."""

    __slots__ = ("sources",)

    def __init__(self, sources: list[Output], options: VertexOptions) -> None:
        super().__init__(options)
        self.sources = sources

    def inputs(self) -> list[Output]:
        return self.sources

    def build_op(self, context: MarshalContext) -> tuple[ops_pb2.Op, set[str]]:
        # The daemon merges Op.inputs in order. Inputs are not de-duplicated
        # because each one is a layer in its position. Like every
        # filesystem-only op, a merge carries no platform.
        op = new_op()
        for position, source in enumerate(self.sources):
            op.inputs.append(context.input_of(source))
            op.merge.inputs.add(input=position)
        return op, {"mergeop"}


def merge(
    states: Sequence[State],
    *,
    name: str | None = None,
    description: Mapping[str, str] | None = None,
    ignore_cache: bool = False,
    progress_group: ProgressGroup | None = None,
) -> State:
    """Stack ``states`` in order; a path in a later state replaces earlier ones.

    Scratch states are dropped. With none left the result is scratch, and
    with one left it is that state, without a MergeOp. The result keeps the
    environment and working directory of the first remaining state.

    Each input brings every layer of its history, deletions included, so a
    path that an input's history removed is also removed from the inputs
    before it. To merge only the files an input added on top of a base,
    merge ``llb.diff(base, input)`` or copy those files onto scratch.
    """
    remaining = [state for state in states if not state.is_scratch()]
    if not remaining:
        return scratch()
    if len(remaining) == 1:
        return remaining[0]
    options = VertexOptions.build(name, description, ignore_cache, progress_group)
    outputs = [state.output for state in remaining if state.output is not None]
    return remaining[0].with_output(Output(MergeVertex(outputs, options), 0))
