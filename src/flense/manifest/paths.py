"""Checks and normalization for the paths a manifest names.

Paths are POSIX and normalized lexically, as Go's path.Clean does: "a/./b/"
becomes "a/b" and "a/../b" becomes "b", whatever "a" is on disk. Paths on
disk are then resolved with symlinks to make sure they stay where they must.
"""

from __future__ import annotations

import difflib
import os
import posixpath
import stat
import unicodedata
from pathlib import Path

from flense.errors import Location, UserInputError
from flense.manifest.gitremote import looks_like_git_remote
from flense.manifest.nodes import quote


def normalize_root(text: str, location: Location) -> str:
    """Check and normalize destination.root, an absolute path in the image."""
    reject_control_characters(text, "destination.root", location)
    if not text.startswith("/"):
        raise UserInputError(
            f"destination.root {quote(text)} is not an absolute path; "
            f"write it from the image's root: {quote('/' + text)}",
            location,
        )
    # posixpath keeps a leading "//", which Go's path.Clean collapses.
    return "/" + posixpath.normpath(text).lstrip("/")


def normalize_destination(text: str, root: str, location: Location) -> str:
    """Check and normalize a component destination, relative to the root."""
    reject_control_characters(text, "destination", location)
    if text.startswith("/"):
        raise UserInputError(
            f"destination {quote(text)} is an absolute path; write it relative "
            f"to destination.root ({root}), or use {quote('.')} for the root itself",
            location,
        )
    normalized = posixpath.normpath(text)
    if _escapes(normalized):
        raise UserInputError(
            f"destination {quote(text)} is outside destination.root ({root}); "
            f"remove the {quote('..')} parts",
            location,
        )
    return normalized


def check_source(text: str, context: Path, location: Location) -> str:
    """Check a component source directory; return its real path in the context.

    The directory must exist inside ``context`` (absolute and resolved) after
    every symlink on the way is resolved, because BuildKit sends only files
    inside the context. The returned path has those symlinks resolved too,
    because BuildKit's file sync sends a symlink as a link, not as the
    directory it points to.
    """
    reject_control_characters(text, "source", location)
    if text.startswith("/"):
        raise UserInputError(
            f"source {quote(text)} is an absolute path; write it relative to the "
            f"build context {context}",
            location,
        )
    normalized = posixpath.normpath(text)
    if _escapes(normalized):
        raise UserInputError(
            f"source {quote(text)} is outside the build context {context}; move "
            "the directory into the context, or pass --context with a directory "
            "that contains it",
            location,
        )

    target = context / normalized
    real = Path(os.path.realpath(target))
    if not _is_within(real, context):
        raise UserInputError(
            f"source {quote(text)} resolves through a symlink to {real}, outside "
            f"the build context {context}; BuildKit sends only files inside the "
            "context, so copy the directory into it or pass --context with a "
            "directory that contains both",
            location,
        )

    kind = _file_kind(target, f"source {quote(text)}", location)
    if kind == "missing":
        hint = _near_directory(context, normalized)
        fix = "check the path and the --context directory"
        if hint:
            fix = f"did you mean {quote(hint)}?"
        elif looks_like_git_remote(text):
            fix = (
                "to fetch a git remote, write it as git: URL, with a "
                "destination:, in a mapping"
            )
        raise UserInputError(
            f"source directory {quote(text)} not found in the build context "
            f"{context}; {fix}",
            location,
        )
    if kind != "directory":
        raise UserInputError(
            f"source {quote(text)} is a {kind}, not a directory; a component's "
            "source must be a directory",
            location,
        )
    return real.relative_to(context).as_posix() if real != context else "."


def check_source_file(
    text: str, key: str, source: str, context: Path, location: Location
) -> str:
    """Check a path to a file inside a component's source; return it normalized."""
    reject_control_characters(text, key, location)
    if text.startswith("/"):
        raise UserInputError(
            f"{key} {quote(text)} is an absolute path; write it relative to the "
            f"component's source {quote(source)}",
            location,
        )
    normalized = posixpath.normpath(text)
    if normalized == "." or _escapes(normalized):
        raise UserInputError(
            f"{key} {quote(text)} is outside the component's source "
            f"{quote(source)}; name a file inside that directory",
            location,
        )

    source_dir = context / source
    target = source_dir / normalized
    real = Path(os.path.realpath(target))
    if not _is_within(real, Path(os.path.realpath(source_dir))):
        raise UserInputError(
            f"{key} {quote(text)} resolves through a symlink to {real}, outside "
            f"the component's source {quote(source)}; name a file inside it",
            location,
        )

    kind = _file_kind(target, f"{key} {quote(text)}", location)
    if kind == "missing":
        raise UserInputError(
            f"{key} {quote(text)} not found in the component's source "
            f"{quote(source)}; add the file or correct {key}",
            location,
        )
    if kind != "file":
        raise UserInputError(
            f"{key} {quote(text)} is a {kind}, not a file; name the file itself",
            location,
        )
    return normalized


def reject_control_characters(text: str, subject: str, location: Location) -> None:
    """Reject a path with a control character (Unicode category Cc).

    BuildKit sends source paths and exclude patterns to the client in gRPC
    metadata headers, which carry only printable ASCII. BuildKit 0.12 and
    later percent-encode a value with a non-ASCII character, but send a
    value that is all ASCII as it is, so a control character there makes the
    transfer fail late in the build. C1 controls are rejected as well,
    because they can only be a mistake in a path.
    """
    # NOTE: BuildKit before 0.12 also fails on non-ASCII characters in these
    # headers; they are accepted here.
    for offset, character in enumerate(text):
        if unicodedata.category(character) != "Cc":
            continue
        raise UserInputError(
            f"{subject} {quote(text)} contains the control character "
            f"U+{ord(character):04X} at position {offset + 1}; remove it",
            location,
        )


def find_non_directory(directory: Path, relative: str) -> tuple[str, str] | None:
    """Find the first part of ``relative`` below ``directory`` that is not a
    directory: a symlink, a file or a special file.

    Returns that part's path (relative to ``directory``) and its kind, or
    None when every part that exists is a directory. Symlinks are never
    followed.
    """
    parts = relative.split("/")
    for count in range(1, len(parts) + 1):
        part = "/".join(parts[:count])
        try:
            mode = os.lstat(directory / part).st_mode
        except OSError:
            # Missing (or unreadable): the parent ships nothing at this path.
            return None
        if stat.S_ISLNK(mode):
            return part, "symlink"
        if stat.S_ISREG(mode):
            return part, "file"
        if not stat.S_ISDIR(mode):
            return part, "special file"
    return None


def _escapes(normalized: str) -> bool:
    return normalized == ".." or normalized.startswith("../")


def _is_within(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _file_kind(path: Path, subject: str, location: Location) -> str:
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError as error:
        reason = error.strerror or str(error)
        raise UserInputError(
            f"cannot read {subject}: {reason}; check its permissions", location
        ) from error
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISREG(mode):
        return "file"
    return "special file"


def _near_directory(context: Path, normalized: str) -> str | None:
    """Return the sibling directory whose name is nearest to a missing one."""
    parent, name = posixpath.split(normalized)
    try:
        entries = [
            entry.name
            for entry in os.scandir(context / parent)
            if entry.is_dir() and entry.name != name
        ]
    except OSError:
        return None
    near = difflib.get_close_matches(name, entries, n=1)
    if not near:
        return None
    return posixpath.join(parent, near[0])
