"""Slash-separated path helpers with the semantics of Go's ``path`` package.

The Go LLB client cleans and joins paths with ``path.Clean`` and
``path.Join``, so using the same rules gives the same paths in the ops for
the same input. ``posixpath.normpath`` alone differs from ``path.Clean``
because it keeps a leading ``//``.
"""

from __future__ import annotations

import posixpath


def clean(path: str) -> str:
    """Return the shortest equivalent of ``path``, as Go's ``path.Clean``."""
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def join(*elements: str) -> str:
    """Join the non-empty elements with ``/`` and clean the result.

    Like Go's ``path.Join``, it returns ``""`` when every element is empty.
    """
    present = [element for element in elements if element]
    if not present:
        return ""
    return clean("/".join(present))


def normalize(parent: str, path: str, *, keep_trailing_slash: bool = False) -> str:
    """Make ``path`` absolute against the directory ``parent``.

    With ``keep_trailing_slash``, a trailing ``/`` or ``/.`` of the input
    survives cleaning, because a copy destination ending in ``/`` means
    "into this directory".
    """
    result = clean(path)
    if not result.startswith("/"):
        result = join("/", parent, result)
    if keep_trailing_slash:
        if path.endswith("/") and not result.endswith("/"):
            result += "/"
        elif path.endswith("/."):
            if result != "/":
                result += "/"
            result += "."
    return result
