"""The builder interface and the table of builder kinds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flense import llb
from flense.manifest import Component


@dataclass(frozen=True)
class BuildSettings:
    """Settings shared by every builder: the context and the manifest's excludes."""

    context: Path
    exclude: tuple[str, ...]
    # Name of the local source the client serves the context under;
    # `buildctl build --local context=.` serves "context".
    local_name: str = "context"
    # Send the whole context as one local source and apply the excludes
    # while copying, as the 2020 prototype did. Slower: kept to measure it.
    single_context: bool = False
    # Engine whose image store contains base image configs (Blubber bases):
    # an address as `flense build --addr` takes it; None for the default.
    engine_address: str | None = None
    # Value of every local source's local.unique attr; see local_unique().
    local_unique: str | None = None


@dataclass(frozen=True)
class ComponentOutput:
    """The files a component contributes: directory ``path`` of ``state``.

    ``exclude`` lists patterns, relative to ``path``, for the assembler to
    drop while copying. It is empty when the sender already applied the
    excludes during the transfer.
    """

    state: llb.State
    path: str
    exclude: tuple[str, ...] = ()


Builder = Callable[[Component, BuildSettings], ComponentOutput]


def local_unique(context: Path, nonce: str = "") -> str:
    """Return the ``local.unique`` value for local sources of ``context``.

    BuildKit runs identical vertices of concurrent builds once, so without
    it two builds of different directories with byte-identical local ops
    would share one transfer, from whichever session started it. The value
    is derived from the context's absolute path, so ``flense compile``
    output stays the same for the same tree. ``flense build`` adds a nonce,
    so its builds never share a transfer with another build.
    """
    text = f"{context.resolve()}\n{nonce}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:25]


def builder_for(kind: str) -> Builder:
    """Return the build function for a builder kind named in a manifest."""
    # Imported here so that a manifest of copy components never loads the
    # Blubber compiler.
    if kind == "copy":
        from flense.builders.copy import build_copy

        return build_copy
    if kind == "blubber":
        from flense.builders.blubber import build_blubber

        return build_blubber
    raise ValueError(f"unknown builder {kind!r}")
