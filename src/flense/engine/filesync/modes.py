"""Conversion between Unix ``st_mode`` values and Go ``os.FileMode`` bits.

fsutil's ``Stat.mode`` carries Go's ``os.FileMode``: the low nine bits are
the permissions, and the file type and the setuid, setgid and sticky bits are
separate high bits. A Unix ``st_mode`` such as ``0o40755`` sent unchanged would
look like a regular file with stray permission bits to the daemon.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

# Bit values of Go's os.FileMode (Go's io/fs package, unchanged since Go 1.0
# except ModeIrregular, added in Go 1.11).
MODE_DIR = 1 << 31
MODE_APPEND = 1 << 30
MODE_EXCLUSIVE = 1 << 29
MODE_TEMPORARY = 1 << 28
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
MODE_NAMED_PIPE = 1 << 25
MODE_SOCKET = 1 << 24
MODE_SETUID = 1 << 23
MODE_SETGID = 1 << 22
MODE_CHAR_DEVICE = 1 << 21
MODE_STICKY = 1 << 20
MODE_IRREGULAR = 1 << 19

MODE_PERM = 0o777

# Go's os.ModeType: a mode with none of these bits is a regular file.
MODE_TYPE = (
    MODE_DIR
    | MODE_SYMLINK
    | MODE_NAMED_PIPE
    | MODE_SOCKET
    | MODE_DEVICE
    | MODE_CHAR_DEVICE
    | MODE_IRREGULAR
)


def go_file_mode(st_mode: int) -> int:
    """Convert a Unix ``st_mode`` to Go ``os.FileMode`` bits as fsutil sends them.

    Sockets become regular files: fsutil's sender clears the socket bit
    because Go's tar writer cannot represent sockets.
    """
    mode = st_mode & MODE_PERM
    if stat.S_ISDIR(st_mode):
        mode |= MODE_DIR
    elif stat.S_ISLNK(st_mode):
        mode |= MODE_SYMLINK
    elif stat.S_ISBLK(st_mode):
        mode |= MODE_DEVICE
    elif stat.S_ISCHR(st_mode):
        mode |= MODE_DEVICE | MODE_CHAR_DEVICE
    elif stat.S_ISFIFO(st_mode):
        mode |= MODE_NAMED_PIPE
    elif not stat.S_ISREG(st_mode) and not stat.S_ISSOCK(st_mode):
        mode |= MODE_IRREGULAR

    if st_mode & stat.S_ISUID:
        mode |= MODE_SETUID
    if st_mode & stat.S_ISGID:
        mode |= MODE_SETGID
    if st_mode & stat.S_ISVTX:
        mode |= MODE_STICKY
    return mode


@dataclass(frozen=True)
class UnixMode:
    """A Go file mode split into a Unix file type and ``chmod`` bits."""

    file_type: int  # one of stat.S_IFREG, S_IFDIR, S_IFLNK, S_IFIFO, ...
    permissions: int  # permission bits plus S_ISUID, S_ISGID and S_ISVTX

    @property
    def st_mode(self) -> int:
        return self.file_type | self.permissions


def unix_mode(go_mode: int) -> UnixMode:
    """Convert Go ``os.FileMode`` bits to a Unix file type and ``chmod`` bits.

    Raises ValueError for Go's "irregular" files, which have no Unix type.
    """
    permissions = go_mode & MODE_PERM
    if go_mode & MODE_SETUID:
        permissions |= stat.S_ISUID
    if go_mode & MODE_SETGID:
        permissions |= stat.S_ISGID
    if go_mode & MODE_STICKY:
        permissions |= stat.S_ISVTX

    if go_mode & MODE_DIR:
        file_type = stat.S_IFDIR
    elif go_mode & MODE_SYMLINK:
        file_type = stat.S_IFLNK
    elif go_mode & MODE_DEVICE:
        file_type = stat.S_IFCHR if go_mode & MODE_CHAR_DEVICE else stat.S_IFBLK
    elif go_mode & MODE_NAMED_PIPE:
        file_type = stat.S_IFIFO
    elif go_mode & MODE_SOCKET:
        file_type = stat.S_IFSOCK
    elif go_mode & MODE_IRREGULAR:
        raise ValueError(f"file mode {go_mode:#x} is an irregular file")
    else:
        file_type = stat.S_IFREG
    return UnixMode(file_type, permissions)


def is_regular(go_mode: int) -> bool:
    """Return whether a Go mode is a regular file, whose data can be requested."""
    return go_mode & MODE_TYPE == 0


def device_numbers(rdev: int) -> tuple[int, int]:
    """Split ``st_rdev`` into (major, minor) as fsutil's Linux sender does.

    fsutil uses the classic 8-bit/20-bit split, not glibc's 64-bit layout, so
    ``os.major``/``os.minor`` would give different numbers for large minors.
    """
    major = (rdev >> 8) & 0xFFF
    minor = (rdev & 0xFF) | ((rdev >> 12) & 0xFFF00)
    return major, minor


def device_id(major: int, minor: int) -> int:
    """Combine (major, minor) into an ``st_rdev`` value for ``os.mknod``."""
    return os.makedev(major, minor)
