"""The ignore file of a Blubber build context.

Blubber 1.8 runs as a BuildKit frontend, and BuildKit's ``dockerui`` client
(v0.20, which Blubber 1.8 builds with) sends the build context without the
files its ignore file names. That file is ``<config>.dockerignore`` next to
the config when it exists (``.pipeline/blubber.yaml.dockerignore``), else
``.dockerignore`` at the root of the context. Its lines are read as
``moby/patternmatcher``'s ``ignorefile.ReadAll`` reads them: a UTF-8
byte-order mark is dropped, a line that starts with ``#`` is a comment,
and every other line is trimmed and cleaned and loses a leading ``/``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from flense.blubber.localpath import ContextPathError, resolve_in_context
from flense.errors import Location, UserInputError
from flense.patterns import PatternMatcher, PatternSyntaxError, normalize

__all__ = ["IGNORE_FILE_NAME", "ExcludePattern", "find_ignore_file", "read_ignore_file"]

logger = logging.getLogger(__name__)

IGNORE_FILE_NAME = ".dockerignore"

_BYTE_ORDER_MARK = "\ufeff"


@dataclass(frozen=True)
class ExcludePattern:
    """One exclude pattern of a build context and where it is written.

    ``text`` is normalized as an ignore-file line (see
    ``flense.patterns.normalize``) and is relative to the context root.
    ``origin`` names the file and line, or the manifest key, for messages,
    and ``location`` is the line in a file when there is one.
    """

    text: str
    origin: str
    location: Location | None = None


def find_ignore_file(context: Path, config: Path) -> Path | None:
    """Return the ignore file that applies to ``config`` built in ``context``.

    ``context`` must be absolute. Raises UserInputError when the context's
    ``.dockerignore``, or a ``<config>.dockerignore`` inside the context, is
    a symlink that leads out of the context, because BuildKit would not read
    the file it points to.
    """
    beside_config = config.with_name(config.name + IGNORE_FILE_NAME)
    directory = beside_config.parent.resolve()
    if beside_config.is_symlink() and directory.is_relative_to(context.resolve()):
        # The same rule as for the context's own ignore file below.
        inside = directory.relative_to(context.resolve()) / beside_config.name
        _resolve_ignore_file(context, inside.as_posix())
    if beside_config.is_file():
        return beside_config
    resolved = _resolve_ignore_file(context, IGNORE_FILE_NAME)
    if resolved is None or not resolved.is_file():
        return None
    return context / IGNORE_FILE_NAME


def _resolve_ignore_file(context: Path, relative: str) -> Path | None:
    try:
        return resolve_in_context(context, relative)
    except ContextPathError as error:
        raise UserInputError(
            f"the ignore file {relative} {error.reason}, so BuildKit "
            "cannot read it; make it a regular file or a link inside the context"
        ) from error


def read_ignore_file(path: Path) -> tuple[ExcludePattern, ...]:
    """Read an ignore file's patterns, in order.

    Raises UserInputError at the line of an invalid pattern, and for a file
    that cannot be read or is not UTF-8.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise UserInputError(
            f"cannot read the ignore file {path}: {error.strerror or error}; "
            "check its permissions",
        ) from error
    except UnicodeDecodeError as error:
        raise UserInputError(
            f"the ignore file {path} is not valid UTF-8 (byte {error.start}); "
            "save it as UTF-8",
        ) from error

    patterns: list[ExcludePattern] = []
    for number, line in enumerate(text.split("\n"), start=1):
        # Go's bufio.ScanLines drops the "\r" of a "\r\n" line end.
        line = line.removesuffix("\r")
        if number == 1:
            line = line.removeprefix(_BYTE_ORDER_MARK)
        if line.startswith("#"):
            continue
        pattern = normalize(line)
        if not pattern:
            continue
        location = Location(path, number, 1)
        try:
            PatternMatcher([pattern])
        except PatternSyntaxError as error:
            raise UserInputError(
                f"{error.message}; BuildKit rejects the context's ignore file "
                "when it contains such a line",
                location,
            ) from error
        patterns.append(ExcludePattern(pattern, f"line {number} of {path}", location))
    logger.debug("read %d exclude patterns from %s", len(patterns), path)
    return tuple(patterns)
