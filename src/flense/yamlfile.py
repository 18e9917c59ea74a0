"""Load a YAML file into a tree of nodes that carry their source locations.

Scalars are typed the way Blubber's YAML library types them: gopkg.in/yaml.v2
(through ghodss/yaml), which follows YAML 1.1. So ``yes``, ``no``, ``on``,
``off``, ``y`` and ``n`` are booleans, ``1.10`` and ``1e3`` are floats, ``0755``
is an octal integer and ``~`` is null. Two yaml.v2 choices are kept as well:
timestamp-like scalars stay strings, and base-60 numbers (``1:30``) are strings.

PyYAML parses and composes the document. Its own scalar typing is not used,
because it differs from yaml.v2 (``1e3`` and ``y`` are strings there).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.events import StreamEndEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from flense.errors import Location, UserInputError

__all__ = [
    "Node",
    "SourceTextError",
    "decode_text",
    "describe",
    "load_yaml",
    "read_file",
    "with_source_text",
]

Value = None | bool | int | float | str | dict[str, "Node"] | list["Node"]


@dataclass(frozen=True)
class Node:
    """A YAML value with the location it was read from."""

    value: Value
    location: Location
    key_location: Location | None = None

    @property
    def kind(self) -> str:
        """The value's type: null, bool, int, float, str, map or seq."""
        value = self.value
        if value is None:
            return "null"
        # bool before int, because bool is a subclass of int.
        if isinstance(value, bool):
            return "bool"
        if isinstance(value, int):
            return "int"
        if isinstance(value, float):
            return "float"
        if isinstance(value, str):
            return "str"
        if isinstance(value, dict):
            return "map"
        return "seq"

    def to_python(self) -> Any:
        """Return the value as plain Python data, without locations.

        NOTE: this expands every alias, so a small file whose aliases nest
        (a "billion laughs" document) gives an exponentially large result.
        """
        if isinstance(self.value, dict):
            return {key: child.to_python() for key, child in self.value.items()}
        if isinstance(self.value, list):
            return [child.to_python() for child in self.value]
        return self.value


def describe(node: Node) -> str:
    """Describe a node's value for an error message, such as ``the number 3``."""
    kind = node.kind
    if kind == "null":
        return "null"
    if kind == "bool":
        return f"the boolean {'true' if node.value else 'false'}"
    if kind in ("int", "float"):
        return f"the number {node.value}"
    if kind == "str":
        return f"the string {json.dumps(node.value, ensure_ascii=False)}"
    if kind == "map":
        return "a mapping"
    return "a list"


def load_yaml(path: Path, text: str | bytes | None = None) -> Node:
    """Parse one YAML document into a Node tree.

    Reads ``path`` unless ``text`` is given, as a string or as the file's
    bytes; locations always name ``path``. An empty file gives a null root
    node. Raises UserInputError, with the location, for an unreadable or
    non-UTF-8 file, invalid syntax, more than one document, duplicate or
    non-string mapping keys, recursive aliases and unsupported tags.
    """
    if text is None:
        text = read_file(path)
    if isinstance(text, bytes):
        text = decode_text(path, text)

    try:
        loader = _Loader(text)
        try:
            root = _compose_single(loader, path)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(path, error) from error
    except yaml.reader.ReaderError as error:
        raise _reader_error(path, text, error) from error

    if root is None:
        return Node(None, Location(path, 1, 1))
    return _Converter(path).convert(root)


# --- reading -----------------------------------------------------------------


def read_file(path: Path) -> bytes:
    """Read a file's bytes, raising a located UserInputError when it fails."""
    try:
        return path.read_bytes()
    except OSError as error:
        reason = error.strerror or str(error)
        raise UserInputError(
            f"cannot read the file: {reason}; check the path and its permissions",
            Location(path, 1, 1),
        ) from error


def decode_text(path: Path, data: bytes) -> str:
    """Decode a YAML file's bytes as UTF-8, raising a located UserInputError.

    A leading byte-order mark is dropped, because YAML allows one.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _encoding_error(path, data, error) from error


def _encoding_error(
    path: Path, data: bytes, error: UnicodeDecodeError
) -> UserInputError:
    before = data[: error.start]
    line = before.count(b"\n") + 1
    line_start = before.rfind(b"\n") + 1
    # Columns count characters after the byte-order mark, as PyYAML's do.
    line_before = before[line_start:].decode("utf-8-sig", errors="replace")
    column = len(line_before) + 1
    bad_byte = data[error.start]
    return UserInputError(
        f"the file is not valid UTF-8 (byte 0x{bad_byte:02x}); save it as UTF-8",
        Location(path, line, column),
    )


# --- errors that quote text held in memory ----------------------------------


class SourceTextError(UserInputError):
    """A UserInputError that quotes its line from text read earlier.

    UserInputError reads the file again to quote the line, which finds
    nothing in a pipe or standard input and cannot decode a file that is
    not UTF-8. This error quotes ``source``, the file's bytes, instead. An
    invalid UTF-8 sequence shows as U+FFFD in the quoted line.
    """

    def __init__(self, message: str, location: Location, source: bytes) -> None:
        super().__init__(message, location)
        self.source = source

    def __str__(self) -> str:
        assert self.location is not None
        first = f"{self.location}: {self.message}"
        lines = self.source.decode("utf-8-sig", errors="replace").split("\n")
        if not 1 <= self.location.line <= len(lines):
            return first
        text = lines[self.location.line - 1].removesuffix("\r")
        if not text:
            return first
        caret = " " * (max(self.location.column, 1) - 1) + "^"
        return f"{first}\n    {text}\n    {caret}"


def with_source_text(
    error: UserInputError, path: Path, source: bytes
) -> UserInputError:
    """Return ``error`` as a SourceTextError when it is located in ``path``."""
    location = error.location
    if location is None or str(location.path) != str(path):
        return error
    if isinstance(error, SourceTextError):
        return error
    return SourceTextError(error.message, location, source)


# --- composing ---------------------------------------------------------------

# The tag the resolver gives every plain (unquoted, untagged) scalar, so that
# _resolve_plain can type it with yaml.v2's rules after composing.
_PLAIN_TAG = "!flense/plain"
_YAML_TAG = "tag:yaml.org,2002:"


class _Resolver(BaseResolver):
    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is ScalarNode and implicit[0]:
            return _PLAIN_TAG
        return str(super().resolve(kind, value, implicit))


class _Loader(Reader, Scanner, Parser, Composer, _Resolver):
    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _Resolver.__init__(self)

    def compose_scalar_node(self, anchor: Any) -> ScalarNode:
        # PyYAML resolves "! 12" like a plain scalar, but the non-specific
        # tag "!" makes it a string in the YAML spec and in yaml.v2.
        non_specific = self.peek_event().tag == "!"
        node: ScalarNode = super().compose_scalar_node(anchor)
        if non_specific:
            node.tag = _YAML_TAG + "str"
        return node


def _compose_single(loader: _Loader, path: Path) -> yaml.Node | None:
    loader.get_event()  # StreamStartEvent
    if loader.check_event(StreamEndEvent):
        return None
    root = loader.compose_document()
    if not loader.check_event(StreamEndEvent):
        second = loader.peek_event()
        raise UserInputError(
            "the file contains more than one YAML document; "
            "remove this one or move it to a file of its own",
            _location(path, second.start_mark),
        )
    return root


def _location(path: Path, mark: Any) -> Location:
    return Location(path, mark.line + 1, mark.column + 1)


# Replacements for PyYAML problem texts that are hard to act on, keyed by a
# substring of the problem.
_SYNTAX_HINTS = {
    "mapping values are not allowed here": (
        "a mapping value is not allowed here; fix the indentation, or quote "
        'the value if it contains ": "'
    ),
    "'\\t' that cannot start any token": (
        "a tab character is not allowed here; indent with spaces"
    ),
    "could not find expected ':'": (
        'a mapping key is not followed by ":"; add the colon or close the quoted string'
    ),
    "expected <block end>": (
        "the indentation of this line does not match the lines above it; "
        "align it with its siblings"
    ),
    "found undefined alias": (
        "the alias names no anchor defined above it; define &name before *name"
    ),
    "found unexpected end of stream": (
        "the file ends inside a value; close the open quote or bracket"
    ),
}


def _syntax_error(path: Path, error: yaml.MarkedYAMLError) -> UserInputError:
    context = error.context or ""
    if context.startswith("found duplicate anchor"):
        first = error.context_mark
        anchor = context.removeprefix("found duplicate anchor ").split(";")[0]
        anchor = anchor.strip("'\"")
        line = first.line + 1 if first is not None else "?"
        return UserInputError(
            f"invalid YAML: anchor &{anchor} is already defined on line {line}; "
            "rename one of them",
            _location(path, error.problem_mark),
        )

    problem = error.problem or "unknown problem"
    message = f"invalid YAML: {problem}"
    for fragment, hint in _SYNTAX_HINTS.items():
        if fragment in problem:
            message = f"invalid YAML: {hint}"
            break
    mark = error.problem_mark or error.context_mark
    context_mark = error.context_mark
    if (
        context
        and context_mark is not None
        and mark is not None
        and context_mark.line != mark.line
    ):
        message += f" ({context} on line {context_mark.line + 1})"
    if mark is None:
        return UserInputError(message, Location(path, 1, 1))
    return UserInputError(message, _location(path, mark))


def _reader_error(
    path: Path, text: str, error: yaml.reader.ReaderError
) -> UserInputError:
    # PyYAML counts the position in characters of the decoded text.
    before = text[: error.position]
    line = before.count("\n") + 1
    column = error.position - (before.rfind("\n") + 1) + 1
    character = error.character
    code = ord(character) if isinstance(character, str) else character
    return UserInputError(
        f"invalid YAML: the character U+{code:04X} is not allowed in YAML; remove it",
        Location(path, line, column),
    )


# --- converting --------------------------------------------------------------


class _Converter:
    """Turn composed PyYAML nodes into Node values, typing scalars as yaml.v2."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Converted nodes by id, so that aliases cost no extra work, and the
        # ids of the collections being converted, to detect recursive aliases.
        self.done: dict[int, Node] = {}
        self.active: set[int] = set()

    def location(self, node: yaml.Node) -> Location:
        return _location(self.path, node.start_mark)

    def convert(self, node: yaml.Node) -> Node:
        key = id(node)
        converted = self.done.get(key)
        if converted is not None:
            return converted
        if key in self.active:
            raise UserInputError(
                "invalid YAML: an alias refers to a value that contains it; "
                "YAML data read by flense must not be recursive",
                self.location(node),
            )
        self.active.add(key)
        try:
            if isinstance(node, ScalarNode):
                converted = Node(self.scalar(node), self.location(node))
            elif isinstance(node, SequenceNode):
                converted = self.sequence(node)
            else:
                assert isinstance(node, MappingNode)
                converted = self.mapping(node)
        finally:
            self.active.discard(key)
        self.done[key] = converted
        return converted

    def scalar(self, node: ScalarNode) -> None | bool | int | float | str:
        tag = node.tag
        text = node.value
        if tag == _PLAIN_TAG:
            return _resolve_plain(text)
        if tag in (_YAML_TAG + "str", _YAML_TAG + "timestamp"):
            return text
        expected = {
            _YAML_TAG + "null": "null",
            _YAML_TAG + "bool": "bool",
            _YAML_TAG + "int": "int",
            _YAML_TAG + "float": "float",
        }.get(tag)
        if expected is None:
            raise self.unsupported_tag(node)
        value = _resolve_plain(text)
        actual = Node(value, self.location(node)).kind
        if expected == "float" and actual == "int":
            return float(value)  # type: ignore[arg-type]
        if actual != expected:
            raise UserInputError(
                f"invalid YAML: {json.dumps(text)} is not a valid "
                f"{_short_tag(tag)} value; fix the value or remove the tag",
                self.location(node),
            )
        return value

    def sequence(self, node: SequenceNode) -> Node:
        if node.tag != _YAML_TAG + "seq":
            raise self.unsupported_tag(node)
        items = [self.convert(item) for item in node.value]
        return Node(items, self.location(node))

    def mapping(self, node: MappingNode) -> Node:
        if node.tag != _YAML_TAG + "map":
            raise self.unsupported_tag(node)

        explicit: dict[str, Node] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if _is_merge_key(key_node):
                merged.extend(self.merge_sources(value_node))
                continue
            key = self.key(key_node)
            if key in explicit:
                first = explicit[key].key_location
                first_line = first.line if first is not None else "?"
                raise UserInputError(
                    f"duplicate key {json.dumps(key, ensure_ascii=False)}: it is "
                    f"already set on line {first_line}; remove one of them",
                    self.location(key_node),
                )
            value = self.convert(value_node)
            explicit[key] = dataclasses.replace(
                value, key_location=self.location(key_node)
            )

        if not merged:
            return Node(explicit, self.location(node))

        # As the YAML 1.1 merge key type specifies, keys written in this
        # mapping win over merged keys, and earlier merged mappings win over
        # later ones.
        result: dict[str, Node] = {}
        for source in merged:
            assert isinstance(source.value, dict)
            for key, value in source.value.items():
                if key not in explicit and key not in result:
                    result[key] = value
        result.update(explicit)
        return Node(result, self.location(node))

    def merge_sources(self, value_node: yaml.Node) -> list[Node]:
        value = self.convert(value_node)
        if value.kind == "map":
            return [value]
        if value.kind == "seq":
            assert isinstance(value.value, list)
            if all(item.kind == "map" for item in value.value):
                return list(value.value)
        raise UserInputError(
            f"invalid merge: the value of << must be a mapping or a list of "
            f"mappings, not {describe(value)}",
            self.location(value_node),
        )

    def key(self, key_node: yaml.Node) -> str:
        if not isinstance(key_node, ScalarNode):
            kind = "list" if isinstance(key_node, SequenceNode) else "mapping"
            raise UserInputError(
                f"a {kind} cannot be a mapping key; use a string key",
                self.location(key_node),
            )
        key = self.convert(key_node)
        if isinstance(key.value, str):
            return key.value
        if not key_node.value:
            raise UserInputError(
                "a mapping key is missing; write a key before the colon",
                self.location(key_node),
            )
        quoted = json.dumps(key_node.value, ensure_ascii=False)
        raise UserInputError(
            f"mapping key {key_node.value} is read as {describe(key)}, not a "
            f"string; quote it to use it as a string: {quoted}",
            self.location(key_node),
        )

    def unsupported_tag(self, node: yaml.Node) -> UserInputError:
        return UserInputError(
            f"invalid YAML: the tag {_short_tag(node.tag)} is not supported; remove it",
            self.location(node),
        )


def _is_merge_key(node: yaml.Node) -> bool:
    if not isinstance(node, ScalarNode):
        return False
    if node.tag == _YAML_TAG + "merge":
        return True
    return node.tag == _PLAIN_TAG and node.value == "<<"


def _short_tag(tag: str) -> str:
    if tag.startswith(_YAML_TAG):
        return "!!" + tag.removeprefix(_YAML_TAG)
    return tag


# --- typing plain scalars as gopkg.in/yaml.v2 does ---------------------------

_PLAIN_CONSTANTS: dict[str, None | bool | float] = {
    **dict.fromkeys(["", "~", "null", "Null", "NULL"], None),
    **dict.fromkeys(
        ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"],
        True,
    ),
    **dict.fromkeys(
        ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"],
        False,
    ),
    **dict.fromkeys([".nan", ".NaN", ".NAN"], math.nan),
    **dict.fromkeys([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"], math.inf),
    **dict.fromkeys(["-.inf", "-.Inf", "-.INF"], -math.inf),
}

# Go's strconv.ParseInt with base 0: a 0x, 0o or 0b prefix, or a leading 0
# for octal.
_GO_INT = re.compile(
    r"([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)"
)
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_LEADING_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
_UINT64_MAX = 2**64 - 1


def _resolve_plain(text: str) -> None | bool | int | float | str:
    if text in _PLAIN_CONSTANTS:
        return _PLAIN_CONSTANTS[text]
    if not text:
        return text

    if text[0] == ".":
        if _LEADING_DOT_FLOAT.fullmatch(text):
            return _finite_float(text)
        return text

    if text[0] not in "+-0123456789":
        return text

    # yaml.v2 drops every underscore before it parses a number.
    plain = text.replace("_", "")
    number = _parse_go_int(plain)
    if number is not None:
        return number
    if _FLOAT.fullmatch(plain):
        return _finite_float(plain)
    return text


def _parse_go_int(text: str) -> int | None:
    match = _GO_INT.fullmatch(text)
    if match is None:
        return None
    sign, digits = match.groups()
    prefix = digits[:2].lower()
    if prefix in ("0x", "0o", "0b"):
        magnitude = int(digits[2:], {"0x": 16, "0o": 8, "0b": 2}[prefix])
    elif len(digits) > 1 and digits[0] == "0":
        magnitude = int(digits[1:], 8)
    else:
        magnitude = int(digits)
    number = -magnitude if sign == "-" else magnitude
    if _INT64_MIN <= number <= _INT64_MAX:
        return number
    # yaml.v2 then tries strconv.ParseUint, which takes no sign.
    if not sign and number <= _UINT64_MAX:
        return number
    return None


def _finite_float(text: str) -> float | str:
    # Go's strconv.ParseFloat reports an error when the value overflows, and
    # yaml.v2 then keeps the scalar as a string.
    number = float(text)
    return text if math.isinf(number) else number
