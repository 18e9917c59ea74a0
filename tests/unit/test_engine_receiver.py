"""The local-export writer: modes, links and rejected paths."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from flense.engine.filesync import modes
from flense.engine.filesync.receiver import DirectoryWriter, ReceiveError
from flense.engine.proto import fsutil_pb2

MTIME_NS = 1_600_000_000_123_456_789


def make_stat(path: str, mode: int, linkname: str = "") -> fsutil_pb2.Stat:
    return fsutil_pb2.Stat(path=path, mode=mode, modTime=MTIME_NS, linkname=linkname)


def test_writer_tree(tmp_path: Path) -> None:
    writer = DirectoryWriter(tmp_path / "out")
    writer.open()
    assert writer.add(0, make_stat("bin", modes.MODE_DIR | 0o555)) is False
    assert writer.add(1, make_stat("bin/tool", modes.MODE_SETUID | 0o755)) is True
    assert (
        writer.add(2, make_stat("bin/tool-link", 0o755, linkname="bin/tool")) is False
    )
    assert (
        writer.add(3, make_stat("bin/sh", modes.MODE_SYMLINK | 0o777, "tool")) is False
    )
    assert writer.add(4, make_stat("empty", modes.MODE_DIR | 0o700)) is False
    assert writer.add(5, make_stat("fifo", modes.MODE_NAMED_PIPE | 0o640)) is False
    writer.write(1, b"#!/bin/sh\n")
    writer.write(1, b"")
    assert writer.complete
    writer.finish()

    out = tmp_path / "out"
    tool = os.lstat(out / "bin/tool")
    assert stat.S_IMODE(tool.st_mode) == 0o4755
    assert tool.st_mtime_ns == MTIME_NS
    assert (out / "bin/tool").read_bytes() == b"#!/bin/sh\n"
    assert os.lstat(out / "bin/tool-link").st_ino == tool.st_ino
    assert os.readlink(out / "bin/sh") == "tool"
    assert os.lstat(out / "bin/sh").st_mtime_ns == MTIME_NS
    assert stat.S_IMODE(os.lstat(out / "bin").st_mode) == 0o555
    assert os.lstat(out / "bin").st_mtime_ns == MTIME_NS
    assert stat.S_ISDIR(os.lstat(out / "empty").st_mode)
    assert stat.S_ISFIFO(os.lstat(out / "fifo").st_mode)
    assert stat.S_IMODE(os.lstat(out / "fifo").st_mode) == 0o640


def test_writer_merges_into_existing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "keep").mkdir(parents=True)
    (out / "keep/old.txt").write_text("old")
    (out / "dir").symlink_to("/etc")
    writer = DirectoryWriter(out)
    writer.open()
    writer.add(0, make_stat("dir", modes.MODE_DIR | 0o755))
    writer.add(1, make_stat("dir/new.txt", 0o644))
    writer.write(1, b"new")
    writer.write(1, b"")
    writer.finish()

    assert (out / "keep/old.txt").read_text() == "old"
    assert not (out / "dir").is_symlink()
    assert (out / "dir/new.txt").read_text() == "new"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("../escape", 0o644, "")], "not a clean relative path"),
        ([("/etc/passwd", 0o644, "")], "not a clean relative path"),
        ([("a/./b", 0o644, "")], "not a clean relative path"),
        ([("a//b", 0o644, "")], "not a clean relative path"),
        ([("", 0o644, "")], "not a clean relative path"),
        ([("a/b", 0o644, "")], "arrived before its directory 'a'"),
        (
            [("a", modes.MODE_SYMLINK | 0o777, "/etc"), ("a/passwd", 0o644, "")],
            "arrived before its directory 'a'",
        ),
        (
            [("a", modes.MODE_DIR | 0o755, ""), ("a", modes.MODE_SYMLINK | 0o777, "/")],
            "sent twice",
        ),
        ([("link", 0o644, "missing")], "not an earlier regular file"),
        ([("link", 0o644, "../outside")], "not a clean relative path"),
    ],
)
def test_writer_rejects(
    tmp_path: Path, entries: list[tuple[str, int, str]], message: str
) -> None:
    writer = DirectoryWriter(tmp_path / "out")
    writer.open()
    with pytest.raises(ReceiveError, match=message):
        for file_id, (path, mode, linkname) in enumerate(entries):
            writer.add(file_id, make_stat(path, mode, linkname))
    assert list((tmp_path).iterdir()) == [tmp_path / "out"]


def test_writer_rejects_unrequested_data(tmp_path: Path) -> None:
    writer = DirectoryWriter(tmp_path / "out")
    writer.open()
    writer.add(0, make_stat("dir", modes.MODE_DIR | 0o755))
    with pytest.raises(ReceiveError, match="invalid file request 0"):
        writer.write(0, b"data")


def test_directory_export_survives_close_after_fin(tmp_path: Path) -> None:
    # The daemon may end the call as soon as it has the FIN, and grpcio then
    # closes the response generator at the yield that sent it: the export is
    # complete all the same and must be committed, not discarded.
    from flense.engine.filesync.receiver import _receive_directory
    from flense.engine.filesync.staging import DirectoryTarget

    packets = [
        fsutil_pb2.Packet(type=fsutil_pb2.PACKET_STAT, stat=make_stat("d", 0x800001ED)),
        fsutil_pb2.Packet(type=fsutil_pb2.PACKET_STAT),
    ]
    requests = iter([packet.SerializeToString() for packet in packets])
    target = DirectoryTarget(tmp_path / "out")

    responses = _receive_directory(requests, None, target, 0)
    fin = fsutil_pb2.Packet.FromString(next(responses))
    responses.close()
    target.commit()

    assert fin.type == fsutil_pb2.PACKET_FIN
    assert (tmp_path / "out" / "d").is_dir()
