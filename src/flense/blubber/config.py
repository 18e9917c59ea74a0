"""The Blubber v4 configuration as typed, immutable values.

Field names follow the YAML keys (``-`` becomes ``_``; ``from`` and ``in``
get a trailing ``_``). The values keep Blubber's "unset" encodings because
variant merging depends on them:

* strings and integers: ``""`` and ``0`` mean unset, so a variant cannot
  clear an inherited string or set an id to 0;
* booleans are tri-state: ``None`` (not written), ``True`` or ``False``;
* lists that replace on merge (requirements, commands, mounts, caches,
  entrypoint) are ``None`` when not written, so an explicit ``[]`` clears.

Mappings are plain dicts; treat them as read-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flense.errors import Location

__all__ = [
    "LOCAL",
    "LOCAL_LIB_PREFIX",
    "Apt",
    "AptProxy",
    "AptSource",
    "Artifact",
    "Builder",
    "BuilderEntry",
    "Cache",
    "Config",
    "Lives",
    "Mount",
    "Node",
    "Php",
    "Poetry",
    "Python",
    "Runs",
    "Variant",
]

LOCAL = "local"
"""The ``from`` keyword that names the build context."""

LOCAL_LIB_PREFIX = "/opt/lib"
"""The shared library directory that variant shorthand copies bring along."""

DEFAULT_APT_RELEASE = "default"
"""The ``apt.packages`` key for packages installed without ``-t``."""


@dataclass(frozen=True)
class Artifact:
    """One ``copies`` or ``requirements`` entry, as written.

    ``from_`` is ``local``, a variant name or an image reference. An entry
    with neither ``source`` nor ``destination`` is shorthand and expands at
    compile time. ``location`` is where ``source`` is written, or where the
    entry starts when it has no source.
    """

    from_: str
    source: str = ""
    destination: str = ""
    exclude: tuple[str, ...] = ()
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class AptProxy:
    """An APT proxy for every source of its scheme, or for one source."""

    url: str
    source: str = ""


@dataclass(frozen=True)
class AptSource:
    """An extra APT source and the key that signs it."""

    url: str
    distribution: str
    components: tuple[str, ...] = ()
    signed_by: str = ""


@dataclass(frozen=True)
class Apt:
    """APT packages by target release (``default`` for no ``-t``)."""

    packages: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    proxies: tuple[AptProxy, ...] = ()
    sources: tuple[AptSource, ...] = ()


@dataclass(frozen=True)
class Node:
    """The ``node`` builder: npm install from requirements."""

    requirements: tuple[Artifact, ...] | None = None
    env: str = ""
    use_npm_ci: bool | None = None
    allow_dedupe_failure: bool | None = None


@dataclass(frozen=True)
class Php:
    """The ``php`` builder: composer install from requirements."""

    requirements: tuple[Artifact, ...] | None = None
    production: bool | None = None


@dataclass(frozen=True)
class Poetry:
    """The ``python.poetry`` settings; an empty version means pip is used."""

    version: str = ""
    devel: bool | None = None
    only: str = ""
    without: str = ""


@dataclass(frozen=True)
class Python:
    """The ``python`` builder: a venv plus pip or Poetry installs."""

    version: str = ""
    requirements: tuple[Artifact, ...] | None = None
    use_system_site_packages: bool | None = None
    no_deps: bool | None = None
    pip_version: str = ""
    setuptools_version: str = ""
    tox_version: str = ""
    wheel_version: str = ""
    venv: str = ""
    poetry: Poetry = field(default_factory=Poetry)


@dataclass(frozen=True)
class Mount:
    """A filesystem mounted during a builder command (changes are discarded)."""

    from_: str
    destination: str = ""
    source: str = ""


@dataclass(frozen=True)
class Cache:
    """A persistent cache mounted during a builder command."""

    destination: str
    id: str = ""
    access: str = ""


@dataclass(frozen=True)
class Builder:
    """The ``builder`` block and ``builders[].custom`` entries.

    ``command`` is the list form. The string form becomes a list of one
    element, which Blubber runs verbatim, as it does a one-element list.
    """

    command: tuple[str, ...] | None = None
    script: str = ""
    requirements: tuple[Artifact, ...] | None = None
    mounts: tuple[Mount, ...] | None = None
    caches: tuple[Cache, ...] | None = None


BuilderEntry = Builder | Node | Php | Python
"""One ``builders`` entry; a ``Builder`` is a ``custom`` entry."""


@dataclass(frozen=True)
class Lives:
    """The owner and location of the application files."""

    in_: str = ""
    as_: str = ""
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class Runs:
    """The runtime user, environment and working directory."""

    as_: str = ""
    uid: int = 0
    gid: int = 0
    environment: Mapping[str, str] = field(default_factory=dict)
    in_: str = ""
    insecurely: bool | None = None


@dataclass(frozen=True)
class Variant:
    """A variant, or the top-level block (which has no includes or copies).

    ``name`` is empty for the top-level block. ``base`` empty means scratch.
    """

    name: str = ""
    includes: tuple[str, ...] = ()
    copies: tuple[Artifact, ...] = ()
    base: str = ""
    arguments: Mapping[str, str] = field(default_factory=dict)
    apt: Apt = field(default_factory=Apt)
    builders: tuple[BuilderEntry, ...] = ()
    node: Node = field(default_factory=Node)
    php: Php = field(default_factory=Php)
    python: Python = field(default_factory=Python)
    builder: Builder = field(default_factory=Builder)
    lives: Lives = field(default_factory=Lives)
    runs: Runs = field(default_factory=Runs)
    entrypoint: tuple[str, ...] | None = None

    @property
    def is_scratch(self) -> bool:
        """Whether the variant starts from an empty filesystem (no ``base``)."""
        return self.base == ""


DEFAULT_LIVES = Lives(in_="/srv/app", as_="somebody", uid=65533, gid=65533)
DEFAULT_RUNS = Runs(as_="runuser", uid=900, gid=900)


@dataclass(frozen=True)
class Config:
    """A whole Blubber file.

    ``common`` is the top-level block with Blubber's built-in ``lives`` and
    ``runs`` defaults already applied under the values the file writes.
    ``locations`` maps dotted field paths (``variants.build.runs.as``,
    ``variants.build.copies[0]``) to where their values start in the file.
    A path that ends in ``#key`` gives the key's own location.
    """

    path: Path
    version: str
    common: Variant
    variants: Mapping[str, Variant]
    locations: Mapping[str, Location] = field(default_factory=dict, compare=False)

    def location_of(self, field_path: str) -> Location:
        """Return the location of ``field_path``, or of its nearest parent."""
        candidate = field_path
        while candidate:
            found = self.locations.get(candidate)
            if found is not None:
                return found
            candidate = _parent_path(candidate)
        return Location(self.path, 1, 1)


def _parent_path(field_path: str) -> str:
    cut = max(field_path.rfind("."), field_path.rfind("["))
    return field_path[:cut] if cut > 0 else ""
