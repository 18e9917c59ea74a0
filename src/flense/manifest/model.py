"""The manifest as flense uses it after loading and validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flense.errors import Location


@dataclass(frozen=True)
class Component:
    """One component: a source directory and where its files go in the image.

    ``source`` is a normalized POSIX path relative to the build context, with
    symlinks resolved, and ``destination`` one relative to the manifest's
    root ("." for the root itself). ``config_path`` (relative to ``source``)
    and ``variant`` are set for blubber components only.
    """

    source: str
    destination: str
    builder: str
    config_path: str | None
    variant: str | None
    location: Location

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
