"""JSON and DOT renderings of a definition."""

from __future__ import annotations

import json
import re

from google.protobuf import json_format

from flense import llb
from flense.llb.proto import ops_pb2

AMD64 = llb.Platform(os="linux", architecture="amd64")


def example() -> llb.Definition:
    base = llb.image("alpine", description={"flense.component": "core"})
    source = llb.local("context", description={"flense.component": "Cite"})
    built = base.run(
        ["sh", "-c", 'echo "hi"'],
        mounts=[
            llb.bind("/src", source, readonly=True),
            llb.bind("/out", llb.scratch()),
        ],
        description={"flense.component": "Cite"},
    )
    layer = llb.scratch().file(
        llb.copy(built.mount_output("/out"), "/", "/ext/").mkdir("/ext/cache"),
        name="[Cite] copy",
        description={"flense.component": "Cite"},
    )
    return llb.marshal(llb.merge([base, layer]), platform=AMD64)


def test_json_one_object_per_op() -> None:
    definition = example()
    lines = definition.to_json().splitlines()
    assert len(lines) == len(definition.ops)
    for line, entry in zip(lines, definition.ops, strict=True):
        element = json.loads(line)
        assert list(element) == ["Op", "Digest", "OpMetadata"]
        assert element["Digest"] == entry.digest


def test_json_integers_and_explicit_indexes() -> None:
    elements = [json.loads(line) for line in example().to_json().splitlines()]
    file_element = next(e for e in elements if "file" in e["Op"])
    first, second = file_element["Op"]["file"]["actions"]
    assert first["input"] == -1
    assert first["secondaryInput"] == 0
    assert first["output"] == -1
    assert first["copy"]["mode"] == -1
    assert second["input"] == 1
    assert second["output"] == 0
    assert file_element["Op"]["inputs"][0]["index"] == 1


def test_json_parses_back_into_op() -> None:
    definition = example()
    for line, entry in zip(
        definition.to_json().splitlines(), definition.ops, strict=True
    ):
        op = json_format.ParseDict(json.loads(line)["Op"], ops_pb2.Op())
        assert op == entry.op


def test_json_indent_is_readable() -> None:
    text = example().to_json(indent=2)
    assert text.startswith('{\n  "Op": {')
    decoder = json.JSONDecoder()
    position, count = 0, 0
    while position < len(text):
        _, position = decoder.raw_decode(text, position)
        position = len(text) - len(text[position:].lstrip())
        count += 1
    assert count == len(example().ops)


def test_json_metadata_keys_sorted() -> None:
    elements = [json.loads(line) for line in example().to_json().splitlines()]
    for element in elements:
        caps = list(element["OpMetadata"]["caps"])
        assert caps == sorted(caps)


def test_dot_shape() -> None:
    definition = example()
    text = definition.to_dot()
    assert text.startswith("digraph {\n")
    assert text.endswith("}\n")
    nodes = re.findall(r'^  "(sha256:[0-9a-f]+)" \[label=', text, re.MULTILINE)
    assert nodes == [entry.digest for entry in definition.ops]
    edge_count = sum(len(entry.op.inputs) for entry in definition.ops)
    assert len(re.findall(r" -> ", text)) == edge_count


def test_dot_labels_and_shapes() -> None:
    text = example().to_dot()
    assert (
        '[label="docker-image://docker.io/library/alpine:latest" shape="ellipse"]'
        in text
    )
    assert '[label="sh -c echo \\"hi\\"" shape="box"]' in text
    assert (
        '[label="copy{src=/, dest=/ext/},mkdir{path=/ext/cache}" shape="note"]' in text
    )
    assert '[label="merge" shape="invtriangle"]' in text
    assert 'shape="plaintext"' in text


def test_dot_edge_labels_are_mount_dests() -> None:
    text = example().to_dot()
    assert '[label="/src"];' in text
    assert len(re.findall(r'\[label=""\];', text)) >= 1


def test_dot_clusters() -> None:
    definition = example()

    def component(digest: str, metadata: ops_pb2.OpMetadata) -> str | None:
        return metadata.description.get("flense.component")

    text = definition.to_dot(clusters=component)
    assert 'subgraph "cluster_0" {\n    label="core";' in text
    assert 'subgraph "cluster_1" {\n    label="Cite";' in text
    cite = text.split('label="Cite";')[1].split("  }")[0]
    assert cite.count("[label=") == 3
    nodes = re.findall(r"\"(sha256:[0-9a-f]+)\" \[label=.* shape=", text)
    assert sorted(nodes) == sorted(entry.digest for entry in definition.ops)
