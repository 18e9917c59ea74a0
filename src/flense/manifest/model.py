"""The manifest as flense uses it after loading and validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flense.errors import Location


@dataclass(frozen=True)
class Component:
    """One component: a source directory and where its files go in the image.

    ``source`` is a normalized POSIX path relative to the build context, with
    symlinks resolved, and ``destination`` one relative to the manifest's
    root ("." for the root itself). ``config_path`` (relative to ``source``)
    and ``variant`` are set for blubber components only. A component from a
    git remote has ``git`` set to the remote as written, ``#ref[:subdir]``
    included, and ``source`` set to the same text for messages; the engine
    fetches it, so it has no directory in the context.
    """

    source: str
    destination: str
    builder: str
    config_path: str | None
    variant: str | None
    location: Location
    git: str | None = None
    # Where the variant is set (the component's line, or its defaults line).
    variant_location: Location | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        """Display name in progress output: the destination, or the source
        when the destination is the root."""
        return self.source if self.destination == "." else self.destination


@dataclass(frozen=True)
class Manifest:
    """A validated manifest.

    ``context`` is the absolute, resolved build context directory. ``root``
    is a normalized absolute POSIX path in the image. ``exclude`` contains
    ignore-file patterns, normalized, in the order written. ``components``
    keeps manifest order.
    """

    path: Path
    context: Path
    root: str
    exclude: tuple[str, ...]
    components: tuple[Component, ...]
