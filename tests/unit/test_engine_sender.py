"""The file-sync sender's log labels and its errors for names that are not UTF-8."""

from __future__ import annotations

import os

import pytest

from flense.engine.filesync.sender import (
    describe_transfer,
    non_utf8_name_error,
    readable_name,
)
from flense.engine.filesync.walk import Entry


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        ([], "local directory 'context'"),
        (["extensions/Cite"], "local directory 'context' (include extensions/Cite)"),
        (["a", "b", "c"], "local directory 'context' (include a, b, c)"),
        (
            ["a", "b", "c", "d", "e"],
            "local directory 'context' (include a, b, c and 2 more)",
        ),
    ],
)
def test_describe_transfer(include: list[str], expected: str) -> None:
    assert describe_transfer("context", include) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"plain.txt", "plain.txt"),
        (b"caf\xc3\xa9.txt", "café.txt"),
        (b"c/bad\xffname.txt", "c/bad\\xffname.txt"),
        (b"\xc3(", "\\xc3("),
    ],
)
def test_readable_name(raw: bytes, expected: str) -> None:
    assert readable_name(os.fsdecode(raw)) == expected


def entry(path: bytes, link_target: bytes | None = None) -> Entry:
    target = None if link_target is None else os.fsdecode(link_target)
    return Entry(os.fsdecode(path), os.stat("."), target, hardlink=False)


def test_non_utf8_file_name_message() -> None:
    message = str(non_utf8_name_error(entry(b"c/bad\xffname[1].txt")))

    assert message.startswith(
        "the file name 'c/bad\\xffname[1].txt' is not valid UTF-8"
    )
    assert "b'" not in message
    assert "rename the file" in message
    assert "'**/bad?name\\[1\\].txt'" in message


def test_non_utf8_link_target_message() -> None:
    message = str(non_utf8_name_error(entry(b"c/link", b"target\xfe")))

    assert message.startswith("the symlink 'c/link' points to 'target\\xfe'")
    assert "change the link's target" in message
    assert "'**/link'" in message
