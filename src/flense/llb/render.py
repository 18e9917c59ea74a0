"""Text renderings of a definition: JSON lines and Graphviz DOT.

Both are modelled on ``buildctl debug dump-llb`` as of BuildKit v0.32: the
DOT output has the same labels, shapes and edges, and the JSON output has
one ``{"Op", "Digest", "OpMetadata"}`` object per op, although its ``Op``
form is the standard proto3 JSON mapping rather than Go's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from flense.llb.proto import ops_pb2

_INTEGER_TYPES = (
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
)

# Index fields whose value 0 is meaningful, because proto3 JSON omits zeros.
_EXPLICIT_FIELDS = {
    "pb.Input": ("index",),
    "pb.Mount": ("input", "output"),
    "pb.FileAction": ("input", "secondaryInput", "output"),
}


def _to_plain(message: Message) -> dict[str, Any]:
    # Proto3 JSON names from the .proto, with 64-bit integers as JSON
    # numbers (proto3 JSON writes them as strings) and map keys sorted.
    data = json_format.MessageToDict(message, preserving_proto_field_name=True)
    return _restore(message, data)


def _restore(message: Message, data: dict[str, Any]) -> dict[str, Any]:
    descriptor = message.DESCRIPTOR
    for name in _EXPLICIT_FIELDS.get(descriptor.full_name, ()):
        data.setdefault(name, getattr(message, name))
    for key in list(data):
        field = descriptor.fields_by_name[key]
        value = getattr(message, key)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            data[key] = dict(sorted(data[key].items()))
        elif field.message_type is not None:
            if field.is_repeated:
                data[key] = [
                    _restore(item, plain)
                    for item, plain in zip(value, data[key], strict=True)
                ]
            else:
                data[key] = _restore(value, data[key])
        elif field.type in _INTEGER_TYPES:
            data[key] = list(value) if field.is_repeated else value
    numbers = {name: descriptor.fields_by_name[name].number for name in data}
    return {name: data[name] for name in sorted(data, key=numbers.__getitem__)}


def render_json(ops: Sequence[Any], *, indent: int | None = None) -> str:
    """Return one JSON object per op: ``{"Op", "Digest", "OpMetadata"}``.

    Without ``indent`` each object is one line (JSON Lines), as
    ``dump-llb`` prints it. Field names are those of the .proto, 64-bit
    integers are numbers and ``bytes`` fields are base64.
    """
    lines = []
    for entry in ops:
        element = {
            "Op": _to_plain(entry.op),
            "Digest": entry.digest,
            "OpMetadata": _to_plain(entry.metadata),
        }
        lines.append(json.dumps(element, indent=indent, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _label_and_shape(digest: str, op: ops_pb2.Op) -> tuple[str, str]:
    kind = op.WhichOneof("op")
    if kind == "source":
        return op.source.identifier, "ellipse"
    if kind == "exec":
        return " ".join(op.exec.meta.args), "box"
    if kind == "build":
        return "build", "box3d"
    if kind == "merge":
        return "merge", "invtriangle"
    if kind == "diff":
        return "diff", "doublecircle"
    if kind == "file":
        return ",".join(_action_label(action) for action in op.file.actions), "note"
    return digest, "plaintext"


def _action_label(action: ops_pb2.FileAction) -> str:
    kind = action.WhichOneof("action")
    if kind == "copy":
        return f"copy{{src={action.copy.src}, dest={action.copy.dest}}}"
    if kind == "mkfile":
        return f"mkfile{{path={action.mkfile.path}}}"
    if kind == "mkdir":
        return f"mkdir{{path={action.mkdir.path}}}"
    if kind == "rm":
        return f"rm{{path={action.rm.path}}}"
    if kind == "symlink":
        return (
            f"symlink{{oldpath={action.symlink.oldpath},"
            f" newpath={action.symlink.newpath}}}"
        )
    return ""


def _edge_label(op: ops_pb2.Op, position: int) -> str:
    # The destination of the last non-root mount that reads this input.
    label = ""
    if op.WhichOneof("op") == "exec":
        for mount in op.exec.mounts:
            if mount.input == position and mount.dest != "/":
                label = mount.dest
    return label


def render_dot(
    ops: Sequence[Any],
    clusters: Callable[[str, ops_pb2.OpMetadata], str | None] | None = None,
) -> str:
    """Return a Graphviz ``digraph`` with one node per op.

    Nodes are labelled and shaped by op kind, edges run from input to user
    and edges into execs carry the mount destination. With ``clusters``,
    the nodes it maps to the same label are drawn inside one box.
    """
    lines = ["digraph {"]
    grouped: dict[str, list[str]] = {}
    for entry in ops:
        label, shape = _label_and_shape(entry.digest, entry.op)
        node = f"{_quote(entry.digest)} [label={_quote(label)} shape={_quote(shape)}];"
        cluster = clusters(entry.digest, entry.metadata) if clusters else None
        if cluster is None:
            lines.append(f"  {node}")
        else:
            grouped.setdefault(cluster, []).append(node)
    for number, (cluster, nodes) in enumerate(grouped.items()):
        lines.append(f"  subgraph {_quote(f'cluster_{number}')} {{")
        lines.append(f"    label={_quote(cluster)};")
        lines.extend(f"    {node}" for node in nodes)
        lines.append("  }")
    for entry in ops:
        for position, edge in enumerate(entry.op.inputs):
            label = _quote(_edge_label(entry.op, position))
            lines.append(
                f"  {_quote(edge.digest)} -> {_quote(entry.digest)} [label={label}];"
            )
    lines.append("}")
    return "\n".join(lines) + "\n"
