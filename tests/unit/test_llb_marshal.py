"""Marshalling: byte stability, def order, the terminal op, de-duplication."""

from __future__ import annotations

import pytest

from flense import llb
from flense.llb.proto import ops_pb2

AMD64 = llb.Platform(os="linux", architecture="amd64")


def by_digest(definition: llb.Definition) -> dict[str, ops_pb2.Op]:
    return {entry.digest: entry.op for entry in definition.ops}


def worked_example() -> llb.State:
    alpine = llb.image("alpine")
    context = llb.local("context", include=["src"])
    ran = alpine.run(["/bin/sh", "-c", "echo hi"])
    return ran.file(llb.copy(context, "src", "/app/"))


def test_marshal_same_graph_twice_same_bytes() -> None:
    state = worked_example()
    first = llb.marshal(state, platform=AMD64).to_bytes()
    second = llb.marshal(state, platform=AMD64).to_bytes()
    assert first == second


def test_marshal_separate_equal_graphs_same_bytes() -> None:
    first = llb.marshal(worked_example(), platform=AMD64).to_bytes()
    second = llb.marshal(worked_example(), platform=AMD64).to_bytes()
    assert first == second


def test_marshal_description_order_irrelevant() -> None:
    ordered = llb.image("alpine", description={"a": "1", "b": "2"})
    reordered = llb.image("alpine", description={"b": "2", "a": "1"})
    first = llb.marshal(ordered, platform=AMD64).to_bytes()
    second = llb.marshal(reordered, platform=AMD64).to_bytes()
    assert first == second


def test_worked_example_ops() -> None:
    definition = llb.marshal(worked_example(), platform=AMD64)
    kinds = [entry.op.WhichOneof("op") for entry in definition.ops]
    assert kinds == ["source", "exec", "source", "file", None]

    image, run, context, copy, terminal = (entry.op for entry in definition.ops)
    digests = [entry.digest for entry in definition.ops]
    assert image.source.identifier == "docker-image://docker.io/library/alpine:latest"
    assert image.platform == ops_pb2.Platform(Architecture="amd64", OS="linux")
    assert image.HasField("constraints")

    assert context.source.identifier == "local://context"
    assert dict(context.source.attrs) == {"local.includepattern": '["src"]'}
    assert not context.HasField("platform")

    assert [(i.digest, i.index) for i in run.inputs] == [(digests[0], 0)]
    assert list(run.exec.meta.args) == ["/bin/sh", "-c", "echo hi"]
    assert run.exec.meta.cwd == "/"
    assert run.exec.meta.removeMountStubsRecursive
    assert list(run.exec.mounts) == [ops_pb2.Mount(input=0, dest="/", output=0)]
    assert run.platform == image.platform

    assert [(i.digest, i.index) for i in copy.inputs] == [
        (digests[1], 0),
        (digests[2], 0),
    ]
    (action,) = copy.file.actions
    assert (action.input, action.secondaryInput, action.output) == (0, 1, 0)
    assert action.copy == ops_pb2.FileActionCopy(
        src="/src", dest="/app/", mode=-1, timestamp=-1
    )
    assert not copy.HasField("platform")
    assert copy.HasField("constraints")

    assert list(terminal.inputs) == [ops_pb2.Input(digest=digests[3], index=0)]


def test_worked_example_caps() -> None:
    definition = llb.marshal(worked_example(), platform=AMD64)
    caps = [sorted(entry.metadata.caps) for entry in definition.ops]
    assert caps == [
        ["source.image"],
        ["exec.meta.base", "exec.mount.bind"],
        ["source.local", "source.local.includepatterns"],
        ["file.base"],
        ["constraints", "platform"],
    ]


def test_terminal_op_has_only_inputs() -> None:
    definition = llb.marshal(llb.image("alpine"), platform=AMD64)
    terminal = definition.ops[-1].op
    assert terminal.WhichOneof("op") is None
    assert not terminal.HasField("platform")
    assert not terminal.HasField("constraints")
    assert len(terminal.inputs) == 1


def test_terminal_caps_follow_metadata() -> None:
    state = llb.image("alpine", name="base").run(["true"], ignore_cache=True)
    definition = llb.marshal(state, platform=AMD64)
    assert sorted(definition.ops[-1].metadata.caps) == [
        "constraints",
        "meta.description",
        "meta.ignorecache",
        "platform",
    ]


def test_head_is_result_digest() -> None:
    state = llb.image("alpine").run(["true"])
    definition = llb.marshal(state, platform=AMD64)
    assert definition.head == definition.ops[-2].digest
    assert definition.head_index == 0


def test_head_index_of_mount_output() -> None:
    ran = llb.image("alpine").run(["true"], mounts=[llb.bind("/out", llb.scratch())])
    definition = llb.marshal(ran.mount_output("/out"), platform=AMD64)
    assert definition.head_index == 1


def test_metadata_keyed_by_every_digest() -> None:
    definition = llb.marshal(worked_example(), platform=AMD64)
    digests = {entry.digest for entry in definition.ops}
    assert set(definition.proto.metadata) == digests


def test_identical_vertices_written_once() -> None:
    left = llb.image("alpine", name="left").run(["true"])
    right = llb.image("alpine", name="right").run(["false"])
    merged = llb.merge([left, right])
    definition = llb.marshal(merged, platform=AMD64)
    sources = [e for e in definition.ops if e.op.WhichOneof("op") == "source"]
    assert len(sources) == 1


def test_identical_vertices_merge_metadata() -> None:
    left = llb.image("alpine", description={"a": "1"}).run(["true"])
    right = llb.image("alpine", description={"b": "2"}, ignore_cache=True)
    merged = llb.merge([left, right.run(["false"])])
    definition = llb.marshal(merged, platform=AMD64)
    (source,) = [e for e in definition.ops if e.op.WhichOneof("op") == "source"]
    assert dict(source.metadata.description) == {"a": "1", "b": "2"}
    assert source.metadata.ignore_cache


def test_def_lists_inputs_before_users() -> None:
    definition = llb.marshal(worked_example(), platform=AMD64)
    position = {entry.digest: i for i, entry in enumerate(definition.ops)}
    for entry in definition.ops:
        for edge in entry.op.inputs:
            assert position[edge.digest] < position[entry.digest]


def test_marshal_scratch_raises() -> None:
    with pytest.raises(ValueError, match="scratch"):
        llb.marshal(llb.scratch())


def test_default_platform_is_marshal_platform() -> None:
    arm = llb.Platform(architecture="arm64")
    definition = llb.marshal(llb.image("alpine").run(["true"]), platform=arm)
    image, run, _ = (entry.op for entry in definition.ops)
    assert image.platform.Architecture == "arm64"
    assert run.platform.Architecture == "arm64"


def test_image_platform_overrides_marshal_platform() -> None:
    arm = llb.Platform(architecture="arm64")
    state = llb.image("alpine", platform=arm).run(["true"])
    definition = llb.marshal(state, platform=AMD64)
    image, run, _ = (entry.op for entry in definition.ops)
    assert image.platform.Architecture == "arm64"
    assert run.platform.Architecture == "arm64"


def test_vertex_cached_per_platform() -> None:
    state = llb.image("alpine")
    amd = llb.marshal(state, platform=AMD64).head
    arm = llb.marshal(state, platform=llb.Platform(architecture="arm64")).head
    assert amd != arm


def test_digest_is_sha256_of_bytes() -> None:
    import hashlib

    definition = llb.marshal(worked_example(), platform=AMD64)
    elements = getattr(definition.proto, "def")  # "def" is a Python keyword
    for data, entry in zip(elements, definition.ops, strict=True):
        assert entry.digest == "sha256:" + hashlib.sha256(data).hexdigest()


def test_from_bytes_round_trip() -> None:
    data = llb.marshal(worked_example(), platform=AMD64).to_bytes()
    parsed = llb.Definition.from_bytes(data)
    assert parsed.to_bytes() == data


def test_from_bytes_invalid_raises() -> None:
    with pytest.raises(ValueError, match="invalid LLB definition"):
        llb.Definition.from_bytes(b"\xff\xff\xff")


def test_deep_chain_marshals() -> None:
    state = llb.image("alpine")
    for number in range(3000):
        state = state.file(llb.mkdir(f"/d{number}"))
    definition = llb.marshal(state, platform=AMD64)
    assert len(definition.ops) == 3002


def test_exec_state_equal_bytes_across_builds() -> None:
    def build() -> bytes:
        base = llb.image("debian:bookworm").with_env("A", "1")
        ran = base.run(
            ["make"],
            mounts=[llb.cache_mount("/cache", "c"), llb.bind("/out", llb.scratch())],
        )
        return llb.marshal(ran.mount_output("/out"), platform=AMD64).to_bytes()

    assert build() == build()
