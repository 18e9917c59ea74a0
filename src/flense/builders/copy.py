"""The ``copy`` builder: a component's source directory, as it is."""

from __future__ import annotations

from collections.abc import Sequence

from flense import llb
from flense.builders.base import BuildSettings, ComponentOutput
from flense.manifest import Component
from flense.patterns import escape


def component_local(
    component: Component,
    settings: BuildSettings,
    *,
    step: str = "transfer",
    exclude: Sequence[str] | None = None,
) -> llb.State:
    """Return a local source that sends only this component's files.

    The include pattern limits the transfer to the component's directory and
    the excludes (the manifest's unless ``exclude`` is given, relative to
    the component), re-anchored inside it, are applied by the sender:
    excluded files never leave the client. A shared-key hint per component
    lets the daemon diff each component against its own previous transfer,
    so a rebuild sends only what changed.
    """
    patterns = list(settings.exclude if exclude is None else exclude)
    include: list[str] = []
    if component.source != ".":
        prefix = escape(component.source)
        include = [prefix]
        patterns = [_anchor(pattern, prefix) for pattern in patterns]
    return llb.local(
        settings.local_name,
        include=include,
        exclude=patterns,
        shared_key_hint=f"flense:{component.source}",
        unique=settings.local_unique,
        name=f"[{component.name}] {step}",
        description={"flense.component": component.name},
    )


def build_copy(component: Component, settings: BuildSettings) -> ComponentOutput:
    """Build a copy component: its filtered source directory or git checkout."""
    if component.git is not None:
        return ComponentOutput(
            state=git_checkout(component),
            path="/",
            exclude=settings.exclude,
        )
    path = "/" if component.source == "." else f"/{component.source}"
    if settings.single_context:
        return ComponentOutput(
            state=whole_context(settings), path=path, exclude=settings.exclude
        )
    return ComponentOutput(state=component_local(component, settings), path=path)


def git_checkout(component: Component) -> llb.State:
    """Return the engine's checkout of a git component, without ``.git``.

    The engine fetches the remote itself, so nothing is sent from the
    client. The excludes cannot apply while fetching, so the assembler
    applies them while copying.
    """
    assert component.git is not None
    return llb.git(
        component.git,
        name=f"[{component.name}] git",
        description={"flense.component": component.name},
    )


def whole_context(settings: BuildSettings) -> llb.State:
    """Return one unfiltered local source for the whole context."""
    return llb.local(
        settings.local_name,
        shared_key_hint="flense:context",
        unique=settings.local_unique,
        name="[context] transfer",
    )


def _anchor(pattern: str, prefix: str) -> str:
    """Re-anchor an ignore-file pattern from a component root to the context."""
    if pattern.startswith("!"):
        return "!" + _anchor(pattern[1:], prefix)
    return f"{prefix}/{pattern}"
