"""Value rules of Blubber v4 (Blubber 1.8.0 validators and JSON Schema).

Each ``check_*`` function returns None for a valid value, or the text that
follows the value in the error message: what is wrong and how to fix it.
The patterns are Blubber's own. They are anchored only where Blubber
anchors them, so the Debian release and component checks accept any text
that contains a match, as Blubber does.
"""

from __future__ import annotations

import re
import string
from urllib.parse import urlsplit

from flense.blubber import paths
from flense.blubber.quoting import go_quote

__all__ = [
    "check_absolute_path",
    "check_debian_component",
    "check_debian_package",
    "check_debian_release",
    "check_environment_name",
    "check_http_url",
    "check_image_reference",
    "check_node_env",
    "check_python_constraint",
    "check_user_name",
    "check_variant_name",
    "full_image_name",
    "is_image_reference",
    "is_scratch",
    "is_short_image_name",
    "is_variant_name",
]

_VARIANT_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9\-.]+[a-zA-Z0-9]")

# go-playground/validator v9.31 "hostname" (RFC 952), which Blubber uses
# for user names; it happens to equal the variant name pattern.
_HOSTNAME_RFC952 = re.compile(r"[a-zA-Z][a-zA-Z0-9\-.]+[a-zA-Z0-9]")
_ASCII_LETTERS = frozenset(string.ascii_letters)
_USER_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-.")

_ENVIRONMENT_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]+")

_DEBIAN_NAME = r"[a-z0-9][a-z0-9+.\-]+"
_DEBIAN_VERSION = r"(?:[0-9]+:)?[0-9]+[a-zA-Z0-9.+\-~]*"
_DEBIAN_RELEASE = r"[a-zA-Z](?:[a-zA-Z0-9\-]*[a-zA-Z0-9]+)?"
_DEBIAN_PACKAGE = re.compile(
    rf"{_DEBIAN_NAME}(?:={_DEBIAN_VERSION}|/{_DEBIAN_RELEASE})?"
)
_DEBIAN_RELEASE_SEARCH = re.compile(_DEBIAN_RELEASE)
_DEBIAN_COMPONENT_SEARCH = re.compile(r"[a-z0-9][a-z0-9+./\-]+")

_NODE_ENV = re.compile(r"[a-zA-Z0-9]+")

_PYTHON_VERSION_ONE = r"(?:<|<=|!=|==|>=|>|~=)[a-z-A-Z0-9\-_.*+!]+"
_PYTHON_CONSTRAINT = re.compile(rf"{_PYTHON_VERSION_ONE}(?:,{_PYTHON_VERSION_ONE})*")

# The docker/distribution v2.8 reference grammar that Blubber validates
# image references with. The name component is written with non-empty
# separators: Go's form allows an empty separator, which describes the same
# strings but makes a backtracking engine take exponential time.
_ALPHANUMERIC = r"[a-z0-9]+"
_NAME_COMPONENT = rf"{_ALPHANUMERIC}(?:(?:[._]|__|-+){_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_NAME = rf"(?:{_DOMAIN}/)?{_NAME_COMPONENT}(?:/{_NAME_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
_IMAGE_REFERENCE = re.compile(rf"{_NAME}(?::{_TAG})?(?:@{_DIGEST})?")


def is_variant_name(name: str) -> bool:
    """Report whether ``name`` is a valid variant name."""
    return _VARIANT_NAME.fullmatch(name) is not None


def is_image_reference(text: str) -> bool:
    """Report whether ``text`` matches the Docker image reference grammar."""
    return _IMAGE_REFERENCE.fullmatch(text) is not None


def is_scratch(reference: str) -> bool:
    """Report whether an image reference names Docker's reserved ``scratch``.

    A Dockerfile's ``FROM scratch`` means an empty filesystem, but no image
    of that name can be pulled, so Blubber 1.8 sends a pull that fails.
    """
    name = reference.removeprefix("docker.io/").removeprefix("library/")
    return name in ("scratch", "scratch:latest")


def is_short_image_name(reference: str) -> bool:
    """Report whether an image reference has no registry domain, tag or digest.

    The domain rule is that of distribution/reference's ``splitDockerDomain``:
    the part before the first ``/`` is a registry domain when it contains
    ``.``, ``:`` or an uppercase letter, or is ``localhost``.
    """
    if "@" in reference:
        return False
    first, slash, _ = reference.partition("/")
    if slash and (
        first == "localhost" or "." in first or ":" in first or first != first.lower()
    ):
        return False
    return ":" not in reference


def full_image_name(short_name: str) -> str:
    """Return the name Docker pulls for a short name: ``docker.io/library/x:latest``.

    ``short_name`` must be one for which ``is_short_image_name`` is true.
    """
    repository = short_name if "/" in short_name else "library/" + short_name
    return f"docker.io/{repository}:latest"


def check_variant_name(name: str) -> str | None:
    if is_variant_name(name):
        return None
    return (
        "is not a valid variant name: use at least 3 letters, digits, "
        '"-" and ".", starting with a letter and ending with a letter or digit'
    )


def check_user_name(name: str) -> str | None:
    """Check ``lives.as`` or ``runs.as``; the message names every problem."""
    if name == "root":
        return (
            'is not a valid user name: Blubber does not allow "root" here, so name '
            'a non-root user such as "somebody"'
        )
    if _HOSTNAME_RFC952.fullmatch(name):
        return None

    problems = []
    not_allowed = list(
        dict.fromkeys(
            character for character in name if character not in _USER_NAME_CHARACTERS
        )
    )
    if not_allowed:
        verb = "is" if len(not_allowed) == 1 else "are"
        problems.append(
            f"{_join_and([go_quote(character) for character in not_allowed])} "
            f'{verb} not allowed (use ASCII letters, digits, "-" and ".")'
        )
    if len(name) < 3:
        problems.append("it is too short (use at least 3 characters)")
    if name[:1] not in _ASCII_LETTERS:
        problems.append("it must start with an ASCII letter")
    if name[-1:] in ("-", "."):
        problems.append(f"it must not end with {go_quote(name[-1])}")
    assert problems, f"{name!r} fails the user name pattern for a reason not listed"
    return "is not a valid user name: " + _join_and(problems)


def _join_and(items: list[str]) -> str:
    """Join ``items`` as English: ``a``, ``a and b``, ``a, b, and c``."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]


def check_environment_name(name: str) -> str | None:
    if _ENVIRONMENT_NAME.fullmatch(name):
        return None
    return (
        "is not a valid environment variable name: use at least 2 letters, "
        'digits and "_", not starting with a digit'
    )


def check_absolute_path(value: str) -> str | None:
    if paths.is_abs(value) and paths.base(paths.clean(value)) != "/":
        return None
    return (
        "is not a valid absolute non-root path: write an absolute path other "
        "than /, such as /srv/app"
    )


def check_debian_package(value: str) -> str | None:
    if _DEBIAN_PACKAGE.fullmatch(value):
        return None
    return (
        "is not a valid Debian package name: write NAME, NAME=VERSION or "
        "NAME/RELEASE with a lowercase NAME of at least 2 characters"
    )


def check_debian_release(value: str) -> str | None:
    if _DEBIAN_RELEASE_SEARCH.search(value):
        return None
    return "is not a valid Debian release name: write a name such as bookworm"


def check_debian_component(value: str) -> str | None:
    if _DEBIAN_COMPONENT_SEARCH.search(value):
        return None
    return "is not a valid Debian component name: write a name such as main"


def check_node_env(value: str) -> str | None:
    if _NODE_ENV.fullmatch(value):
        return None
    return "is not a valid Node environment name: use ASCII letters and digits only"


def check_python_constraint(value: str) -> str | None:
    if _PYTHON_CONSTRAINT.fullmatch(value):
        return None
    return (
        "is not a valid Python package version specification: write one or "
        'more comma-separated constraints such as "==1.5.1" or ">=1.2,<2"'
    )


def check_image_reference(value: str) -> str | None:
    if is_image_reference(value):
        return None
    return (
        "is not a valid image reference: write a lowercase repository name "
        "with an optional registry, :tag and @digest, e.g. debian:bookworm"
    )


def check_http_url(value: str) -> str | None:
    """Check an APT source or proxy URL.

    Blubber requires the schema pattern ``^https?://`` and a URL that Go's
    ``url.Parse`` accepts. NOTE: ``urlsplit`` is laxer than ``url.Parse``,
    so only whitespace, control characters and a non-numeric port are
    rejected here beyond the scheme.
    """
    message = "is not a valid HTTP/HTTPS URL: write a URL that starts with http:// or https://"
    if not re.match(r"https?://", value):
        return message
    if any(character.isspace() or ord(character) < 0x20 for character in value):
        return message
    try:
        urlsplit(value).port  # noqa: B018 (the property raises on a bad port)
    except ValueError:
        return message
    return None
