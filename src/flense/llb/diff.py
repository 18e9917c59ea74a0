"""Diff ops: the changes that turn one filesystem into another (BuildKit 0.10+)."""

from __future__ import annotations

from collections.abc import Mapping

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


class DiffVertex(Vertex):
    """A ``DiffOp``; ``lower`` or ``upper`` None is scratch."""

    __slots__ = ("lower", "upper")

    def __init__(
        self, lower: Output | None, upper: Output | None, options: VertexOptions
    ) -> None:
        super().__init__(options)
        self.lower = lower
        self.upper = upper

    def inputs(self) -> list[Output]:
        return [output for output in (self.lower, self.upper) if output is not None]

    def build_op(self, context: MarshalContext) -> tuple[ops_pb2.Op, set[str]]:
        # The daemon reads the lower input first and the upper one next, so
        # the order of Op.inputs matters.
        op = new_op()
        op.diff.lower.input = -1
        op.diff.upper.input = -1
        if self.lower is not None:
            op.diff.lower.input = len(op.inputs)
            op.inputs.append(context.input_of(self.lower))
        if self.upper is not None:
            op.diff.upper.input = len(op.inputs)
            op.inputs.append(context.input_of(self.upper))
        return op, {"diffop"}


def diff(
    lower: State,
    upper: State,
    *,
    name: str | None = None,
    description: Mapping[str, str] | None = None,
    ignore_cache: bool = False,
    progress_group: ProgressGroup | None = None,
) -> State:
    """Return the changes from ``lower`` to ``upper`` as a filesystem.

    Merging the result onto another state applies those changes, including
    deletions. When ``lower`` is scratch the result is ``upper`` itself and
    when both are scratch it is scratch. The result keeps ``lower``'s
    environment and working directory, as Go's ``llb.Diff`` does.
    """
    if lower.is_scratch():
        return scratch() if upper.is_scratch() else upper
    options = VertexOptions.build(name, description, ignore_cache, progress_group)
    vertex = DiffVertex(lower.output, upper.output, options)
    return lower.with_output(Output(vertex, 0))
