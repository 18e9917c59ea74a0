"""Paths in a build context, resolved without leaving it.

BuildKit sends the context with symlinks as links. A copy source is then
resolved inside the received context: an absolute link target is taken
from the context root, and ``..`` stops at the root. A link that was meant
to leave the context (``etclink -> /etc``, ``up -> ../..``) therefore fails
or copies other files. ``resolve_in_context`` finds such links on the
client, and never follows a symlink out of the context while it looks.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from pathlib import Path

from flense.blubber.quoting import go_quote

__all__ = ["MAX_SYMLINKS", "ContextPathError", "has_wildcard", "resolve_in_context"]

MAX_SYMLINKS = 40
"""Links followed in one path before it counts as a loop (Linux's limit)."""


class ContextPathError(Exception):
    """A path that cannot be resolved inside the build context.

    ``reason`` describes which link leads where, in words that fit after the
    path in an error message.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def resolve_in_context(context: Path, path: str) -> Path | None:
    """Resolve the slash-separated relative ``path`` inside ``context``.

    Symlinks on the way, the last element included, are followed as long
    as they stay inside ``context``. Returns the resolved path (under
    ``context``), or None when it does not exist. Raises ContextPathError
    for an absolute link target, a target that climbs above ``context``
    and a link loop. Only paths under ``context`` are ever examined.
    """
    pending = deque(part for part in path.split("/") if part not in ("", "."))
    resolved: list[str] = []
    followed = 0
    last_link = ""
    while pending:
        part = pending.popleft()
        if part == "..":
            if not resolved:
                raise ContextPathError(
                    f"{last_link}leads above the build context {context}"
                )
            resolved.pop()
            continue
        candidate = context.joinpath(*resolved, part)
        try:
            mode = os.lstat(candidate).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISLNK(mode):
            resolved.append(part)
            continue

        followed += 1
        if followed > MAX_SYMLINKS:
            raise ContextPathError(
                f"passes through more than {MAX_SYMLINKS} symlinks in the build "
                f"context {context}, so the links form a loop"
            )
        target = os.readlink(candidate)
        link = "/".join([*resolved, part])
        last_link = (
            f"goes through the symlink {go_quote(link)} to {go_quote(target)}, which "
        )
        if target.startswith("/"):
            raise ContextPathError(
                f"{last_link}is an absolute path, outside the build context {context}"
            )
        pending.extendleft(reversed(target.split("/")))
    return context.joinpath(*resolved)


def has_wildcard(path: str) -> bool:
    """Report whether BuildKit treats a copy source as a wildcard pattern.

    This is ``containsWildcards`` of BuildKit's file copy on Linux: an
    unescaped ``*``, ``?`` or ``[``, where ``\\`` escapes the next character.
    """
    index = 0
    while index < len(path):
        character = path[index]
        if character == "\\":
            index += 2
            continue
        if character in "*?[":
            return True
        index += 1
    return False
