"""Checks, before the build, of the files a variant copies from its context.

A local copy source that is missing, excluded from the transfer or reached
through a symlink that leaves the context fails only after the build has
started, with BuildKit's ``failed to calculate checksum ... not found``.
These checks report it when the variant is compiled, at the line of the
config that names the path. Sources with a wildcard, and the exclusion
check when the patterns have "!" exceptions, are left to BuildKit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flense.blubber import paths
from flense.blubber.ignorefile import ExcludePattern
from flense.blubber.instructions import CopyLocal, Stage
from flense.blubber.localpath import ContextPathError, has_wildcard, resolve_in_context
from flense.blubber.quoting import go_quote
from flense.errors import Location, UserInputError
from flense.patterns import PatternMatcher

__all__ = ["check_local_sources"]


def check_local_sources(
    stages: Sequence[Stage],
    context: Path,
    excludes: Sequence[ExcludePattern],
    *,
    config: Path,
    standalone: bool,
) -> None:
    """Raise UserInputError for a local copy source that the build cannot read.

    ``context`` is the absolute directory the build context is sent from.
    ``excludes`` are the patterns the sender applies, relative to
    ``context``. ``config`` and ``standalone`` (true when the context comes
    from ``--context``, false for a manifest component) only shape the hint
    of an error. A source with a wildcard is not checked, because an empty
    match is allowed.
    """
    matcher = PatternMatcher([exclude.text for exclude in excludes])
    for stage in stages:
        for instruction in stage.instructions:
            if not isinstance(instruction, CopyLocal):
                continue
            locations = instruction.locations or (None,) * len(instruction.sources)
            for source, location in zip(instruction.sources, locations, strict=True):
                relative = paths.clean(source).lstrip("/") or "."
                if relative == "." or has_wildcard(relative):
                    continue
                _check_source(
                    relative, location, context, matcher, excludes, config, standalone
                )


def _check_source(
    relative: str,
    location: Location | None,
    context: Path,
    matcher: PatternMatcher,
    excludes: Sequence[ExcludePattern],
    config: Path,
    standalone: bool,
) -> None:
    subject = f"local source {go_quote(relative)}"
    try:
        resolved = resolve_in_context(context, relative)
    except ContextPathError as error:
        raise UserInputError(
            f"{subject} {error.reason}; BuildKit resolves links inside the "
            "context, so copy the files into the context or make the link "
            "relative and keep its target inside",
            location,
        ) from error
    if resolved is None:
        raise UserInputError(
            f"{subject} not found in the build context {context}; "
            + _missing_hint(relative, context, config, standalone),
            location,
        )

    # With "!" exceptions, an excluded directory may still send some files,
    # so only a list without exceptions proves that the source is left out.
    if matcher.exclusions:
        return
    resolved_relative = resolved.relative_to(context).as_posix()
    for path in dict.fromkeys((relative, resolved_relative)):
        if not matcher.matches(path):
            continue
        exclude = _deciding_pattern(matcher, excludes, path)
        raise UserInputError(
            f"{subject} is excluded from the build context by the pattern "
            f"{go_quote(exclude.text)} ({exclude.origin}), so BuildKit never "
            "receives it; "
            "remove the pattern or stop copying the path",
            location,
        )


def _deciding_pattern(
    matcher: PatternMatcher, excludes: Sequence[ExcludePattern], path: str
) -> ExcludePattern:
    """Return the last pattern that matches ``path`` or one of its parents."""
    compiled = matcher.patterns
    for index in range(len(compiled) - 1, -1, -1):
        if compiled[index].match_or_parent(path):
            return excludes[index]
    raise AssertionError(f"no pattern matches {path}")


def _missing_hint(relative: str, context: Path, config: Path, standalone: bool) -> str:
    if not standalone:
        return (
            "check the path: a blubber component reads local files from its own "
            "directory, which is its build context"
        )
    config_directory = config.resolve().parent
    for directory in (config_directory, config_directory.parent):
        if directory == context:
            continue
        try:
            found = resolve_in_context(directory, relative)
        except ContextPathError:
            found = None
        if found is not None:
            return f"is --context right? {directory} contains it"
    if config_directory != context:
        return f"is --context right? The config's own directory is {config_directory}"
    return "check the path, or add the file to the context"
