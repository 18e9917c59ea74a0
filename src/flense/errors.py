"""The exception hierarchy: every error flense reports derives from FlenseError.

The CLI prints ``str(error)`` of a FlenseError without a traceback and exits
with ``error.exit_code``. A user error's first line names the file, line and
column, the offending value and the fix. A second line may quote the source
line with a caret under the offending column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class FlenseError(Exception):
    """Root of every error flense reports to its user."""

    exit_code = 1


@dataclass(frozen=True)
class Location:
    """A position in a user's file: 1-based line and column."""

    path: Path | str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class UserInputError(FlenseError):
    """Invalid input in a file the user wrote (manifest, Blubber config).

    ``message`` is the sentence after the location: it names the value and
    the fix. When the location is known, the first line of ``str()`` is
    ``<file>:<line>:<column>: <message>``, followed by the source line and a
    caret when the file can be read.
    """

    exit_code = 2

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        if self.location is None:
            return self.message
        first = f"{self.location}: {self.message}"
        excerpt = _source_excerpt(self.location)
        return first if excerpt is None else f"{first}\n{excerpt}"


class UsageError(FlenseError):
    """Invalid command-line usage."""

    exit_code = 2


class EngineError(FlenseError):
    """The build engine failed, or could not be reached."""

    exit_code = 1


def _source_excerpt(location: Location) -> str | None:
    try:
        lines = Path(location.path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if not 1 <= location.line <= len(lines):
        return None
    text = lines[location.line - 1]
    caret = " " * (max(location.column, 1) - 1) + "^"
    return f"    {text}\n    {caret}"
