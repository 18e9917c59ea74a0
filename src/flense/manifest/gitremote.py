"""Checks on a component's git remote, before the engine fetches it.

BuildKit reports a bad remote only once the build runs, without the
manifest line, and it turns some mistakes (a local path) into other URLs.
So the manifest rejects what the engine could not fetch as written.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from flense.errors import Location, UserInputError
from flense.llb.giturl import parse_git_url
from flense.manifest.nodes import quote

FETCHED_SCHEMES = ("https", "http", "git")
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")
_SCP_STYLE = re.compile(r"[^/@:\s]+@[^/:\s]+:")
_FORM = "write it as https://HOST/PATH, with an optional #REF or #REF:SUBDIR"


def looks_like_git_remote(text: str) -> bool:
    """Tell whether a source path is more likely meant as a git remote."""
    return bool(_SCHEME.match(text) or _SCP_STYLE.match(text))


def check_git_remote(text: str, location: Location) -> None:
    """Raise UserInputError, at ``location``, for a remote flense cannot fetch."""
    if text != text.strip() or any(character.isspace() for character in text):
        raise UserInputError(
            f"git remote {quote(text)} contains white space; remove it, or "
            "percent-encode a space in the path as %20",
            location,
        )
    if text.startswith(("/", "./", "../", "~")) or text in (".", ".."):
        raise UserInputError(
            f"git remote {quote(text)} is a local path; a git component needs "
            "a URL that the engine can fetch, so use source: for a directory "
            "in the build context, or serve the repository over git:// or "
            "https://",
            location,
        )
    scheme_match = _SCHEME.match(text)
    scheme = scheme_match.group()[:-3].lower() if scheme_match else "https"
    if scheme == "ssh" or (scheme_match is None and _SCP_STYLE.match(text)):
        raise UserInputError(
            f"git remote {quote(text)} is an SSH remote, which needs an SSH "
            "agent that flense does not forward; use its https:// URL",
            location,
        )
    if scheme not in FETCHED_SCHEMES:
        raise UserInputError(
            f"git remote {quote(text)} uses the unsupported protocol "
            f'"{scheme}"; use https://, http:// or git://',
            location,
        )

    url = text if scheme_match else f"https://{text}"
    parts = urlsplit(url)
    if not parts.hostname:
        raise UserInputError(f"git remote {quote(text)} has no host; {_FORM}", location)
    try:
        parts.port  # noqa: B018 (urlsplit checks the port only when read)
    except ValueError:
        raise UserInputError(
            f"git remote {quote(text)} has an invalid port; use a number "
            "from 1 to 65535",
            location,
        ) from None
    if "?" in url.split("#", 1)[0]:
        raise UserInputError(
            f"git remote {quote(text)} has a query (?...), which flense does "
            "not pass to git; write the ref and subdirectory as #REF:SUBDIR",
            location,
        )
    _check_fragment(text, parts.fragment, location)
    try:
        parse_git_url(text)
    except ValueError as error:
        raise UserInputError(f"{error}; {_FORM}", location) from None


def _check_fragment(text: str, fragment: str, location: Location) -> None:
    if "#" in fragment:
        raise UserInputError(
            f"git remote {quote(text)} has more than one #; write one "
            "#REF or #REF:SUBDIR",
            location,
        )
    ref, _, subdir = fragment.partition(":")
    if ref.startswith("-"):
        raise UserInputError(
            f"git ref {quote(ref)} in {quote(text)} starts with -; name a "
            "branch, tag or full commit SHA",
            location,
        )
    cleaned = posixpath.normpath(subdir) if subdir else ""
    if cleaned == ".." or cleaned.startswith("../"):
        raise UserInputError(
            f"git subdirectory {quote(subdir)} in {quote(text)} leaves the "
            "repository; name a directory inside it",
            location,
        )
