"""Typed access to manifest nodes, raising UserInputError at the value."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable

from flense.errors import Location, UserInputError
from flense.yamlfile import Node, describe

_C1_AND_DELETE = re.compile("[\x7f-\x9f]")


def quote(text: str) -> str:
    """Quote a value for a message, escaping what JSON escapes.

    DEL and the C1 controls, which JSON leaves as they are, are escaped
    too, so that a message never contains a control character.
    """
    quoted = json.dumps(text, ensure_ascii=False)
    return _C1_AND_DELETE.sub(lambda match: f"\\u{ord(match[0]):04x}", quoted)


def key_or_value_location(node: Node) -> Location:
    """Return where a mapping value's key is written, or the value's location."""
    return node.key_location or node.location


def as_mapping(node: Node, subject: str) -> dict[str, Node]:
    if not isinstance(node.value, dict):
        raise UserInputError(
            f"{subject} must be a mapping, not {describe(node)}", node.location
        )
    return node.value


def as_list(node: Node, subject: str) -> list[Node]:
    if not isinstance(node.value, list):
        raise UserInputError(
            f"{subject} must be a list, not {describe(node)}", node.location
        )
    return node.value


def as_string(node: Node, subject: str) -> str:
    """Return a non-empty string value, or raise naming the value and the fix."""
    if isinstance(node.value, str):
        if not node.value:
            raise UserInputError(
                f"{subject} is empty; set it or remove the key", node.location
            )
        return node.value
    message = f"{subject} must be a string, not {describe(node)}"
    if node.kind == "bool":
        message += (
            "; YAML 1.1 reads yes, no, on, off, y and n as booleans, "
            "so put the value in quotes"
        )
    elif node.kind in ("int", "float"):
        message += "; put the value in quotes"
    raise UserInputError(message, node.location)


def check_keys(mapping: dict[str, Node], allowed: Iterable[str]) -> None:
    """Reject a key that is not in ``allowed``, suggesting the nearest one."""
    allowed = list(allowed)
    for key, value in mapping.items():
        if key in allowed:
            continue
        raise UserInputError(
            f"unknown key {quote(key)}; {suggest(key, allowed)}",
            key_or_value_location(value),
        )


def suggest(word: str, choices: Iterable[str]) -> str:
    """Return "did you mean ...?" for a near spelling, else list the choices."""
    choices = list(choices)
    near = difflib.get_close_matches(word, choices, n=1)
    if not near:
        lowered = {choice.lower(): choice for choice in choices}
        near = difflib.get_close_matches(word.lower(), list(lowered), n=1)
        near = [lowered[match] for match in near]
    if near:
        return f"did you mean {quote(near[0])}?"
    return f"use one of {', '.join(sorted(choices))}"
