"""The ``blubber`` builder: a component built from its Blubber config.

A manifest component with ``builder: blubber`` names a Blubber file
(``configPath``, relative to the component's directory) and a ``variant``.
The variant is compiled with ``flense.blubber`` and turned into LLB with
``flense.blubber.graph``. What lands at the component's destination is the
contents of the variant's ``lives.in`` directory in its final filesystem,
with the manifest's excludes applied.

The same compiler serves ``flense blubber CONFIG VARIANT --context DIR``
(``compile_variant``), the counterpart of ``blubber CONFIG VARIANT |
buildctl build --local context=DIR``.

Both forms give the variant's steps the same BuildKit cache keys, so a
variant built on its own is cached for the manifest build and the other way
round. BuildKit keys a file copy by the copy action, with ``src`` paths, and
by a checksum of the copied files' contents. The key of the source's own
vertex is not part of it. In the standalone form the context local has the
component's files at ``/``. In a manifest they sit under ``/<source>/`` of
the shared ``context`` local, so the component's files are first copied onto
scratch at ``/`` and that state is the Blubber context. Every step after it
then has the same definition in both forms.

Both forms apply the context's ignore file (see ``flense.blubber.ignorefile``)
as exclude patterns of the local source, as Blubber 1.8 does, so the
excluded files never leave the client and the context has the same files in
both forms. Local copy sources are checked before the build
(``flense.blubber.localsources``).
"""

from __future__ import annotations

import difflib
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flense import llb
from flense.blubber import load_config
from flense.blubber.baseimage import DockerImageResolver, ImageConfigResolver
from flense.blubber.compile import compile_expansion
from flense.blubber.config import Config
from flense.blubber.dockerfile import DockerfileValueError
from flense.blubber.dockerfile import render_dockerfile as render_stages
from flense.blubber.expand import expand
from flense.blubber.graph import VariantGraph, build_graph
from flense.blubber.ignorefile import ExcludePattern, find_ignore_file, read_ignore_file
from flense.blubber.instructions import Stage
from flense.blubber.localsources import check_local_sources
from flense.blubber.output import check_output_directory
from flense.builders.base import BuildSettings, ComponentOutput, local_unique
from flense.builders.copy import component_local
from flense.errors import Location, UserInputError
from flense.manifest import Component

__all__ = [
    "CompiledVariant",
    "build_blubber",
    "compile_stages",
    "compile_variant",
    "component_excludes",
    "context_excludes",
    "manifest_context",
    "render_dockerfile",
    "standalone_context",
    "standalone_graph",
]

logger = logging.getLogger(__name__)

CONTEXT_NAME = "context"

# The progress label of a standalone build's context vertices. Any stage may
# read the context, so they are not named after the target variant.
STANDALONE_LABEL = "context"


@dataclass(frozen=True)
class CompiledVariant:
    """A compiled variant: its stages and the target's ``lives.in`` directory."""

    stages: tuple[Stage, ...]
    lives_in: str


def compile_stages(
    config: Path, variant: str, *, check_output: bool = False
) -> CompiledVariant:
    """Load, expand and compile ``variant`` of the Blubber file ``config``.

    ``check_output`` also checks that the variant's ``lives.in`` directory,
    which a manifest takes as the component's files, will exist. Raises
    UserInputError for an invalid file or an unknown variant.
    """
    loaded = load_config(config)
    expansion = expand(loaded, variant)
    stages = compile_expansion(expansion)
    if check_output:
        check_output_directory(loaded, expansion, stages)
    return CompiledVariant(stages, expansion.stages[-1].lives.in_)


def context_excludes(context: Path, config: Path) -> tuple[ExcludePattern, ...]:
    """Return the patterns of the ignore file that applies to ``config``.

    ``context`` is the absolute directory the Blubber context is read from.
    Returns no patterns when there is no ignore file.
    """
    path = find_ignore_file(context, config)
    if path is None:
        return ()
    excludes = read_ignore_file(path)
    logger.info("context %s: %d exclude patterns from %s", context, len(excludes), path)
    return excludes


def standalone_context(
    unique: str | None = None, exclude: Sequence[str] = ()
) -> llb.State:
    """Return the build context of ``flense blubber``: the whole ``context`` local.

    ``exclude`` are the ignore file's patterns, which the client applies
    before sending. The files are copied onto an empty filesystem, as
    ``manifest_context`` does, so that steps reading the context's root
    (``copies: [local]``) see the same content checksum in both. A local
    source's own root would checksum differently. ``unique`` is the
    local's ``local.unique`` value (see ``flense.builders.local_unique``).
    """
    local = llb.local(
        CONTEXT_NAME,
        exclude=exclude,
        shared_key_hint=CONTEXT_NAME,
        unique=unique,
        name=f"[{STANDALONE_LABEL}] transfer",
    )
    return _rerooted(local, "/", STANDALONE_LABEL)


def manifest_context(
    component: Component,
    settings: BuildSettings,
    ignore_file: Sequence[ExcludePattern] = (),
) -> llb.State:
    """Return the component's files at ``/``, where a standalone build has them.

    The component's local source is limited to its directory. The sender
    applies the manifest's excludes and ``ignore_file``, the patterns of
    the component's ignore file (see ``context_excludes``), so no build step
    can read another component's files or an excluded file.
    """
    exclude = [item.text for item in component_excludes(settings, ignore_file)]
    local = component_local(component, settings, exclude=exclude)
    source = "/" if component.source == "." else f"/{component.source}"
    return _rerooted(
        local, source, component.name, {"flense.component": component.name}
    )


def component_excludes(
    settings: BuildSettings, ignore_file: Sequence[ExcludePattern]
) -> tuple[ExcludePattern, ...]:
    """Join the manifest's excludes and a component's ignore file into one list.

    The sender takes one list in which the last matching pattern decides,
    so a file stays out when either list excludes it only if the list that
    comes last has no ``!`` exception. Raises UserInputError when both
    lists have exceptions, because then no order keeps every excluded file
    on the client.
    """
    manifest = [
        ExcludePattern(pattern, "the manifest's exclude")
        for pattern in settings.exclude
    ]
    if not _has_exception(ignore_file):
        return (*manifest, *ignore_file)
    if not _has_exception(manifest):
        return (*ignore_file, *manifest)
    exception = next(item for item in ignore_file if item.text.startswith("!"))
    raise UserInputError(
        f'the exception "{exception.text}" in this ignore file cannot be joined '
        "with the exceptions in the manifest's exclude into the one exclude "
        "list that the sender applies, because either list's exceptions could "
        "send a file that the other list excludes; remove the patterns that "
        'start with "!" from this file or from the manifest',
        exception.location,
    )


def _has_exception(patterns: Sequence[ExcludePattern]) -> bool:
    return any(item.text.startswith("!") for item in patterns)


def _rerooted(
    local: llb.State,
    source: str,
    label: str,
    description: dict[str, str] | None = None,
) -> llb.State:
    return llb.scratch().file(
        llb.copy(local, source, "/", copy_dir_contents=True),
        name=f"[{label}] context",
        description=description,
    )


def build_blubber(
    component: Component,
    settings: BuildSettings,
    *,
    resolver: ImageConfigResolver | None = None,
    platform: llb.Platform | None = None,
) -> ComponentOutput:
    """Build a blubber component: the ``lives.in`` directory of its variant.

    ``resolver`` reads base image configs, by default from the Docker
    Engine. ``platform`` defaults to the machine's, as ``llb.marshal`` does.
    """
    config, variant = _config_and_variant(component, settings)
    _check_variant_defined(component, config, variant)
    compiled = compile_stages(config, variant, check_output=True)

    directory = (settings.context / component.source).resolve()
    ignore_file = context_excludes(directory, config)
    check_local_sources(
        compiled.stages,
        directory,
        component_excludes(settings, ignore_file),
        config=config,
        standalone=False,
    )
    graph = build_graph(
        compiled.stages,
        manifest_context(component, settings, ignore_file),
        resolver=resolver or _shared_resolver(settings.engine_address),
        platform=platform,
        label=component.name,
        description={"flense.component": component.name},
    )
    logger.info(
        "component %s: Blubber variant %s of %s, %d stages, files from %s",
        component.name,
        variant,
        config,
        len(compiled.stages),
        compiled.lives_in,
    )
    return ComponentOutput(
        state=graph.state, path=compiled.lives_in, exclude=settings.exclude
    )


@functools.cache
def _shared_resolver(address: str | None) -> DockerImageResolver:
    # One resolver per engine, so each base image is looked up once even
    # when many components build on it.
    return DockerImageResolver(address)


def compile_variant(
    config: Path,
    variant: str,
    context: Path,
    *,
    resolver: ImageConfigResolver | None = None,
    platform: llb.Platform | None = None,
    nonce: str = "",
) -> tuple[llb.Definition, dict[str, object]]:
    """Compile one variant alone: its LLB definition and OCI image config.

    The definition reads local files from the ``context`` local, which the
    caller serves from ``context`` (``buildctl build --local
    context=DIR``). ``resolver`` and ``platform`` are as for
    ``build_blubber``; ``nonce`` is as for ``flense.builders.local_unique``.
    """
    graph = standalone_graph(
        config,
        variant,
        context=context,
        resolver=resolver,
        platform=platform,
        unique=local_unique(context, nonce),
    )
    logger.info("compiled %s variant %s for context %s", config, variant, context)
    definition = llb.marshal(graph.state, platform=platform or llb.Platform())
    return definition, graph.image_config


def standalone_graph(
    config: Path,
    variant: str,
    *,
    context: Path | None = None,
    resolver: ImageConfigResolver | None = None,
    platform: llb.Platform | None = None,
    unique: str | None = None,
) -> VariantGraph:
    """Build the graph of one variant alone, on ``standalone_context``.

    ``context`` is the directory served as the ``context`` local. When it
    is given, its ignore file is applied and the local copy sources are
    checked against it; None skips both.
    """
    compiled = compile_stages(config, variant)
    excludes: tuple[ExcludePattern, ...] = ()
    if context is not None:
        context = context.resolve()
        excludes = context_excludes(context, config)
        check_local_sources(
            compiled.stages, context, excludes, config=config, standalone=True
        )
    return build_graph(
        compiled.stages,
        standalone_context(unique, [exclude.text for exclude in excludes]),
        resolver=resolver or DockerImageResolver(),
        platform=platform,
    )


def render_dockerfile(config: Path, variant: str, context: Path | None = None) -> str:
    """Return the Dockerfile equivalent of ``variant``, for review.

    With ``context``, the local copy sources are checked as
    ``standalone_graph`` checks them. Raises UserInputError for an
    environment value that a Dockerfile cannot hold.
    """
    compiled = compile_stages(config, variant)
    if context is not None:
        context = context.resolve()
        check_local_sources(
            compiled.stages,
            context,
            context_excludes(context, config),
            config=config,
            standalone=True,
        )
    try:
        return render_stages(compiled.stages)
    except DockerfileValueError as error:
        raise UserInputError(
            error.message, _variable_location(load_config(config), error)
        ) from error


def _variable_location(config: Config, error: DockerfileValueError) -> Location | None:
    """Find where the config writes the variable a DockerfileValueError names.

    The variable may come from the variant itself, from a variant it
    includes or from the top level, so the variant's own entry is preferred.
    """
    suffixes = (f"runs.environment.{error.name}", f"arguments.{error.name}")
    candidates = [path for path in config.locations if path.endswith(suffixes)]
    for path in candidates:
        if path.startswith(f"variants.{error.stage}."):
            return config.locations[path]
    for path in candidates:
        if path in suffixes:
            return config.locations[path]
    return config.locations[candidates[0]] if candidates else None


def _config_and_variant(
    component: Component, settings: BuildSettings
) -> tuple[Path, str]:
    if component.config_path is None or component.variant is None:
        raise UserInputError(
            f"component {component.name}: a blubber component needs configPath"
            " and variant, for example configPath: .pipeline/blubber.yaml and"
            " variant: production",
            component.location,
        )
    return settings.context / component.source / component.config_path, (
        component.variant
    )


def _check_variant_defined(component: Component, config: Path, variant: str) -> None:
    """Raise an error at the manifest's component when ``variant`` is not defined.

    The mistake is in the manifest, so the error points there rather than
    at the Blubber file.
    """
    defined = sorted(load_config(config).variants)
    if variant in defined:
        return
    close = difflib.get_close_matches(variant, defined, n=1)
    hint = (
        f'did you mean "{close[0]}"?'
        if close
        else "use one of " + ", ".join(f'"{name}"' for name in defined)
    )
    raise UserInputError(
        f'component {component.name}: variant "{variant}" is not defined in '
        f"{config}; {hint}",
        _variant_location(component),
    )


def _variant_location(component: Component) -> Location:
    return component.variant_location or component.location
