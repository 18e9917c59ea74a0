"""Tests for the YAML loader: locations, yaml.v2 scalar typing, and errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from flense.errors import Location, UserInputError
from flense.yamlfile import (
    Node,
    SourceTextError,
    describe,
    load_yaml,
    with_source_text,
)

PATH = Path("config.yaml")


def value_of(scalar: str) -> object:
    root = load_yaml(PATH, f"key: {scalar}\n")
    assert isinstance(root.value, dict)
    return root.value["key"].value


# Plain scalars and the value gopkg.in/yaml.v2 (through ghodss/yaml) gives them.
SCALARS = [
    ("yes", True),
    ("Yes", True),
    ("YES", True),
    ("on", True),
    ("ON", True),
    ("y", True),
    ("Y", True),
    ("true", True),
    ("no", False),
    ("off", False),
    ("n", False),
    ("N", False),
    ("False", False),
    ("~", None),
    ("null", None),
    ("NULL", None),
    ("", None),
    ("1.10", 1.1),
    ("1e3", 1000.0),
    ("-1.5E-2", -0.015),
    (".5", 0.5),
    ("+.5", 0.5),
    ("1.", 1.0),
    ("08", 8.0),
    ("1_000.5", 1000.5),
    (".inf", math.inf),
    ("-.Inf", -math.inf),
    ("42", 42),
    ("-7", -7),
    ("+7", 7),
    ("0", 0),
    ("0755", 493),
    ("0o17", 15),
    ("0x1F", 31),
    ("0b101", 5),
    ("-0b11", -3),
    ("1_000", 1000),
    ("9223372036854775807", 9223372036854775807),
    ("18446744073709551615", 18446744073709551615),
    ("18446744073709551616", 1.8446744073709552e19),
    ("-9223372036854775809", -9.223372036854776e18),
    ("1e400", "1e400"),
    ("1:30", "1:30"),
    ("2020-01-01", "2020-01-01"),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
    ("0x", "0x"),
    ("1.2.3", "1.2.3"),
    ("v4", "v4"),
    (".", "."),
    ("yess", "yess"),
    ("distribution", "distribution"),
    ("'yes'", "yes"),
    ('"1.10"', "1.10"),
    ("!!str 12", "12"),
    ("!!float 3", 3.0),
    ("!!int '12'", 12),
    ("!!bool on", True),
    ("!!timestamp 2020-01-01", "2020-01-01"),
    ("! 12", "12"),
]


@pytest.mark.parametrize(("scalar", "expected"), SCALARS, ids=[s for s, _ in SCALARS])
def test_scalar_typing(scalar: str, expected: object) -> None:
    value = value_of(scalar)

    assert value == expected
    assert type(value) is type(expected)


def test_scalar_nan() -> None:
    value = value_of(".NaN")

    assert isinstance(value, float)
    assert math.isnan(value)


KINDS = [
    ("a: 1", "int"),
    ("a: 1.0", "float"),
    ("a: yes", "bool"),
    ("a: ~", "null"),
    ("a: x", "str"),
    ("a: {}", "map"),
    ("a: []", "seq"),
]


@pytest.mark.parametrize(("text", "kind"), KINDS, ids=[k for _, k in KINDS])
def test_node_kind(text: str, kind: str) -> None:
    root = load_yaml(PATH, text)
    assert isinstance(root.value, dict)

    assert root.value["a"].kind == kind


def test_locations_of_values_and_keys() -> None:
    root = load_yaml(PATH, "top:\n  name: value\n  list:\n    - one\n    - {k: v}\n")

    assert root.location == Location(PATH, 1, 1)
    assert root.key_location is None
    top = root.value["top"]  # type: ignore[index]
    assert top.key_location == Location(PATH, 1, 1)
    assert top.location == Location(PATH, 2, 3)
    name = top.value["name"]
    assert name.key_location == Location(PATH, 2, 3)
    assert name.location == Location(PATH, 2, 9)
    items = top.value["list"].value
    assert items[0].location == Location(PATH, 4, 7)
    assert items[0].key_location is None
    assert items[1].location == Location(PATH, 5, 7)
    assert items[1].value["k"].location == Location(PATH, 5, 11)


def test_locations_count_characters_not_bytes() -> None:
    root = load_yaml(PATH, "é: ü\n")
    assert isinstance(root.value, dict)

    assert root.value["é"].location == Location(PATH, 1, 4)


def test_to_python() -> None:
    root = load_yaml(PATH, "a: [1, {b: on}]\nc: ~\n")

    assert root.to_python() == {"a": [1, {"b": True}], "c": None}


def test_key_order_kept() -> None:
    root = load_yaml(PATH, "z: 1\na: 2\nm: 3\n")
    assert isinstance(root.value, dict)

    assert list(root.value) == ["z", "a", "m"]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "\n\n"])
def test_empty_document_is_null(text: str) -> None:
    root = load_yaml(PATH, text)

    assert root.kind == "null"


def test_empty_file_location() -> None:
    root = load_yaml(PATH, "")

    assert root.location == Location(PATH, 1, 1)


def test_single_document_markers_allowed() -> None:
    root = load_yaml(PATH, "---\na: 1\n...\n")

    assert root.to_python() == {"a": 1}


def test_alias_shares_value() -> None:
    root = load_yaml(PATH, "a: &x [1, 2]\nb: *x\n")

    assert root.to_python() == {"a": [1, 2], "b": [1, 2]}


def test_alias_key_location_per_use() -> None:
    root = load_yaml(PATH, "a: &x [1]\nb: *x\n")
    assert isinstance(root.value, dict)

    assert root.value["b"].key_location == Location(PATH, 2, 1)
    assert root.value["b"].location == Location(PATH, 1, 4)


def test_merge_key_explicit_wins() -> None:
    text = "base: &b {x: 1, z: 2}\nc:\n  z: 3\n  <<: *b\n  w: 4\n"

    root = load_yaml(PATH, text)

    assert root.to_python()["c"] == {"x": 1, "z": 3, "w": 4}


def test_merge_key_list_first_wins() -> None:
    text = "a: &a {x: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n"

    root = load_yaml(PATH, text)

    assert root.to_python()["c"] == {"x": 1, "z": 2}


def test_merge_key_location_from_anchor() -> None:
    root = load_yaml(PATH, "a: &a {x: 1}\nc:\n  <<: *a\n")
    merged = root.value["c"].value["x"]  # type: ignore[index]

    assert merged.key_location == Location(PATH, 1, 8)


def test_quoted_merge_key_is_a_string() -> None:
    root = load_yaml(PATH, "'<<': 1\n")

    assert root.to_python() == {"<<": 1}


def test_text_argument_skips_reading(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    root = load_yaml(path, "a: 1\n")

    assert root.location.path == path


def test_reads_file(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("a: 1\n")

    root = load_yaml(path)

    assert root.to_python() == {"a": 1}


def test_byte_order_mark_skipped(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")

    root = load_yaml(path)

    assert root.to_python() == {"a": 1}


# (case id, text, expected first line of str(error) after "config.yaml:")
BAD_YAML = [
    (
        "duplicate-key",
        "a: 1\nb: 2\na: 3\n",
        '3:1: duplicate key "a": it is already set on line 1; remove one of them',
    ),
    (
        "duplicate-key-nested",
        "top:\n  k: 1\n  k: 2\n",
        '3:3: duplicate key "k": it is already set on line 2; remove one of them',
    ),
    (
        "duplicate-key-flow",
        "{a: 1, a: 2}\n",
        '1:8: duplicate key "a": it is already set on line 1; remove one of them',
    ),
    (
        "two-documents",
        "a: 1\n---\nb: 2\n",
        "2:1: the file contains more than one YAML document; remove this one or "
        "move it to a file of its own",
    ),
    (
        "key-int",
        "1: a\n",
        "1:1: mapping key 1 is read as the number 1, not a string; quote it to "
        'use it as a string: "1"',
    ),
    (
        "key-bool",
        "on: push\n",
        "1:1: mapping key on is read as the boolean true, not a string; quote it "
        'to use it as a string: "on"',
    ),
    (
        "key-null",
        "~: a\n",
        "1:1: mapping key ~ is read as null, not a string; quote it to use it as "
        'a string: "~"',
    ),
    (
        "key-empty",
        "? \n: a\n",
        "1:2: a mapping key is missing; write a key before the colon",
    ),
    (
        "key-list",
        "? [a]\n: 1\n",
        "1:3: a list cannot be a mapping key; use a string key",
    ),
    (
        "syntax-mapping-value",
        "a: b: c\n",
        "1:5: invalid YAML: a mapping value is not allowed here; fix the "
        'indentation, or quote the value if it contains ": "',
    ),
    (
        "syntax-tab",
        "a:\n\tb: 1\n",
        "2:1: invalid YAML: a tab character is not allowed here; indent with spaces",
    ),
    (
        "syntax-indentation",
        "a:\n  b: 1\n c: 2\n",
        "3:2: invalid YAML: the indentation of this line does not match the lines "
        "above it; align it with its siblings (while parsing a block mapping on "
        "line 1)",
    ),
    (
        "syntax-unclosed-quote",
        "a: 'abc\n",
        "2:1: invalid YAML: the file ends inside a value; close the open quote or "
        "bracket (while scanning a quoted scalar on line 1)",
    ),
    (
        "syntax-unclosed-flow",
        "a: [1, 2\n",
        "2:1: invalid YAML: expected ',' or ']', but got '<stream end>' (while "
        "parsing a flow sequence on line 1)",
    ),
    (
        "syntax-missing-colon",
        "a:\n  - b\n  c\n",
        '4:1: invalid YAML: a mapping key is not followed by ":"; add the colon '
        "or close the quoted string (while scanning a simple key on line 3)",
    ),
    (
        "undefined-alias",
        "a: *nowhere\n",
        "1:4: invalid YAML: the alias names no anchor defined above it; define "
        "&name before *name",
    ),
    (
        "duplicate-anchor",
        "a: &x 1\nb: &x 2\n",
        "2:4: invalid YAML: anchor &x is already defined on line 1; rename one of them",
    ),
    (
        "recursive-alias",
        "a: &x [1, *x]\n",
        "1:4: invalid YAML: an alias refers to a value that contains it; YAML data "
        "read by flense must not be recursive",
    ),
    (
        "merge-scalar",
        "a:\n  <<: 1\n",
        "2:7: invalid merge: the value of << must be a mapping or a list of "
        "mappings, not the number 1",
    ),
    (
        "merge-list-of-scalars",
        "a:\n  <<: [1]\n",
        "2:7: invalid merge: the value of << must be a mapping or a list of "
        "mappings, not a list",
    ),
    (
        "control-character",
        "a: b\x07\n",
        "1:5: invalid YAML: the character U+0007 is not allowed in YAML; remove it",
    ),
    (
        "custom-tag",
        "a: !secret x\n",
        "1:4: invalid YAML: the tag !secret is not supported; remove it",
    ),
    (
        "set-tag",
        "a: !!set {x}\n",
        "1:4: invalid YAML: the tag !!set is not supported; remove it",
    ),
    (
        "binary-tag",
        "a: !!binary aGk=\n",
        "1:4: invalid YAML: the tag !!binary is not supported; remove it",
    ),
    (
        "int-tag-mismatch",
        "a: !!int abc\n",
        '1:4: invalid YAML: "abc" is not a valid !!int value; fix the value or '
        "remove the tag",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [(text, expected) for _, text, expected in BAD_YAML],
    ids=[case for case, _, _ in BAD_YAML],
)
def test_load_yaml_bad(text: str, expected: str) -> None:
    with pytest.raises(UserInputError) as caught:
        load_yaml(PATH, text)

    assert str(caught.value).splitlines()[0] == f"{PATH}:{expected}"


def test_error_quotes_line_with_caret(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("top:\n  k: 1\n  k: 2\n")

    with pytest.raises(UserInputError) as caught:
        load_yaml(path)

    lines = str(caught.value).splitlines()
    assert lines[1:] == ["      k: 2", "      ^"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    with pytest.raises(UserInputError) as caught:
        load_yaml(path)

    assert str(caught.value) == (
        f"{path}:1:1: cannot read the file: No such file or directory; check the "
        "path and its permissions"
    )


def test_directory_not_readable_as_file(tmp_path: Path) -> None:
    with pytest.raises(UserInputError) as caught:
        load_yaml(tmp_path)

    assert caught.value.location == Location(tmp_path, 1, 1)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("a: 1\nname: caf\xe9\n".encode("latin-1"))

    with pytest.raises(UserInputError) as caught:
        load_yaml(path)

    assert str(caught.value).splitlines()[0] == (
        f"{path}:2:10: the file is not valid UTF-8 (byte 0xe9); save it as UTF-8"
    )


def test_not_utf8_column_after_multibyte(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_bytes("é: ".encode() + b"\xff\n")

    with pytest.raises(UserInputError) as caught:
        load_yaml(path)

    assert caught.value.location == Location(path, 1, 4)


DESCRIPTIONS = [
    (None, "null"),
    (True, "the boolean true"),
    (False, "the boolean false"),
    (3, "the number 3"),
    (1.1, "the number 1.1"),
    ('say "hi"', 'the string "say \\"hi\\""'),
    ({}, "a mapping"),
    ([], "a list"),
]


@pytest.mark.parametrize(
    ("value", "expected"), DESCRIPTIONS, ids=[e for _, e in DESCRIPTIONS]
)
def test_describe(value: object, expected: str) -> None:
    node = Node(value, Location(PATH, 1, 1))  # type: ignore[arg-type]

    assert describe(node) == expected


# --- bytes and errors that quote text held in memory --------------------------


def test_load_yaml_from_bytes():
    root = load_yaml(PATH, "\ufeffkey: é\n".encode())

    assert root.to_python() == {"key": "é"}


def test_load_yaml_bytes_not_utf8():
    with pytest.raises(UserInputError) as caught:
        load_yaml(PATH, b"key: \xff\n")

    assert caught.value.message == (
        "the file is not valid UTF-8 (byte 0xff); save it as UTF-8"
    )
    assert caught.value.location == Location(PATH, 1, 6)


@pytest.mark.parametrize(
    ("case", "source", "location", "expected"),
    [
        ("plain", b"a: 1\nbad: 2\n", (2, 1), ["bad: 2", "^"]),
        ("crlf", b"a: 1\r\nbad: 2\r\n", (2, 3), ["bad: 2", "  ^"]),
        ("not-utf8", b"x: \xee1\n", (1, 4), ["x: \ufffd1", "   ^"]),
        ("byte-order-mark", b"\xef\xbb\xbfkey: 1\n", (1, 1), ["key: 1", "^"]),
        ("past-end", b"a: 1\n", (9, 1), []),
        ("empty-line", b"a: 1\n\n", (2, 1), []),
    ],
)
def test_source_text_error_quotes_line(case, source, location, expected):
    error = SourceTextError("bad value", Location(PATH, *location), source)

    lines = str(error).splitlines()

    assert lines[0] == f"{PATH}:{location[0]}:{location[1]}: bad value"
    assert [line.removeprefix("    ") for line in lines[1:]] == expected


def test_with_source_text_other_file():
    error = UserInputError("bad", Location(Path("other.yaml"), 1, 1))

    assert with_source_text(error, PATH, b"a: 1\n") is error


def test_with_source_text_same_file():
    error = UserInputError("bad", Location(PATH, 1, 4))

    converted = with_source_text(error, PATH, b"a: 1\n")

    assert str(converted) == f"{PATH}:1:4: bad\n    a: 1\n       ^"
