"""Run one timed command and collect its wall time, output and peak memory."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandResult:
    """Outcome of one command.

    ``max_rss_kib`` is the peak resident set size that the kernel reports for
    the process (``ru_maxrss`` from ``wait4``, in KiB). For a shell pipeline
    it covers the shell and the children it waited for, whichever was largest.
    """

    argv: tuple[str, ...]
    returncode: int
    seconds: float
    stdout: str
    stderr: str
    max_rss_kib: int

    def check(self) -> CommandResult:
        """Raise CommandError unless the command exited with status 0."""
        if self.returncode != 0:
            raise CommandError(self)
        return self


class CommandError(Exception):
    """A benchmark command exited with a non-zero status."""

    def __init__(self, result: CommandResult) -> None:
        last_lines = (result.stderr or result.stdout).strip().splitlines()[-2:]
        super().__init__(
            f"{shlex.join(result.argv)} exited with status {result.returncode}: "
            + " | ".join(last_lines)
        )
        self.result = result


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    stdout_path: Path | None = None,
) -> CommandResult:
    """Run ``argv`` to completion and time it from start to exit.

    Output goes to temporary files rather than pipes, so the harness does not
    read it while the clock runs. With ``stdout_path`` the standard output is
    written there instead and the result's ``stdout`` is empty.
    """
    logger.debug("running %s", shlex.join(argv))
    with tempfile.TemporaryFile() as err_file, tempfile.TemporaryFile() as out_file:
        target = open(stdout_path, "wb") if stdout_path else out_file  # noqa: SIM115
        try:
            started = time.monotonic()
            process = subprocess.Popen(
                list(argv), cwd=cwd, stdout=target, stderr=err_file
            )
            # wait4 reaps the process and returns its resource usage, which
            # Popen.wait would discard.
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.monotonic() - started
            process.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if stdout_path:
                target.close()
        out_file.seek(0)
        err_file.seek(0)
        return CommandResult(
            argv=tuple(argv),
            returncode=process.returncode,
            seconds=seconds,
            stdout=out_file.read().decode(errors="replace"),
            stderr=err_file.read().decode(errors="replace"),
            max_rss_kib=usage.ru_maxrss,
        )
