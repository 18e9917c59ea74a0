"""The result part of the build summary line."""

from __future__ import annotations

from pathlib import Path

import pytest

from flense import llb
from flense.build import BuildRequest, _describe_result
from flense.engine.filesync.sender import TransferStats
from flense.engine.solve import SolveResult


def transfer(files: int, size: int) -> TransferStats:
    return TransferStats(
        dir_name="context", entries=files, files_sent=files, bytes_sent=size, seconds=0
    )


@pytest.mark.parametrize(
    ("transfers", "expected"),
    [
        ((), "sent 0 changed files (0B) in 0 transfers"),
        ((transfer(1, 20),), "sent 1 changed file (20B) in 1 transfer"),
        (
            (transfer(1, 20), transfer(2, 30)),
            "sent 3 changed files (50B) in 2 transfers",
        ),
    ],
)
def test_result_counts_transfers(transfers, expected):
    request = BuildRequest(definition=llb.Definition(None), context=Path("."))  # type: ignore[arg-type]
    result = SolveResult(exporter_response={}, transfers=transfers)

    described = _describe_result(result, request, [])

    assert described == f"{expected}; kept in the build cache only"
