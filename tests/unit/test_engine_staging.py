"""Staged exports: nothing appears under the final name before commit."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from flense.engine.filesync import modes
from flense.engine.filesync.receiver import DirectoryWriter
from flense.engine.filesync.staging import (
    DirectoryTarget,
    FileTarget,
    StagingError,
)
from flense.engine.proto import fsutil_pb2
from flense.errors import EngineError

MTIME_NS = 1_600_000_000_123_456_789


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def write_file_export(target: FileTarget, data: bytes) -> None:
    with target.open() as output:
        output.write(data)
    target.mark_complete()


# --- FileTarget ---------------------------------------------------------------


def test_file_commit_renames(tmp_path: Path, umask_022: None) -> None:
    dest = tmp_path / "image.tar"
    target = FileTarget(str(dest))

    write_file_export(target, b"tar bytes")
    assert not dest.exists()
    staged = target.temporary_path
    assert staged is not None
    assert Path(staged).parent == tmp_path
    target.commit()
    target.discard()

    assert dest.read_bytes() == b"tar bytes"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert os.listdir(tmp_path) == ["image.tar"]


def test_file_commit_replaces_existing(tmp_path: Path) -> None:
    dest = tmp_path / "image.tar"
    dest.write_bytes(b"old")
    target = FileTarget(str(dest))

    write_file_export(target, b"new")
    assert dest.read_bytes() == b"old"
    target.commit()

    assert dest.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["image.tar"]


def test_file_discard_removes_partial(tmp_path: Path) -> None:
    dest = tmp_path / "image.tar"
    dest.write_bytes(b"old")
    target = FileTarget(str(dest))

    with pytest.raises(KeyboardInterrupt), target.open() as output:
        output.write(b"half")
        raise KeyboardInterrupt
    target.discard()

    assert dest.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["image.tar"]


def test_file_commit_incomplete_fails(tmp_path: Path) -> None:
    target = FileTarget(str(tmp_path / "image.tar"))
    with target.open() as output:
        output.write(b"half")

    with pytest.raises(EngineError, match="did not receive the whole export"):
        target.commit()
    target.discard()

    assert os.listdir(tmp_path) == []


def test_file_commit_failure_keeps_result(tmp_path: Path) -> None:
    dest = tmp_path / "image.tar"
    target = FileTarget(str(dest))
    write_file_export(target, b"tar bytes")
    dest.mkdir()  # the destination became a directory during the build

    with pytest.raises(EngineError) as raised:
        target.commit()
    target.discard()

    staged = [name for name in os.listdir(tmp_path) if name != "image.tar"]
    assert len(staged) == 1
    assert f"the build result is in {tmp_path / staged[0]}" in str(raised.value)
    assert (tmp_path / staged[0]).read_bytes() == b"tar bytes"


def test_file_open_after_discard_fails(tmp_path: Path) -> None:
    target = FileTarget(str(tmp_path / "image.tar"))
    target.discard()

    message = "already started or discarded"
    with pytest.raises(StagingError, match=message), target.open():
        pass
    assert os.listdir(tmp_path) == []


def test_file_stdout_streams(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    target = FileTarget("-")

    write_file_export(target, b"streamed")
    target.commit()
    target.discard()

    assert capfdbinary.readouterr().out == b"streamed"
    assert target.temporary_path is None


# --- DirectoryTarget ----------------------------------------------------------


def make_stat(path: str, mode: int) -> fsutil_pb2.Stat:
    return fsutil_pb2.Stat(path=path, mode=mode, modTime=MTIME_NS)


def write_directory_export(
    target: DirectoryTarget, files: dict[str, bytes], directories: dict[str, int]
) -> None:
    """Write directories (path: permissions) and files like the receiver does."""
    writer = DirectoryWriter(Path(target.open()))
    writer.open()
    file_id = 0
    for path, permissions in directories.items():
        writer.add(file_id, make_stat(path, modes.MODE_DIR | permissions))
        file_id += 1
    for path, data in files.items():
        writer.add(file_id, make_stat(path, 0o644))
        writer.write(file_id, data)
        writer.write(file_id, b"")
        file_id += 1
    writer.close()
    target.mark_complete(writer.finish)


def test_directory_commit_creates(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    target = DirectoryTarget(dest)

    write_directory_export(target, {"bin/tool": b"tool"}, {"bin": 0o555})
    assert not dest.exists()
    target.commit()
    target.discard()

    assert (dest / "bin/tool").read_bytes() == b"tool"
    assert stat.S_IMODE(os.lstat(dest / "bin").st_mode) == 0o555
    assert os.lstat(dest / "bin").st_mtime_ns == MTIME_NS
    assert os.listdir(tmp_path) == ["out"]


def test_directory_stages_inside_existing(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    target = DirectoryTarget(dest)

    staging = Path(target.open())
    target.discard()

    assert staging.parent == dest
    assert os.listdir(dest) == []


def test_directory_commit_merges(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    (dest / "keep").mkdir(parents=True)
    (dest / "keep/old.txt").write_bytes(b"old")
    (dest / "shared").mkdir()
    os.chmod(dest / "shared", 0o555)
    (dest / "was-dir").mkdir()
    (dest / "was-dir/inner.txt").write_bytes(b"inner")
    (dest / "was-file").write_bytes(b"file")
    (dest / "was-link").symlink_to(tmp_path)
    target = DirectoryTarget(dest)

    write_directory_export(
        target,
        {
            "shared/new.txt": b"new",
            "was-dir": b"now a file",
            "was-file/inside.txt": b"inside",
            "was-link/inside.txt": b"not through the link",
        },
        {"shared": 0o750, "was-file": 0o755, "was-link": 0o755},
    )
    assert not (dest / "shared/new.txt").exists()
    target.commit()
    target.discard()

    assert (dest / "keep/old.txt").read_bytes() == b"old"
    assert (dest / "shared/new.txt").read_bytes() == b"new"
    assert stat.S_IMODE(os.lstat(dest / "shared").st_mode) == 0o750
    assert (dest / "was-dir").read_bytes() == b"now a file"
    assert (dest / "was-file/inside.txt").read_bytes() == b"inside"
    assert not (dest / "was-link").is_symlink()
    assert not (tmp_path / "inside.txt").exists()
    assert sorted(os.listdir(dest)) == [
        "keep",
        "shared",
        "was-dir",
        "was-file",
        "was-link",
    ]


def test_directory_discard_removes_staging(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old.txt").write_bytes(b"old")
    target = DirectoryTarget(dest)

    write_directory_export(target, {"old.txt": b"new", "half.txt": b"ha"}, {})
    target.discard()

    assert os.listdir(dest) == ["old.txt"]
    assert (dest / "old.txt").read_bytes() == b"old"


def test_directory_commit_incomplete_fails(tmp_path: Path) -> None:
    target = DirectoryTarget(tmp_path / "out")
    target.open()

    with pytest.raises(EngineError, match="did not receive the whole export"):
        target.commit()
    target.discard()

    assert os.listdir(tmp_path) == []


def test_device_destination_is_written_in_place():
    target = FileTarget("/dev/null")

    with target.open() as output:
        output.write(b"tar bytes")
    target.mark_complete()
    target.commit()

    assert target.streams
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
