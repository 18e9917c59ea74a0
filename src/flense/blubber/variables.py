"""``$`` expansion of environment variables, as Go's ``os.Expand`` does it.

Blubber expands run text, env values, users, working directories, copy
owners and mount paths against the stage's build-time environment before it
sends them to BuildKit. A script builder's text is not expanded. Go's rules
are not the shell's: ``${X:-d}`` names a variable called ``X:-d``, so it
becomes empty; ``$1``, ``$$``, ``$?`` and the other one-character special
names are looked up like any variable; ``${}`` is removed; a ``$`` followed
by no name, as in ``$(`` or a trailing ``$``, is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["expand_variables", "rewrite_references"]

_SPECIAL = frozenset("*#$@!?-0123456789")


def expand_variables(
    text: str, lookup: Mapping[str, str] | Callable[[str], str]
) -> str:
    """Replace ``$NAME`` and ``${NAME}`` in ``text``; unknown names become empty."""
    if callable(lookup):
        resolve = lookup
    else:
        mapping = lookup

        def resolve(name: str) -> str:
            return mapping.get(name, "")

    return rewrite_references(text, lambda name, _written: resolve(name))


def rewrite_references(
    text: str, replace: Callable[[str, str], str], dollar: str = "$"
) -> str:
    """Replace each ``$`` reference in ``text`` with ``replace(name, written)``.

    ``written`` is the reference as the text has it (``$NAME`` or
    ``${NAME}``). References are found with Go's ``os.Expand`` rules, and
    invalid ones (``${}``, an unclosed ``${``) are dropped as Go drops them.
    Each ``$`` that starts no reference, as in ``$(`` or at the end, is
    replaced with ``dollar``.
    """
    out: list[str] = []
    start = 0
    index = 0
    while index < len(text):
        if text[index] != "$":
            index += 1
            continue
        out.append(text[start:index])
        if index + 1 == len(text):
            out.append(dollar)
            index += 1
            start = index
            continue
        name, width = _shell_name(text[index + 1 :])
        if name == "" and width > 0:
            pass  # invalid syntax such as "${}" or an unclosed "${": dropped
        elif name == "":
            out.append(dollar)
        else:
            out.append(replace(name, text[index : index + 1 + width]))
        index += width + 1
        start = index
    out.append(text[start:])
    return "".join(out)


def _shell_name(text: str) -> tuple[str, int]:
    """Return the variable name at the start of ``text`` and its width."""
    if text[0] == "{":
        if len(text) > 2 and text[1] in _SPECIAL and text[2] == "}":
            return text[1], 3
        closing = text.find("}", 1)
        if closing == 1:
            return "", 2
        if closing == -1:
            return "", 1
        return text[1:closing], closing + 1
    if text[0] in _SPECIAL:
        return text[0], 1
    width = 0
    while width < len(text) and (
        text[width] == "_" or text[width].isascii() and text[width].isalnum()
    ):
        width += 1
    return text[:width], width
