"""Merge and diff ops: scratch handling and input order."""

from __future__ import annotations

from flense import llb
from flense.llb.proto import ops_pb2

AMD64 = llb.Platform(os="linux", architecture="amd64")


def head(state: llb.State) -> tuple[ops_pb2.Op, ops_pb2.OpMetadata, dict[str, int]]:
    """Return the result op, its metadata and each op digest's def position."""
    definition = llb.marshal(state, platform=AMD64)
    position = {entry.digest: i for i, entry in enumerate(definition.ops)}
    entry = definition.ops[position[definition.head]]
    return entry.op, entry.metadata, position


def layer(path: str) -> llb.State:
    return llb.scratch().file(llb.mkfile(path, 0o644, path.encode()))


def test_merge_drops_scratch() -> None:
    a, b = layer("/a"), layer("/b")
    op, _, _ = head(llb.merge([llb.scratch(), a, llb.scratch(), b]))
    assert len(op.inputs) == 2
    assert [entry.input for entry in op.merge.inputs] == [0, 1]


def test_merge_of_scratch_is_scratch() -> None:
    assert llb.merge([llb.scratch(), llb.scratch()]).is_scratch()
    assert llb.merge([]).is_scratch()


def test_merge_of_one_is_that_state() -> None:
    a = layer("/a")
    assert llb.merge([llb.scratch(), a]) is a


def test_merge_keeps_input_order() -> None:
    a, b, c = layer("/a"), layer("/b"), layer("/c")
    op, _, _ = head(llb.merge([c, a, b]))
    digests = [llb.marshal(state, platform=AMD64).head for state in (c, a, b)]
    assert [edge.digest for edge in op.inputs] == digests


def test_merge_keeps_duplicate_inputs() -> None:
    a = layer("/a")
    op, _, _ = head(llb.merge([a, layer("/b"), a]))
    assert len(op.inputs) == 3
    assert op.inputs[0] == op.inputs[2]


def test_merge_op_shape() -> None:
    op, metadata, _ = head(llb.merge([layer("/a"), layer("/b")], name="join"))
    assert not op.HasField("platform")
    assert op.HasField("constraints")
    assert sorted(metadata.caps) == ["mergeop"]
    assert metadata.description["llb.customname"] == "join"


def test_merge_result_keeps_first_settings() -> None:
    first = layer("/a").with_env("A", "1").with_cwd("/srv")
    merged = llb.merge([first, layer("/b")])
    assert merged.env == {"A": "1"}
    assert merged.cwd == "/srv"


def test_diff_input_order() -> None:
    lower = llb.image("alpine")
    upper = lower.run(["apk", "add", "git"])
    op, metadata, position = head(llb.diff(lower, upper))
    lower_digest = llb.marshal(lower, platform=AMD64).head
    upper_digest = llb.marshal(upper, platform=AMD64).head
    assert [edge.digest for edge in op.inputs] == [lower_digest, upper_digest]
    assert op.diff.lower.input == 0
    assert op.diff.upper.input == 1
    assert position[lower_digest] < position[upper_digest]
    assert sorted(metadata.caps) == ["diffop"]
    assert not op.HasField("platform")


def test_diff_upper_scratch() -> None:
    op, _, _ = head(llb.diff(llb.image("alpine"), llb.scratch()))
    assert len(op.inputs) == 1
    assert op.diff.lower.input == 0
    assert op.diff.upper.input == -1


def test_diff_lower_scratch_is_upper() -> None:
    upper = layer("/a")
    assert llb.diff(llb.scratch(), upper) is upper


def test_diff_both_scratch_is_scratch() -> None:
    assert llb.diff(llb.scratch(), llb.scratch()).is_scratch()


def test_diff_merged_onto_base() -> None:
    base = llb.image("debian:bookworm")
    built = base.run(["make", "install"])
    final = llb.merge([llb.image("php:8.2"), llb.diff(base, built)])
    op, _, _ = head(final)
    assert op.WhichOneof("op") == "merge"
    assert len(op.inputs) == 2
