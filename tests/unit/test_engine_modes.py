"""Conversion between Unix st_mode values and Go os.FileMode bits."""

from __future__ import annotations

import stat

import pytest

from flense.engine.filesync import modes

# (Unix st_mode, Go os.FileMode); Go values as fsutil puts them on the wire.
GO_MODE_CASES = [
    pytest.param(stat.S_IFREG | 0o644, 0o644, id="regular-0644"),
    pytest.param(stat.S_IFREG | 0o755, 0o755, id="regular-0755"),
    pytest.param(stat.S_IFDIR | 0o755, 0x800001ED, id="directory-0755"),
    pytest.param(stat.S_IFLNK | 0o777, 0x080001FF, id="symlink"),
    pytest.param(stat.S_IFREG | stat.S_ISUID | 0o755, 0x008001ED, id="setuid"),
    pytest.param(stat.S_IFREG | stat.S_ISGID | 0o755, 0x004001ED, id="setgid"),
    pytest.param(stat.S_IFDIR | stat.S_ISVTX | 0o777, 0x801001FF, id="sticky-dir"),
    pytest.param(stat.S_IFIFO | 0o600, 0x02000180, id="fifo"),
    pytest.param(stat.S_IFBLK | 0o660, 0x040001B0, id="block-device"),
    pytest.param(stat.S_IFCHR | 0o666, 0x042001B6, id="char-device"),
]


@pytest.mark.parametrize(("st_mode", "go_mode"), GO_MODE_CASES)
def test_go_file_mode(st_mode: int, go_mode: int) -> None:
    assert modes.go_file_mode(st_mode) == go_mode


@pytest.mark.parametrize(("st_mode", "go_mode"), GO_MODE_CASES)
def test_unix_mode_round_trip(st_mode: int, go_mode: int) -> None:
    assert modes.unix_mode(go_mode).st_mode == st_mode


def test_go_file_mode_socket_is_regular() -> None:
    # fsutil clears the socket bit, so sockets travel as regular files.
    assert modes.go_file_mode(stat.S_IFSOCK | 0o755) == 0o755


def test_unix_mode_irregular_raises() -> None:
    with pytest.raises(ValueError, match="irregular"):
        modes.unix_mode(modes.MODE_IRREGULAR | 0o644)


@pytest.mark.parametrize(
    ("go_mode", "expected"),
    [
        (0o644, True),
        (modes.MODE_SETUID | 0o755, True),
        (modes.MODE_DIR | 0o755, False),
        (modes.MODE_SYMLINK | 0o777, False),
        (modes.MODE_NAMED_PIPE | 0o600, False),
        (modes.MODE_DEVICE | modes.MODE_CHAR_DEVICE | 0o666, False),
    ],
)
def test_is_regular(go_mode: int, expected: bool) -> None:
    assert modes.is_regular(go_mode) is expected


@pytest.mark.parametrize(
    ("rdev", "expected"),
    [
        (0x0103, (1, 3)),  # /dev/null
        (0x0501, (5, 1)),  # /dev/console
        # A minor above 255 lands in bits 20-31 (Linux's 32-bit dev_t).
        (0x00100800, (8, 256)),
    ],
)
def test_device_numbers(rdev: int, expected: tuple[int, int]) -> None:
    assert modes.device_numbers(rdev) == expected


@pytest.mark.parametrize(("major", "minor"), [(1, 3), (8, 256), (259, 70000)])
def test_device_id_round_trip(major: int, minor: int) -> None:
    assert modes.device_numbers(modes.device_id(major, minor)) == (major, minor)
