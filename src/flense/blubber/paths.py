"""Slash-separated path functions with the results of Go's ``path`` package.

``posixpath`` differs from Go where Blubber's output depends on it:
``posixpath.normpath`` keeps a leading ``//`` and ``posixpath.dirname``
does not clean its result, while Go's ``path.Clean`` collapses ``//`` to
``/`` and ``path.Dir`` returns a cleaned path.
"""

from __future__ import annotations

__all__ = ["base", "clean", "directory", "is_abs", "join", "resolve_destination"]


def clean(path: str) -> str:
    """Return the shortest equivalent path, as Go's ``path.Clean``."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    text = "/".join(parts)
    if rooted:
        return "/" + text
    return text or "."


def join(*elements: str) -> str:
    """Join non-empty elements with ``/`` and clean, as Go's ``path.Join``."""
    present = [element for element in elements if element]
    if not present:
        return ""
    return clean("/".join(present))


def directory(path: str) -> str:
    """Return all but the last element, cleaned, as Go's ``path.Dir``."""
    return clean(path[: path.rfind("/") + 1])


def base(path: str) -> str:
    """Return the last element, as Go's ``path.Base``."""
    if path == "":
        return "."
    path = path.rstrip("/")
    if path == "":
        return "/"
    return path[path.rfind("/") + 1 :]


def is_abs(path: str) -> bool:
    """Report whether the path starts with ``/``, as Go's ``path.IsAbs``."""
    return path.startswith("/")


def resolve_destination(working_directory: str, destination: str) -> str:
    """Make a copy destination absolute as BuildKit's LLB client does.

    A relative destination is joined to the working directory. A trailing
    ``/`` (directory destination) and a trailing ``/.`` survive the cleaning.
    """
    resolved = clean(destination)
    if not is_abs(resolved):
        resolved = join("/", working_directory, resolved)
    if destination.endswith("/") and not resolved.endswith("/"):
        resolved += "/"
    elif destination.endswith("/."):
        if resolved != "/":
            resolved += "/"
        resolved += "."
    return resolved
