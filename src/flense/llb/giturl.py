"""Git remote URLs, parsed the way BuildKit's ``gitutil.ParseURL`` does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from flense.llb import paths

_SUPPORTED_SCHEMES = ("http", "https", "ssh", "git")
_SCHEME = re.compile(r"[a-zA-Z0-9]+://")
_SCP_STYLE = re.compile(
    r"(?P<user>[a-zA-Z0-9-_]+)@(?P<host>[a-zA-Z0-9-.]+):(?P<path>.*?)"
    r"(?:\?(?P<query>.*?))?(?:#(?P<fragment>.*))?"
)


@dataclass(frozen=True)
class GitURL:
    """A parsed remote: ``remote`` is the URL git is given (no fragment)."""

    scheme: str
    host: str
    path: str
    remote: str
    fragment: str


def parse_git_url(url: str) -> GitURL:
    """Parse a git remote, adding ``https://`` to a URL without a scheme.

    SCP-style remotes (``git@host:org/repo.git``) are SSH. Raises ValueError
    for a scheme other than http, https, ssh and git.
    """
    parsed = _parse(url)
    if parsed is None:
        parsed = _parse("https://" + url)
    if parsed is None:
        raise ValueError(f"invalid git remote {url!r}: it cannot be parsed")
    return parsed


def _parse(url: str) -> GitURL | None:
    scheme_match = _SCHEME.match(url)
    if scheme_match is not None:
        scheme = scheme_match.group()[:-3].lower()
        if scheme not in _SUPPORTED_SCHEMES:
            raise ValueError(
                f"invalid git remote {url!r}: unsupported protocol {scheme!r};"
                " use https://, ssh://, git:// or user@host:path"
            )
        parts = urlsplit(url)
        remote = url.split("#", 1)[0].split("?", 1)[0]
        remote = scheme + remote[len(scheme) :]
        host = parts.netloc.rpartition("@")[2]
        return GitURL(scheme, host, unquote(parts.path), remote, parts.fragment)
    scp = _SCP_STYLE.fullmatch(url)
    if scp is not None:
        remote = f"{scp['user']}@{scp['host']}:{scp['path']}"
        return GitURL("ssh", scp["host"], scp["path"], remote, scp["fragment"] or "")
    return None


def git_identifier(parsed: GitURL, ref: str, subdir: str) -> str:
    """Return the ``git://`` source identifier without the scheme.

    Host plus cleaned path, so the https and ssh URLs of one repository give
    the same identifier, then ``#ref[:subdir]`` when either is set.
    """
    identifier = parsed.host + paths.join("/", parsed.path)
    if ref or subdir:
        identifier += "#" + ref
        if subdir:
            identifier += ":" + subdir
    return identifier


def clean_subdir(subdir: str) -> str:
    """Return ``subdir`` cleaned and relative: ``/a/../b/`` becomes ``b``."""
    return paths.join("/", subdir).lstrip("/")
