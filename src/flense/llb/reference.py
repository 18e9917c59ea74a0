"""Image references normalized with Docker's rules.

The daemon parses ``docker-image://`` identifiers without normalizing them,
so ``alpine`` must be sent as ``docker.io/library/alpine:latest``. The rules
and the grammar below are those of ``github.com/distribution/reference``
(``ParseNormalizedNamed`` followed by ``TagNameOnly``), which Go's LLB
client uses.
"""

from __future__ import annotations

import re

DEFAULT_DOMAIN = "docker.io"
_LEGACY_DEFAULT_DOMAIN = "index.docker.io"
_OFFICIAL_PREFIX = "library/"
_MAX_PATH_LENGTH = 255

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[(?:[a-fA-F0-9:]+)\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"

_REFERENCE = re.compile(
    rf"(?P<domain>{_DOMAIN})/(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
_IMAGE_ID = re.compile(r"[a-f0-9]{64}")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

_EXAMPLE = (
    "use a reference such as 'alpine:3.20' or"
    " 'registry.example.org/team/app@sha256:<digest>'"
)


def normalize_image_reference(ref: str) -> str:
    """Return ``ref`` fully qualified: domain, path, and a tag or digest.

    ``alpine`` becomes ``docker.io/library/alpine:latest``; a digest is kept
    and no tag is added next to it. Raises ValueError for a reference
    Docker would reject.
    """
    if not ref:
        raise ValueError(f"invalid image reference '': it is empty; {_EXAMPLE}")
    if _IMAGE_ID.fullmatch(ref):
        raise ValueError(
            f"invalid image reference {ref!r}: a 64-character hexadecimal image"
            f" ID is not a repository name; {_EXAMPLE}"
        )
    domain, remainder = _split_domain(ref)
    repository = remainder.split(":", 1)[0]
    if repository.lower() != repository:
        raise ValueError(
            f"invalid image reference {ref!r}: the repository name"
            f" {repository!r} must be lowercase"
        )
    match = _REFERENCE.fullmatch(f"{domain}/{remainder}")
    if match is None:
        raise ValueError(f"invalid image reference {ref!r}: {_EXAMPLE}")
    if len(match["path"]) > _MAX_PATH_LENGTH:
        raise ValueError(
            f"invalid image reference {ref!r}: the repository name is longer"
            f" than {_MAX_PATH_LENGTH} characters"
        )
    digest = match["digest"]
    if digest is not None:
        _check_digest(ref, digest)
    result = f"{match['domain']}/{match['path']}"
    if match["tag"] is not None:
        result += f":{match['tag']}"
    if digest is not None:
        result += f"@{digest}"
    elif match["tag"] is None:
        result += ":latest"
    return result


def _split_domain(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if not slash:
        return DEFAULT_DOMAIN, _OFFICIAL_PREFIX + name
    if first == _LEGACY_DEFAULT_DOMAIN:
        domain, remainder = DEFAULT_DOMAIN, rest
    elif first == "localhost" or "." in first or ":" in first or first.lower() != first:
        domain, remainder = first, rest
    else:
        domain, remainder = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = _OFFICIAL_PREFIX + remainder
    return domain, remainder


def _check_digest(ref: str, digest: str) -> None:
    algorithm, _, encoded = digest.partition(":")
    length = _DIGEST_LENGTHS.get(algorithm)
    if length is None:
        raise ValueError(
            f"invalid image reference {ref!r}: unsupported digest algorithm"
            f" {algorithm!r}; use sha256, sha384 or sha512"
        )
    if len(encoded) != length or not re.fullmatch(r"[a-f0-9]+", encoded):
        raise ValueError(
            f"invalid image reference {ref!r}: a {algorithm} digest is"
            f" {length} lowercase hexadecimal characters"
        )
