"""Typed reading of YAML nodes, with errors that name the field path.

Every error raised here is a UserInputError. Its message starts with the
dotted field path (``variants.build.runs.uid``), then gives the offending
value, the rule and the fix. Its location is the line and column of the
value, or of the key when the key itself is invalid.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterable
from pathlib import Path

from flense.blubber.quoting import go_quote
from flense.errors import Location, UserInputError
from flense.yamlfile import Node, describe

__all__ = ["Decoder", "closest", "edit_distance"]

_UINT64_MAX = 2**64 - 1

# A plain scalar that YAML reads as a number: it ends at white space, a
# comment or a flow indicator.
_PLAIN_SCALAR = re.compile(r"[^\s,\]}#]+")


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate spelled most like ``word``, if any is close."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def edit_distance(first: str, second: str) -> int:
    """Count the edits that turn ``first`` into ``second``.

    An edit inserts, deletes or replaces one character, or swaps two
    adjacent ones (the optimal string alignment distance), so ``biuld`` is
    one edit from ``build``.
    """
    previous: list[int] = []
    row = list(range(len(second) + 1))
    for i, first_character in enumerate(first, start=1):
        before, previous, row = previous, row, [i] + [0] * len(second)
        for j, second_character in enumerate(second, start=1):
            cost = 0 if first_character == second_character else 1
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost)
            if (
                i > 1
                and j > 1
                and first_character == second[j - 2]
                and first[i - 2] == second_character
            ):
                row[j] = min(row[j], before[j - 2] + 1)
    return row[-1]


class Decoder:
    """Reads typed values out of a Node tree and records where each was."""

    def __init__(self, path: Path, text: str | None = None) -> None:
        self.path = path
        # The file's text, when the caller has it, so that errors can quote a
        # number as written rather than as the float YAML parsed it into.
        self.text = text
        self.locations: dict[str, Location] = {}

    def fail(self, node: Node, field_path: str, rule: str) -> UserInputError:
        """Build the error for a value that breaks ``rule``."""
        return UserInputError(f"{field_path}: {rule}", node.location)

    def fail_value(self, node: Node, field_path: str, rule: str) -> UserInputError:
        """Build the error for a string value; the message quotes the value."""
        value = node.value if isinstance(node.value, str) else str(node.value)
        return UserInputError(f"{field_path}: {go_quote(value)} {rule}", node.location)

    def record(self, node: Node, field_path: str) -> None:
        self.locations[field_path] = node.location
        if node.key_location is not None:
            self.locations[field_path + "#key"] = node.key_location

    def mapping(
        self, node: Node, field_path: str, allowed: Collection[str] | None
    ) -> dict[str, Node]:
        """Return a mapping's entries; reject keys not in ``allowed``.

        ``allowed`` None accepts any key (free-form maps such as
        ``runs.environment``).
        """
        self.record(node, field_path)
        if not isinstance(node.value, dict):
            hint = " (write {} for an empty one)" if node.kind == "null" else ""
            raise self.fail(
                node, field_path, f"expected a mapping, not {describe(node)}{hint}"
            )
        entries = node.value
        if allowed is not None:
            for key, child in entries.items():
                if key not in allowed:
                    raise self._unknown_key(child, field_path, key, allowed)
        for key, child in entries.items():
            self.record(child, _child_path(field_path, key))
        return entries

    def _unknown_key(
        self, child: Node, field_path: str, key: str, allowed: Collection[str]
    ) -> UserInputError:
        near = closest(key, allowed) or closest(key.lower(), allowed)
        if key in ("includes", "copies") and "variants" in allowed:
            return UserInputError(
                f"{key}: unknown key {go_quote(key)} in the top level; includes and "
                "copies are allowed only inside a variant, so move it under "
                "variants.<name>",
                child.key_location or child.location,
            )
        hint = (
            f'did you mean "{near}"?'
            if near is not None
            else "valid keys are " + ", ".join(sorted(allowed))
        )
        where = field_path or "the top level"
        return UserInputError(
            f"{_child_path(field_path, key)}: unknown key {go_quote(key)} in {where}; "
            + hint,
            child.key_location or child.location,
        )

    def sequence(self, node: Node, field_path: str) -> list[Node]:
        self.record(node, field_path)
        if not isinstance(node.value, list):
            raise self.fail(node, field_path, f"expected a list, not {describe(node)}")
        for index, item in enumerate(node.value):
            self.record(item, f"{field_path}[{index}]")
        return node.value

    def string(self, node: Node, field_path: str) -> str:
        self.record(node, field_path)
        if isinstance(node.value, str):
            return node.value
        hint = ""
        if node.kind in ("int", "float", "bool"):
            hint = "; quote the value to use it as text"
        raise self.fail(
            node, field_path, f"expected a string, not {describe(node)}{hint}"
        )

    def optional_string(self, node: Node, field_path: str) -> str:
        """Read a string that may be null (``base`` and artifact ``from``)."""
        if node.kind == "null":
            self.record(node, field_path)
            return ""
        return self.string(node, field_path)

    def boolean(self, node: Node, field_path: str) -> bool:
        self.record(node, field_path)
        if isinstance(node.value, bool):
            return node.value
        raise self.fail(
            node, field_path, f"expected true or false, not {describe(node)}"
        )

    def unsigned(self, node: Node, field_path: str) -> int:
        """Read an unsigned 64-bit integer (Go ``uint``).

        A float with no fraction is accepted, because Blubber's YAML-to-JSON
        step writes ``1.0`` as ``1``.
        """
        self.record(node, field_path)
        value = node.value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(
                node, field_path, f"expected a whole number, not {describe(node)}"
            )
        if not 0 <= value <= _UINT64_MAX:
            raise self.fail(
                node,
                field_path,
                f"{self.written(node)} is out of range: write a number from 0 to "
                f"{_UINT64_MAX}",
            )
        return value

    def written(self, node: Node) -> str:
        """Return a plain scalar's text as the file writes it.

        A whole number above the uint64 range is parsed as a float, so
        ``str(node.value)`` would show a rounded value. This reads the text
        at the node's location instead, and falls back to ``repr`` of the
        value when the file cannot be read.
        """
        text = self.text
        if text is None:
            try:
                text = self.path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError):
                text = ""
        lines = text.split("\n")
        line, column = node.location.line, node.location.column
        if not 1 <= line <= len(lines):
            return repr(node.value)
        match = _PLAIN_SCALAR.match(lines[line - 1], column - 1)
        if match is None:
            return repr(node.value)
        return match.group()

    def strings(self, node: Node, field_path: str) -> tuple[str, ...]:
        items = self.sequence(node, field_path)
        return tuple(
            self.string(item, f"{field_path}[{index}]")
            for index, item in enumerate(items)
        )

    def string_map(self, node: Node, field_path: str) -> dict[str, str]:
        entries = self.mapping(node, field_path, None)
        return {
            key: self.string(child, _child_path(field_path, key))
            for key, child in entries.items()
        }


def _child_path(field_path: str, key: str) -> str:
    return f"{field_path}.{key}" if field_path else key
